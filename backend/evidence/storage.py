"""Where evidence files live in Django's storage.

Names never come from the client:

    evidence/originals/YYYY/MM/DD/<key>.<jpg|png|webp|heic>   the upload as received (GPS EXIF inside)
    evidence/derived/YYYY/MM/DD/<key>_320.jpg                 thumbnail, stripped
    evidence/derived/YYYY/MM/DD/<key>_1280.jpg                preview, stripped

`key` is a random UUID4 (hex) stored on the Photo row. The day folders keep directories small on a
filesystem and let the orphan sweep list only the last days instead of everything.
"""

import posixpath
import re
import uuid
from datetime import date

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from common import files

ROOT = "evidence"
ORIGINALS = f"{ROOT}/originals"
DERIVED = f"{ROOT}/derived"
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
THUMBNAIL_SUFFIX = "_320.jpg"
PREVIEW_SUFFIX = "_1280.jpg"
KEY_PATTERN = re.compile(r"^([0-9a-f]{32})(?:\.[a-z]{3,4}|_320\.jpg|_1280\.jpg)$")


def new_key() -> str:
    return uuid.uuid4().hex


def day_folder(day: date) -> str:
    return f"{day:%Y/%m/%d}"


def original_name(*, key: str, format: str, day: date) -> str:
    return f"{ORIGINALS}/{day_folder(day)}/{key}.{EXTENSIONS[format]}"


def derived_names_for(original: str, *, key: str) -> tuple[str, str]:
    """Thumbnail and preview names, in the derived twin of the original's day folder."""
    folder = posixpath.dirname(original)
    if folder.startswith(ORIGINALS):
        folder = DERIVED + folder[len(ORIGINALS) :]
    else:  # not laid out by original_name(); keep the copies beside nothing else
        folder = DERIVED
    return f"{folder}/{key}{THUMBNAIL_SUFFIX}", f"{folder}/{key}{PREVIEW_SUFFIX}"


def key_of(file_name: str) -> str | None:
    """The photo key a stored file belongs to, from its base name; None for anything else."""
    match = KEY_PATTERN.match(file_name)
    return match.group(1) if match else None


def save(name: str, content: File | bytes, *, replace: bool = False) -> str:
    """Save under `name` and remember it (common.files); `replace` first removes a file of that name (a re-run job)."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    if replace:
        default_storage.delete(name)  # a no-op when absent; FileSystemStorage would otherwise rename
    stored = default_storage.save(name, content)
    files.remember(stored)
    return stored
