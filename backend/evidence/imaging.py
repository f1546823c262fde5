"""Evidence photos: prove an upload is a photo, read what it says about itself, make safe copies.

Nothing here trusts the file name or the declared content type. An upload counts as a photo only
when Pillow decodes it with one of the allowed formats; everything else is refused with an
`ImageRejected` whose message names the (sanitised) file and the rule it broke.

Derivatives are re-encoded JPEGs without EXIF, GPS, XMP, comments or ICC profiles: the original keeps
the location for the reviewer, the copies shown around the system do not leak it.

Near-duplicate detection uses a 64-bit pHash. `NEAR_DUPLICATE_THRESHOLD` and `HASH_BANDS` follow the
pigeonhole rule (bands = threshold + 1): split two hashes within the threshold into that many bands
and at least one band is equal, so an indexed equality lookup per band finds every candidate.
tests/evidence/test_near_duplicates.py holds the measurements the threshold rests on.
"""

import contextlib
import enum
import hashlib
import importlib
import io
import math
import os
import re
import resource
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

import imagehash
import numpy as np
from django.utils.translation import gettext as _
from PIL import Image, ImageCms
from pillow_heif import register_heif_opener

from common.exceptions import ValidationFailed
from evidence.metadata import ExifFields, read_exif, take_from_info, without_metadata, xmp_orientation

# Idempotent; makes Pillow open HEIF/HEIC (iPhones' default format) through libheif.
register_heif_opener()
# What Pillow and imagehash would otherwise load on first use (format plugins, scipy's FFT) is loaded
# now: loading a shared library inside the photo job's memory ceiling could fail for want of address
# space, and the first job would pay for it.
Image.init()
scipy_fftpack = importlib.import_module("scipy.fftpack")

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

THUMBNAIL_MAX_SIDE = 320
PREVIEW_MAX_SIDE = 1280
JPEG_QUALITY = 82

# Pigeonhole: bands = threshold + 1, each band 64 / bands bits wide (8 bits here, fits smallint).
# Why 7 and not 3: brightening a photo by 10% moved its hash by up to 4 bits, which 3 would miss;
# unrelated scenes were never closer than 18 (measurements in tests/evidence/test_near_duplicates.py).
# Not a setting: stored band columns are derived from it, so changing it means re-banding every row.
NEAR_DUPLICATE_THRESHOLD = 7
HASH_BANDS = NEAR_DUPLICATE_THRESHOLD + 1

# EXIF times carry no zone. Phones write local wall-clock time and this deployment serves Chinese
# districts, so a time without OffsetTimeOriginal is Beijing time.
EXIF_DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")

DISPLAY_NAME_MAX_CHARS = 100

_HASH_CHUNK = 1024 * 1024
_HASH_MASK = (1 << 64) - 1
_EARTH_RADIUS_KM = 6371.0088

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


@dataclass(frozen=True)
class Derivatives:
    thumbnail: bytes  # JPEG, longest side <= THUMBNAIL_MAX_SIDE
    thumbnail_size: tuple[int, int]
    preview: bytes  # JPEG, longest side <= PREVIEW_MAX_SIDE
    preview_size: tuple[int, int]
    phash: int  # signed 64-bit, fits PostgreSQL bigint


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


# --- metadata ----------------------------------------------------------------------------------
# EXIF is whatever the sender's software wrote (read with bounds by evidence.metadata). Anything
# unreadable counts as absent, never as an error.


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


_EXIF_DATETIME = re.compile(r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
# Years (in UTC) an EXIF time may fall in. Outside them it is a reset or forged clock, not a date:
# "9999:12:31 23:59:59" at -12:00 is in year 10000 in UTC, which PostgreSQL stores but its driver
# cannot read back (every later read of the report would fail). Digital cameras date from the 1990s.
TAKEN_AT_YEARS = range(1990, 2101)


def _taken_at(exif: ExifFields) -> datetime | None:
    taken_at = _exif_taken_at(exif)
    if taken_at is None:
        return None
    try:
        year = taken_at.astimezone(UTC).year
    except OverflowError:  # before year 1 or after 9999 in UTC
        return None
    return taken_at if year in TAKEN_AT_YEARS else None


def _exif_taken_at(exif: ExifFields) -> datetime | None:
    raw = _exif_text(exif.taken_at)
    match = _EXIF_DATETIME.match(raw or "")
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        naive = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - zone set below
    except ValueError:  # "0000:00:00 00:00:00" and friends
        return None
    offset = _EXIF_OFFSET.match(_exif_text(exif.offset) or "")
    if offset is None:
        return naive.replace(tzinfo=EXIF_DEFAULT_TIMEZONE)
    sign = -1 if offset.group(1) == "-" else 1
    minutes = int(offset.group(2)) * 60 + int(offset.group(3))
    if minutes > 14 * 60:
        return naive.replace(tzinfo=EXIF_DEFAULT_TIMEZONE)
    return naive.replace(tzinfo=timezone(sign * timedelta(minutes=minutes)))


def _gps_position(exif: ExifFields) -> tuple[float | None, float | None]:
    latitude = _gps_coordinate(exif.latitude, exif.latitude_ref, negative="S", limit=90)
    longitude = _gps_coordinate(exif.longitude, exif.longitude_ref, negative="W", limit=180)
    if latitude is None or longitude is None:
        return None, None
    if latitude == 0 and longitude == 0:  # what some phones write when they had no fix
        return None, None
    return latitude, longitude


def _gps_coordinate(value: Any, ref: object, *, negative: str, limit: float) -> float | None:
    try:
        parts = [float(part) for part in value] if isinstance(value, tuple | list) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) for part in parts):
        return None
    degrees = abs(parts[0]) + sum(part / 60**index for index, part in enumerate(parts[1:], start=1))
    reference = (_exif_text(ref) or "").upper()[:1]
    if reference == negative or (not reference and parts[0] < 0):
        degrees = -degrees
    if abs(degrees) > limit:
        return None
    return degrees


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres.

    Coordinates must share a datum. Phones write WGS-84 in EXIF, while Chinese web maps (Amap, Tencent,
    Baidu) use GCJ-02 or BD-09, offset by a few hundred metres: keep any "far from the unit" threshold
    well above that, or convert the unit's position first.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --- derivatives -------------------------------------------------------------------------------


def render_derivatives(source_fileobj: IO[bytes], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Derivatives:
    """Upright sRGB JPEG thumbnail and preview with no metadata at all, plus the pHash of the preview.

    The hash is taken from the preview so that every source, whatever its size or format, goes through
    the same reduction before hashing. JPEG sources are decoded at the smallest DCT scale (1/2, 1/4,
    1/8) that still covers the preview: a 12 MP photo never exists in memory at full size. Other
    formats are reduced in place before they are turned upright, so the full-size pixels exist once.
    """
    display = safe_display_name(getattr(source_fileobj, "name", None))
    opened = _open_checked(source_fileobj, display=display, max_pixels=max_pixels)
    try:
        with opened.image as im:
            if im.format in _JPEG_FORMATS:
                # pillow-heif's draft would pick an embedded thumbnail instead, whose pixels need not
                # be the photo's: the copies reviewers see are always made from the photo itself.
                im.draft("RGB", _cover_box(im.size, PREVIEW_MAX_SIDE))
            _decode(im, source_fileobj, display=display)
            preview = _preview(im)
        method = _TRANSPOSE.get(opened.orientation or 1)
        if method is not None:
            preview = preview.transpose(method)
        preview = _to_srgb_rgb(preview, opened.icc)
        thumbnail = preview.copy()
        thumbnail.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), Image.Resampling.LANCZOS)
        return Derivatives(
            thumbnail=_encode_jpeg(thumbnail),
            thumbnail_size=thumbnail.size,
            preview=_encode_jpeg(preview),
            preview_size=preview.size,
            phash=perceptual_hash(preview),
        )
    except MemoryError:
        raise _too_demanding(display) from None


_STRIP_ROWS = 32  # rows of the reduced image per strip: a 50 MP strip is about 6 MB


def _preview(im: Image.Image) -> Image.Image:
    """A copy whose longest side is at most PREVIEW_MAX_SIDE, made with no second full-size image.

    `thumbnail` works in place (the full-size pixels are replaced by the reduced ones). Pillow reduces
    and resizes an image with transparency through a premultiplied full-size copy (another 200 MB at
    50 MP), so such an image is first box-reduced strip by strip to just above the preview's size,
    and the full-size pixels are let go before the rest.
    """
    factor = int(max(im.size) / PREVIEW_MAX_SIDE)
    if im.mode in {"RGBA", "LA"} and factor >= 2:
        width, height = im.size
        reduced = Image.new(im.mode, (math.ceil(width / factor), math.ceil(height / factor)))
        rows = _STRIP_ROWS * factor
        for top in range(0, height, rows):
            strip = im.crop((0, top, width, min(height, top + rows))).reduce(factor)
            reduced.paste(strip, (0, top // factor))
        im.close()  # the caller's `with` closes it again, harmlessly
        im = reduced
    im.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    return im.copy()


_REDUCING_GAP = 3.0
_STRIP_ROWS = 32  # rows of the reduced image per strip: a 50 MP strip is about 6 MB


# EXIF orientation -> the turn that makes the stored pixels upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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


def _cover_box(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """The smallest box, same aspect, whose longest side is `longest` (or the image, if smaller)."""
    width, height = size
    scale = min(1.0, longest / max(width, height, 1))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Flatten transparency onto white and convert to sRGB from `icc`, since the profile is not kept."""
    if im.mode in {"RGBA", "LA", "PA"} or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        im = flat.convert("RGB")
    if icc and im.mode in {"RGB", "CMYK", "L"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
        if converted is not None:
            im = converted
    return im if im.mode == "RGB" else im.convert("RGB")


def _encode_jpeg(im: Image.Image) -> bytes:
    clean = im.copy()
    clean.info = {}  # Pillow re-writes some info keys (JPEG comment) unless told otherwise
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


# --- perceptual hashing ------------------------------------------------------------------------


def perceptual_hash(image: Image.Image) -> int:
    """64-bit pHash as a signed integer (PostgreSQL bigint), bits in imagehash's order."""
    bits = np.asarray(imagehash.phash(image).hash, dtype=bool).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big", signed=True)


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _HASH_MASK).bit_count()


def is_near_duplicate(a: int, b: int) -> bool:
    return hamming(a, b) <= NEAR_DUPLICATE_THRESHOLD


def hash_bands(h: int, bands: int = HASH_BANDS) -> list[int]:
    """Split the 64 bits, most significant first, into `bands` unsigned integers of equal width.

    Store one column (or row) per band and look candidates up by equality on any band; hashes within
    `bands - 1` bits of each other always share a band, the rest are filtered with `hamming`.
    """
    if bands < 1 or 64 % bands:
        raise ValueError(f"bands must divide 64, got {bands}")
    width = 64 // bands
    unsigned = h & _HASH_MASK
    band_mask = (1 << width) - 1
    return [(unsigned >> (64 - width * (index + 1))) & band_mask for index in range(bands)]
