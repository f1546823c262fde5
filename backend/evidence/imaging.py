"""Evidence photos: prove an upload is a photo and describe it, before anything is stored.

Nothing here trusts the file name or the declared content type. An upload counts as a photo only
when Pillow decodes it with one of the allowed formats; everything else is refused with an
`ImageRejected` whose message names the (sanitised) file and the rule it broke. The size, pixel and
per-format decoding limits are checked on the header, before any pixel is decoded, and the photo
job's `memory_ceiling` is here because a decoder is what it guards against. What the photo says
about when and where it was taken is read by evidence.exif; the copies shown around the system and
their hash are made by evidence.derivatives.
"""

import contextlib
import enum
import hashlib
import os
import re
import resource
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, NamedTuple

from django.utils.translation import gettext as _
from PIL import Image
from pillow_heif import register_heif_opener

from common.exceptions import ValidationFailed
from evidence.exif import _gps_position, _taken_at
from evidence.metadata import ExifFields, read_exif, take_from_info, without_metadata, xmp_orientation

# Idempotent; makes Pillow open HEIF/HEIC (iPhones' default format) through libheif.
register_heif_opener()
# What Pillow would otherwise load on first use (its format plugins) is loaded now: loading a shared
# library inside the photo job's memory ceiling could fail for want of address space, and the first
# job would pay for it. (scipy's FFT, which only the job's pHash needs: evidence.derivatives.load_hashing.)
Image.init()

# Pillow format ids we decode. MPO is what Pillow calls a JPEG carrying extra frames (many phones
# embed a depth map or a second exposure); it is opened by the JPEG plugin and decodes as a JPEG.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# 50 MP admits the 48/50 MP modes of current phones; 108/200 MP modes are refused with a clear message.
DEFAULT_MAX_PIXELS = 50_000_000

DISPLAY_NAME_MAX_CHARS = 100

_HASH_CHUNK = 1024 * 1024

# What a decoder may raise on a hostile file besides OSError: Pillow's parsers index, unpack and
# divide whatever the file says. All of them mean "not a photo we can read", never a server error.
_DECODER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
)


class RejectionCode(enum.StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    TOO_DEMANDING = "too_demanding"


class ImageRejected(ValidationFailed):
    """The upload is not a photo we accept. `code` is for machines, `message` for the person."""

    def __init__(self, code: RejectionCode | str, message: str):
        super().__init__(message)
        self.code = RejectionCode(code)
        if self.code == RejectionCode.TOO_LARGE:
            self.status_code = 413


@dataclass(frozen=True)
class PhotoInfo:
    name: str  # sanitised display name, never a storage path
    size: int  # bytes
    sha256: str  # hex digest of the uploaded bytes
    format: str  # JPEG, PNG, WEBP or HEIF (Pillow's names; a multi-picture JPEG counts as JPEG)
    mime_type: str
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    taken_at: datetime | None  # EXIF DateTimeOriginal, aware; None when absent or not a plausible date
    latitude: float | None
    longitude: float | None
    has_exif: bool


# --- names -------------------------------------------------------------------------------------

# Cc: control characters (NUL, newlines, ESC). Cf: format characters, including the bidi overrides
# that make "photo\u202egpj.exe" display as "photoexe.jpg". Cs: lone surrogates that break JSON.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def safe_display_name(name: str | None) -> str:
    """The client's file name reduced to something safe to show: basename, no control characters, short."""
    base = re.split(r"[\\/]", name or "")[-1]
    visible = "".join(ch for ch in base if unicodedata.category(ch) not in _HIDDEN_CATEGORIES)
    visible = " ".join(visible.split())
    if visible in {"", ".", ".."}:
        return _("unnamed photo")
    if len(visible) <= DISPLAY_NAME_MAX_CHARS:
        return visible
    stem, extension = os.path.splitext(visible)
    if 1 < len(extension) <= 10:
        return stem[: DISPLAY_NAME_MAX_CHARS - len(extension) - 1] + "…" + extension
    return visible[: DISPLAY_NAME_MAX_CHARS - 1] + "…"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


# --- inspection --------------------------------------------------------------------------------


class Measurement(NamedTuple):
    sha256: str  # hex digest of the uploaded bytes
    size: int  # bytes


def measure_upload(fileobj: IO[bytes], *, name: str, max_bytes: int) -> Measurement:
    """Size and SHA-256 of the upload, read in chunks; `ImageRejected` when it is empty or too large.

    Nothing is decoded: this is the cheap look a request takes at every file before it decides
    which ones are worth decoding (the same bytes twice need not be decoded twice).
    """
    return _hash_and_measure(fileobj, display=safe_display_name(name), max_bytes=max_bytes)


def inspect_upload(
    fileobj: IO[bytes],
    *,
    name: str,
    max_bytes: int,
    max_pixels: int,
    measured: Measurement | None = None,
) -> PhotoInfo:
    """Decode the upload with the allowed formats and describe it; raise `ImageRejected` otherwise.

    The pixel limit is checked on the header, before any pixel is decoded, so a decompression bomb
    costs a few kilobytes of reading. JPEGs are decoded at 1/8 scale: every byte of entropy-coded data
    still goes through libjpeg (so truncation and corruption are caught) at a fraction of the memory.
    `measured` is what `measure_upload` returned for this file, so it is not read twice.
    """
    display = safe_display_name(name)
    sha256, size = measured or _hash_and_measure(fileobj, display=display, max_bytes=max_bytes)

    opened = _open_checked(fileobj, display=display, max_pixels=max_pixels)
    im = opened.image
    with im:
        stored_width, stored_height = im.size
        if im.format in _JPEG_FORMATS:
            im.draft(None, (1, 1))
        _decode(im, fileobj, display=display)

    width, height = stored_width, stored_height
    if opened.orientation in {5, 6, 7, 8}:  # the transposing orientations
        width, height = height, width
    latitude, longitude = _gps_position(opened.exif)
    fileobj.seek(0)  # ready to be stored
    image_format = im.format
    assert image_format is not None  # opened from a file by one of ALLOWED_FORMATS' plugins
    return PhotoInfo(
        name=display,
        size=size,
        sha256=sha256,
        format="JPEG" if image_format in _JPEG_FORMATS else image_format,
        mime_type=MIME_TYPES[image_format],
        width=width,
        height=height,
        taken_at=_taken_at(opened.exif),
        latitude=latitude,
        longitude=longitude,
        has_exif=opened.exif.present,
    )


def _hash_and_measure(fileobj: IO[bytes], *, display: str, max_bytes: int) -> Measurement:
    declared = getattr(fileobj, "size", None)  # Django's UploadedFile knows it without reading
    if isinstance(declared, int) and declared > max_bytes:
        raise _too_large(display, max_bytes)
    fileobj.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := fileobj.read(_HASH_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(display, max_bytes)
        digest.update(chunk)
    if size == 0:
        raise ImageRejected(RejectionCode.EMPTY, _("%(name)s: the file is empty.") % {"name": display})
    return Measurement(digest.hexdigest(), size)


def _too_large(display: str, max_bytes: int) -> ImageRejected:
    return ImageRejected(
        RejectionCode.TOO_LARGE,
        _("%(name)s: the file is larger than %(limit)s MB.")
        % {"name": display, "limit": _megabytes(max_bytes)},
    )


class _Opened(NamedTuple):
    image: Image.Image  # header read, pixels not yet decoded, no metadata left in `info`
    exif: ExifFields
    orientation: int | None  # EXIF, else XMP (as Pillow's exif_transpose would find it)
    icc: bytes | None  # the colour profile, when within metadata.ICC_MAX_BYTES


def _open_checked(fileobj: IO[bytes], *, display: str, max_pixels: int) -> _Opened:
    """Open (header only) with the allow-list and refuse too many pixels before anything is decoded.

    Pillow's own guard (Image.MAX_IMAGE_PIXELS, process-wide) stays as it is: it fires at twice its
    value inside Image.open and is mapped to the same rejection; `max_pixels` is the real limit.
    Pillow never sees JPEG and PNG metadata and never parses the metadata of the other formats
    (evidence.metadata): what we use of it is read with bounds of our own.
    """
    fileobj.seek(0)
    try:
        view, metadata = without_metadata(fileobj)
        im = Image.open(view, formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        raise ImageRejected(
            RejectionCode.TOO_MANY_PIXELS,
            _("%(name)s: the image has more than %(limit)s megapixels.")
            % {"name": display, "limit": _megapixels(max_pixels)},
        ) from None
    except MemoryError:
        raise _too_demanding(display) from None
    except _DECODER_ERRORS:
        raise _not_allowed(fileobj, display) from None
    from_decoder = take_from_info(im.info)  # WebP, HEIF; nothing is left for Pillow to parse later
    if view is fileobj:
        metadata = from_decoder
    exif = read_exif(metadata.exif)
    orientation = exif.orientation if exif.orientation is not None else xmp_orientation(metadata.xmp)
    width, height = im.size
    if width * height > max_pixels:
        im.close()
        raise ImageRejected(
            RejectionCode.TOO_MANY_PIXELS,
            _("%(name)s: the image is %(width)s × %(height)s pixels, more than %(limit)s megapixels.")
            % {"name": display, "width": width, "height": height, "limit": _megapixels(max_pixels)},
        )
    format_limit = DECODE_BUDGET_BYTES // _DECODE_BYTES_PER_PIXEL.get(im.format or "", 1)
    if width * height > format_limit:
        im.close()
        raise ImageRejected(
            RejectionCode.TOO_MANY_PIXELS,
            _(
                "%(name)s: a %(format)s photo may have at most %(limit)s megapixels (this one is "
                "%(width)s × %(height)s); send it as a JPEG."
            )
            % {
                "name": display,
                "format": im.format,
                "limit": _megapixels(format_limit),
                "width": width,
                "height": height,
            },
        )
    return _Opened(im, exif, orientation, metadata.icc)


# Decoding memory per pixel where it cannot be reduced (measured with a margin, docs/benchmarks.md):
# libwebp's decoder keeps two RGBA canvases and Pillow copies the frame twice (about 17 bytes);
# libheif decodes to its own RGB buffer next to the YCbCr planes before Pillow copies it (about 9). JPEG is decoded at reduced scale and PNG
# needs only its own pixels (alpha images are reduced strip by strip), so the pixel limit suffices.
DECODE_BUDGET_BYTES = 300 * 1024 * 1024
_DECODE_BYTES_PER_PIXEL = {"WEBP": 18, "HEIF": 10}


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.3g}"


# Formats people send that we recognise but do not accept: named in the message so they can convert.
_UNSUPPORTED_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF-", "PDF"),
)


def _not_allowed(fileobj: IO[bytes], display: str) -> ImageRejected:
    if _container_cut_off(fileobj):
        return _truncated(display)
    fileobj.seek(0)
    head = fileobj.read(1024)
    found = next((label for signature, label in _UNSUPPORTED_SIGNATURES if head.startswith(signature)), None)
    if found is None and head[4:12] in {b"ftypavif", b"ftypavis"}:
        found = "AVIF"
    if found is None and head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        found = "BMP"
    if found is None:
        text = head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n").lower()
        if text.startswith(("<svg", "<?xml", "<!doctype svg")) and "<svg" in text:
            found = "SVG"
    if found is not None:
        return ImageRejected(
            RejectionCode.UNSUPPORTED_FORMAT,
            _("%(name)s: %(format)s files are not accepted; send a JPEG, PNG, WebP or HEIC photo.")
            % {"name": display, "format": found},
        )
    return ImageRejected(
        RejectionCode.NOT_AN_IMAGE,
        _("%(name)s: the file is not a photo; send a JPEG, PNG, WebP or HEIC photo.") % {"name": display},
    )


def _container_cut_off(fileobj: IO[bytes]) -> bool:
    """A WebP or HEIF whose own length fields run past the end of the file: an interrupted upload.

    Their openers fail on a short file before any pixel is read, which would otherwise read as
    "not a photo". JPEG and PNG headers come first and are caught by the decoder instead.
    """
    fileobj.seek(0, os.SEEK_END)
    total = fileobj.tell()
    fileobj.seek(0)
    head = fileobj.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return int.from_bytes(head[4:8], "little") + 8 > total
    if head[4:8] != b"ftyp" or head[8:12] in {b"avif", b"avis"}:
        return False
    offset = 0
    while offset + 8 <= total:  # ISO-BMFF top-level boxes: 32-bit size, type, optional 64-bit size
        fileobj.seek(offset)
        box = fileobj.read(16)
        box_size = int.from_bytes(box[:4], "big")
        if box_size == 1 and len(box) == 16:
            box_size = int.from_bytes(box[8:16], "big")
        if box_size == 0:  # runs to the end of the file
            return False
        if box_size < 8:
            return False  # malformed rather than short
        offset += box_size
    return offset > total


def _truncated(display: str) -> ImageRejected:
    return ImageRejected(
        RejectionCode.TRUNCATED,
        _("%(name)s: the file is incomplete (the upload was probably cut off); send it again.")
        % {"name": display},
    )


def _decode(im: Image.Image, fileobj: IO[bytes], *, display: str) -> None:
    """Decode every pixel; Pillow refuses a short file because LOAD_TRUNCATED_IMAGES is off."""
    try:
        im.load()
    except MemoryError:
        raise _too_demanding(display) from None
    except _DECODER_ERRORS as exc:
        if isinstance(exc, EOFError) or "truncated" in str(exc) or _container_cut_off(fileobj):
            raise _truncated(display) from None
        raise _corrupt(display) from None


def _too_demanding(display: str) -> ImageRejected:
    return ImageRejected(
        RejectionCode.TOO_DEMANDING,
        _("%(name)s: processing this photo needs more memory than allowed; send it as an ordinary JPEG.")
        % {"name": display},
    )


def _corrupt(display: str) -> ImageRejected:
    return ImageRejected(
        RejectionCode.CORRUPT,
        _("%(name)s: the image data is damaged and cannot be decoded.") % {"name": display},
    )


@contextlib.contextmanager
def memory_ceiling(extra_bytes: int) -> Iterator[None]:
    """Cap this process's address space at what it uses now plus `extra_bytes`, while inside.

    For a process doing one thing at a time (a Celery prefork child running the photo job): image
    work that would need more fails with MemoryError, which the image functions turn into a
    rejection, instead of taking the machine's memory. The previous limit is restored on the way out.
    Nothing happens for `extra_bytes <= 0` or where /proc or RLIMIT_AS are missing (not Linux).
    """
    previous = _lower_address_space(extra_bytes) if extra_bytes > 0 else None
    try:
        yield
    finally:
        if previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous)


def _lower_address_space(extra_bytes: int) -> tuple[int, int] | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        return None
    ceiling = used + extra_bytes
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    if soft != resource.RLIM_INFINITY and soft <= ceiling:
        return None  # already tighter
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    return soft, hard
