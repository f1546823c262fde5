"""Submitting photos through the real endpoint, and running the photo job the way a worker would."""

import functools
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from evidence.jobs import process_photo
from evidence.models import Photo
from tests.evidence.photos import jpeg, make_exif, real_looking_photo
from tests.tasks.helpers import report

# Small photos keep the suite fast; size only matters in the benchmarks.
SIZE = (800, 600)
# Near 建西社区 (Zhengzhou, Zhongyuan district): 34.7470 N, 113.6250 E.
NEAR_UNIT = {"latitude": (34, 44, 49.2), "longitude": (113, 37, 30.0)}
# About 9 km west of it.
FAR_FROM_UNIT = {"latitude": (34, 44, 49.2), "longitude": (113, 31, 40.0)}


@functools.cache
def scene(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    return real_looking_photo(seed, size)


def exif_now(**overrides: Any) -> Image.Exif:
    """EXIF of a photo taken a minute ago near the unit (what a phone at the activity writes)."""
    from django.utils import timezone

    taken = timezone.localtime(timezone.now()).strftime("%Y:%m:%d %H:%M:%S")
    params: dict[str, Any] = {"taken_at": taken, **NEAR_UNIT}
    params.update(overrides)
    return make_exif(**params)


def photo(seed: int, *, exif: Image.Exif | None = None, name: str | None = None, quality: int = 90):
    """A JPEG upload of scene `seed`; `exif=None` writes none at all."""
    data = jpeg(scene(seed), quality=quality, exif=exif)
    return SimpleUploadedFile(name or f"IMG_{seed:04d}.jpg", data, content_type="image/jpeg")


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_report(
    api, assignment, photos: list, *, key: str | None = None, lang: str | None = None, **fields: Any
):
    """POST a multipart report with `photos` through the API client (`lang="en"` for English messages)."""
    body = {name: value for name, value in report(**fields).items() if value is not None}
    body["photos"] = photos
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    if lang:
        headers["HTTP_ACCEPT_LANGUAGE"] = lang
    for item in photos:
        item.seek(0)
    return api.post(f"/api/v1/assignments/{assignment.pk}/submissions/", body, format="multipart", **headers)


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """A hand-made multipart body, for file names the test client would clean up itself."""
    boundary = f"----chuanxi{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for field, filename, data, content_type in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def evidence_task(actor, issuer, targets, **fields: Any):
    """A published task whose window opened yesterday, so the default report (held 3 hours ago)
    lies inside it; asks for 1 to 2 photos unless told otherwise."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.tasks.helpers import published_task

    fields.setdefault("starts_at", timezone.now() - timedelta(days=1))
    fields.setdefault("evidence_requirements", {"min_photos": 1, "max_photos": 2})
    return published_task(actor, issuer, targets, **fields)


def process_pending() -> list[Photo]:
    """Run the photo job for every pending photo, oldest first, as the worker would."""
    pending = list(
        Photo.objects.filter(status=Photo.Status.PENDING).order_by("id").values_list("pk", flat=True)
    )
    for pk in pending:
        process_photo(pk)
    return list(Photo.objects.filter(pk__in=pending).order_by("id"))


def stored_files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
