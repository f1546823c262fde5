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


# --- crafted metadata (the bad-file corpus) ------------------------------------------------------
# Small files whose metadata asks a naive reader for far more memory than the file holds. Each is a
# valid photo underneath: what matters is that handling it costs what an ordinary photo costs.


def tiff_amplifier(size: int, *, sub_ifds: bool = True) -> bytes:
    """An EXIF (TIFF) block of `size` bytes whose first IFD holds as many tags as fit, each declaring
    the block from offset 8 to its end as its value: a reader that copies every tag's value allocates
    about tags × size bytes (65,535 × 1 MB is 64 GB). The Exif and GPS pointers lead back to the same
    IFD, so a reader that follows them pays again."""
    count = min(65534, (size - 8 - 2 - 4) // 12)  # every tag number once, but the orientation
    value_length = size - 8
    entries = []
    if sub_ifds:
        entries += [struct.pack("<HHLL", EXIF_IFD, 4, 1, 8), struct.pack("<HHLL", GPS_IFD, 4, 1, 8)]
    tag = 1
    while len(entries) < count:
        # UNDEFINED, `value_length` bytes at 8; no orientation, which encoders would apply
        if tag not in (EXIF_IFD, GPS_IFD, 0x0112):
            entries.append(struct.pack("<HHLL", tag, 7, value_length, 8))
        tag += 1
    entries.sort(key=lambda entry: entry[:2])
    block = b"II*\x00" + struct.pack("<L", 8) + struct.pack("<H", count) + b"".join(entries) + b"\x00" * 4
    return block + b"\x00" * (size - len(block))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunks(im: Image.Image, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of `im` with extra chunks inserted before the image data, as a hostile encoder would."""
    data = encode(im, "PNG")
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + b"".join(_png_chunk(kind, body) for kind, body in chunks) + data[ihdr_end:]


def jpeg_with_segments(data: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """`data` (a JPEG) with extra marker segments right after its start-of-image marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    extra = []
    for marker, body in segments:
        assert len(body) <= 65533, "a JPEG segment holds at most 65,533 bytes"
        extra.append(bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body)
    return data[:2] + b"".join(extra) + data[2:]


def zlib_bomb(size: int) -> bytes:
    """`size` zero bytes compressed (about 1,000 to 1)."""
    compressor = zlib.compressobj(9)
    block = b"\x00" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.flush()


def icc_amplifier(size: int) -> bytes:
    """An ICC profile of `size` bytes (a legal header and tag table of sRGB-ish tags) padded with a
    huge tone curve: the profile itself is the cost, there is nothing to decompress."""
    curve_entries = (size - 128 - 4 - 12 * 3 - 12) // 2
    curve = b"curv" + b"\x00" * 4 + struct.pack(">I", curve_entries) + b"\x80\x00" * curve_entries
    tags = [(b"rTRC", 128 + 4 + 12 * 3), (b"gTRC", 128 + 4 + 12 * 3), (b"bTRC", 128 + 4 + 12 * 3)]
    table = struct.pack(">I", len(tags)) + b"".join(
        name + struct.pack(">II", offset, len(curve)) for name, offset in tags
    )
    header = bytearray(128)
    header[0:4] = struct.pack(">I", 128 + len(table) + len(curve))
    header[8:12] = b"\x04\x30\x00\x00"
    header[12:16], header[16:20], header[20:24], header[36:40] = b"mntr", b"RGB ", b"XYZ ", b"acsp"
    return bytes(header) + table + curve


def crafted_metadata_photos(im: Image.Image) -> dict[str, tuple[str, bytes]]:
    """Every kind of metadata abuse we know of, each wrapped around the same small photo: name ->
    (file name, bytes). The request path and the job must handle each with bounded memory."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    base_jpeg = jpeg(im, quality=85)
    segment_exif = b"Exif\x00\x00" + tiff_amplifier(65533 - 6)
    xmp_head = b"http://ns.adobe.com/xap/1.0/\x00"
    photos = {
        # One APP1 segment (64 KB, the JPEG maximum): ~5,400 tags × 64 KB, three times over.
        "jpeg-exif-many-tags": ("exif.jpg", jpeg_with_segments(base_jpeg, [(0xE1, segment_exif)])),
        # The same behind junk bytes and an empty segment, which Pillow's reader steps over.
        "jpeg-exif-behind-junk": ("exif-junk.jpg", _behind_junk(base_jpeg, segment_exif)),
        # Pillow concatenates consecutive EXIF segments: 16 of them make one 1 MB block.
        "jpeg-exif-split-over-segments": (
            "exif-split.jpg",
            jpeg_with_segments(
                base_jpeg,
                [(0xE1, b"Exif\x00\x00" + part) for part in _split(tiff_amplifier(16 * 65000), 65000)],
            ),
        ),
        # The multi-picture (MPO) index is a TIFF directory too.
        "jpeg-mpf-many-tags": (
            "mpf.jpg",
            jpeg_with_segments(base_jpeg, [(0xE2, b"MPF\x00" + tiff_amplifier(65533 - 4, sub_ifds=False))]),
        ),
        "jpeg-giant-icc": (
            "icc.jpg",
            jpeg(im, quality=85, icc_profile=icc_amplifier(16 * 1024 * 1024)),
        ),
        "jpeg-many-xmp-and-comments": (
            "xmp.jpg",
            jpeg_with_segments(
                base_jpeg,
                [(0xE1, xmp_head + b"<x:xmpmeta " + b"a" * 65000)] * 40 + [(0xFE, b"c" * 65533)] * 40,
            ),
        ),
        # PNG chunks can be 2 GB: a 1 MB eXIf holds 65,535 tags of 1 MB each.
        "png-exif-many-tags": ("exif.png", png_with_chunks(im, [(b"eXIf", tiff_amplifier(1024 * 1024))])),
        "png-ztxt-bombs": (
            "ztxt.png",
            png_with_chunks(im, [(b"zTXt", b"Comment\x00\x00" + zlib_bomb(64 * 1024 * 1024))] * 8),
        ),
        "png-iccp-bomb": (
            "iccp.png",
            png_with_chunks(im, [(b"iCCP", b"icc\x00\x00" + zlib_bomb(256 * 1024 * 1024))]),
        ),
        "png-giant-xmp": (
            "xmp.png",
            png_with_chunks(
                im, [(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + b"<x:xmpmeta " + b"x" * (15 << 20))]
            ),
        ),
        "webp-exif-many-tags": (
            "exif.webp",
            encode(im, "WEBP", quality=80, exif=tiff_amplifier(1024 * 1024)),
        ),
        "heic-exif-many-tags": ("exif.heic", _heic_with(im, exif=tiff_amplifier(1024 * 1024))),
        "heic-giant-xmp": ("xmp.heic", _heic_with(im, xmp=b"<x:xmpmeta " + "文".encode() * (5 << 20))),
    }
    assert tuple(photos) == CRAFTED_METADATA
    return photos


CRAFTED_METADATA = (
    "jpeg-exif-many-tags",
    "jpeg-exif-behind-junk",
    "jpeg-exif-split-over-segments",
    "jpeg-mpf-many-tags",
    "jpeg-giant-icc",
    "jpeg-many-xmp-and-comments",
    "png-exif-many-tags",
    "png-ztxt-bombs",
    "png-iccp-bomb",
    "png-giant-xmp",
    "webp-exif-many-tags",
    "heic-exif-many-tags",
    "heic-giant-xmp",
)


def _behind_junk(base_jpeg: bytes, exif: bytes) -> bytes:
    """The EXIF segment after stray bytes and fill bytes, which JPEG readers step over."""
    first_end = 4 + int.from_bytes(base_jpeg[4:6], "big")  # end of the JFIF segment
    segment = jpeg_with_segments(b"\xff\xd8", [(0xE1, exif)])[2:]
    return base_jpeg[:first_end] + b"\x00\x17\xff\xff" + segment + base_jpeg[first_end:]


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def _heic_with(im: Image.Image, **metadata: bytes) -> bytes:
    return encode(im, "HEIF", quality=60, enc_params={"preset": "ultrafast"}, **metadata)
