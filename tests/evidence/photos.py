"""Test photos made on the spot: synthetic "real-looking" scenes and the encodings phones produce.

Flat colours would make every perceptual hash look alike (or wildly different) for the wrong
reasons, so a scene is built like a photo: a soft colour field, a lit gradient, objects with edges,
signage text and sensor grain. Each seed gives a different scene; the same seed the same pixels.
"""

import io
import struct
import zlib
from datetime import datetime

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont, TiffImagePlugin

EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def real_looking_photo(seed: int, size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size

    # Light and colour vary slowly, so they are computed at 1/8 scale and blown up: a soft colour
    # field (walls, sky, foliage), light falling from a random direction, and a mottled texture.
    low_w, low_h = max(8, width // 8), max(8, height // 8)
    coarse = rng.integers(0, 256, size=(int(rng.integers(3, 7)), int(rng.integers(4, 9)), 3), dtype=np.uint8)
    field = np.asarray(
        Image.fromarray(coarse).resize((low_w, low_h), Image.Resampling.BICUBIC), dtype=np.float32
    )
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.ogrid[0:low_h, 0:low_w]
    ramp = (np.cos(angle) * xs / low_w + np.sin(angle) * ys / low_h).astype(np.float32)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    mottle = rng.normal(0, 18, size=(low_h // 4, low_w // 4)).astype(np.float32)
    mottle = np.asarray(Image.fromarray(mottle).resize((low_w, low_h), Image.Resampling.BILINEAR))
    pixels = field * (0.55 + 0.45 * ramp[..., None]) + mottle[..., None]
    scene = Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)

    # Objects with hard edges and signage, drawn at full resolution.
    draw = ImageDraw.Draw(scene)
    for _ in range(int(rng.integers(25, 45))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, y0 = int(rng.integers(-width // 10, width)), int(rng.integers(-height // 10, height))
        w, h = int(rng.integers(width // 30, width // 3)), int(rng.integers(height // 30, height // 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        elif kind == 1:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            points = [(x0 + int(rng.integers(0, w)), y0 + int(rng.integers(0, h))) for _ in range(5)]
            draw.polygon(points, fill=colour)
    for _ in range(int(rng.integers(3, 7))):
        font = ImageFont.load_default(size=max(10, int(rng.integers(60, 220) * width / 4000)))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        position = (int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height * 7 // 8)))
        draw.text(position, f"Civilization Practice {int(rng.integers(1000, 9999))}", fill=colour, font=font)

    # Sensor grain, per pixel (+-12 levels).
    grain = Image.frombytes("L", size, rng.bytes(width * height)).point(lambda v: v * 25 // 256)
    return ImageChops.add(scene, grain.convert("RGB"), offset=-12)


def make_exif(
    *,
    taken_at: str | None = "2025:03:14 09:26:53",
    offset: str | None = None,
    latitude: tuple[float, float, float] | None = None,
    latitude_ref: str = "N",
    longitude: tuple[float, float, float] | None = None,
    longitude_ref: str = "E",
    orientation: int | None = None,
) -> Image.Exif:
    """EXIF the way a phone writes it: DateTimeOriginal in the Exif IFD, position in the GPS IFD."""
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    if taken_at is not None:
        exif_ifd = exif.get_ifd(EXIF_IFD)
        exif_ifd[0x9003] = taken_at  # DateTimeOriginal
        if offset is not None:
            exif_ifd[0x9011] = offset  # OffsetTimeOriginal
    if latitude is not None and longitude is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[1] = latitude_ref
        gps[2] = tuple(TiffImagePlugin.IFDRational(value) for value in latitude)
        gps[3] = longitude_ref
        gps[4] = tuple(TiffImagePlugin.IFDRational(value) for value in longitude)
    return exif


def encode(im: Image.Image, format: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, format=format, **params)
    return out.getvalue()


def jpeg(im: Image.Image, *, quality: int = 92, exif: Image.Exif | None = None, **params) -> bytes:
    if exif is not None:
        params["exif"] = exif.tobytes()
    return encode(im, "JPEG", quality=quality, **params)


def heic(im: Image.Image, *, quality: int = 80, exif: Image.Exif | None = None) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()  # idempotent; also registers the encoder
    params: dict = {"quality": quality}
    if exif is not None:
        params["exif"] = exif.tobytes()
    return encode(im, "HEIF", **params)


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit black PNG: tiny on disk, width * height bytes once Pillow decodes it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, 4_000_000 // len(row))
    parts = []
    for start in range(0, height, rows_per_block):
        parts.append(compressor.compress(row * min(rows_per_block, height - start)))
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )


def strip_jpeg_metadata(data: bytes) -> bytes:
    """Drop APP1 (EXIF/XMP) segments without touching the compressed pixels, as exiftool does."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out, offset = [data[:2]], 2
    while offset < len(data):
        marker = data[offset + 1]
        if marker == 0xDA:  # start of scan: the rest is pixel data
            out.append(data[offset:])
            break
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if marker != 0xE1:
            out.append(data[offset : offset + 2 + length])
        offset += 2 + length
    return b"".join(out)
