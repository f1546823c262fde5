"""Evidence photos: the stripped copies shown around the system, and the pHash that finds near-duplicates.

Derivatives are re-encoded JPEGs without EXIF, GPS, XMP, comments or ICC profiles: the original keeps
the location for the reviewer, the copies shown around the system do not leak it. Near-duplicate
detection uses a 64-bit pHash of the preview. `NEAR_DUPLICATE_THRESHOLD` and `HASH_BANDS` follow the
pigeonhole rule (bands = threshold + 1): split two hashes within the threshold into that many bands
and at least one band is equal, so an indexed equality lookup per band finds every candidate.
tests/evidence/test_near_duplicates.py holds the measurements the threshold rests on.
"""

import importlib
import io
import math
from dataclasses import dataclass
from typing import IO

import imagehash
import numpy as np
from PIL import Image, ImageCms

from evidence.imaging import (
    _JPEG_FORMATS,
    DEFAULT_MAX_PIXELS,
    _decode,
    _open_checked,
    _too_demanding,
    safe_display_name,
)

THUMBNAIL_MAX_SIDE = 320
PREVIEW_MAX_SIDE = 1280
JPEG_QUALITY = 82

# Pigeonhole: bands = threshold + 1, each band 64 / bands bits wide (8 bits here, fits smallint).
# Why 7 and not 3: brightening a photo by 10% moved its hash by up to 4 bits, which 3 would miss;
# unrelated scenes were never closer than 18 (measurements in tests/evidence/test_near_duplicates.py).
# Not a setting: stored band columns are derived from it, so changing it means re-banding every row.
NEAR_DUPLICATE_THRESHOLD = 7
HASH_BANDS = NEAR_DUPLICATE_THRESHOLD + 1

_HASH_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class Derivatives:
    thumbnail: bytes  # JPEG, longest side <= THUMBNAIL_MAX_SIDE
    thumbnail_size: tuple[int, int]
    preview: bytes  # JPEG, longest side <= PREVIEW_MAX_SIDE
    preview_size: tuple[int, int]
    phash: int  # signed 64-bit, fits PostgreSQL bigint


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


def load_hashing() -> None:
    """Load scipy's FFT, which imagehash's pHash imports on first use. The photo job calls this before
    its memory ceiling (loading a shared library under the ceiling could fail for want of address
    space); the web processes, which never hash, are spared its 17 MB."""
    importlib.import_module("scipy.fftpack")


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
