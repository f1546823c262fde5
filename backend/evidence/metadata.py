"""Photo metadata read with hard bounds, and the decoder handed a file without it.

A photo's metadata is whatever the sender's software wrote, and its cost to a naive reader is not
bounded by the file's size: an EXIF directory of 65,535 tags that each declare the whole 1 MB block
as their value makes Pillow's EXIF reader copy 64 GB. Pillow reads EXIF while *opening* a JPEG
(its resolution), the multi-picture index of a JPEG is the same kind of directory, and PNG text and
ICC chunks are compressed. So nothing from Pillow's metadata readers is used here:

- JPEG and PNG reach the decoder through `without_metadata`: a view of the upload (no copy) that
  leaves out every APPn segment but JFIF (APP0) and Adobe (APP14, needed to decode CMYK), the
  comments, and the PNG eXIf, text (tEXt, zTXt, iTXt) and iCCP chunks. The walk over segments and
  chunks follows Pillow's own, so what it leaves out is exactly what Pillow would have parsed.
- WebP and HEIF libraries hand their metadata over as plain bytes (bounded by the file's size);
  `take_from_info` removes them from the image before anything could parse them.
- What we use (orientation, time taken, position, the colour profile) comes from `read_exif`, which
  reads only those tags and never allocates more than the block it is given, and from the size-capped
  profile and XMP blocks.

Metadata over the caps below counts as absent, like unreadable metadata: the photo is still accepted
(and flagged as having no EXIF), since the pixels are what the reviewer looks at.
"""

import bisect
import io
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import IO, Any

# Larger blocks than these are ignored. Phones write a few KB of EXIF (a JPEG cannot hold more than
# 64 KB per segment), a few hundred bytes of ICC (Display P3, sRGB) and a few KB of XMP.
EXIF_MAX_BYTES = 256 * 1024
ICC_MAX_BYTES = 1024 * 1024
XMP_MAX_BYTES = 256 * 1024
# Tags in one EXIF directory; a camera writes fewer than 100 (the maker note is one tag).
IFD_MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Metadata:
    exif: bytes | None = None  # a TIFF block ("II*\0" / "MM\0*"), "Exif\0\0" prefix removed
    xmp: bytes | None = None
    icc: bytes | None = None


def _capped(value: Any, limit: int) -> bytes | None:
    if not isinstance(value, bytes | bytearray) or not value or len(value) > limit:
        return None
    return bytes(value)


def _exif_block(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray) and value.startswith(b"Exif\x00\x00"):
        value = value[6:]
    return _capped(value, EXIF_MAX_BYTES)


def take_from_info(info: dict[Any, Any]) -> Metadata:
    """Remove EXIF, XMP and ICC from a Pillow image's `info` (WebP, HEIF) and return them, capped."""
    return Metadata(
        exif=_exif_block(info.pop("exif", None)),
        xmp=_capped(info.pop("xmp", None), XMP_MAX_BYTES),
        icc=_capped(info.pop("icc_profile", None), ICC_MAX_BYTES),
    )


# --- the decoder's view ---------------------------------------------------------------------------


class _Spliced(io.RawIOBase):
    """Some byte ranges of a file, read and seeked like one file, without copying it."""

    def __init__(self, raw: IO[bytes], keep: list[tuple[int, int]]):
        super().__init__()
        self._raw = raw
        self._starts: list[int] = []  # where each kept range begins in this view
        self._ranges = keep
        position = 0
        for start, end in keep:
            self._starts.append(position)
            position += end - start
        self._size = position
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self._size:
            index = bisect.bisect_right(self._starts, self._position) - 1
            start, end = self._ranges[index]
            into = self._position - self._starts[index]
            wanted = min(len(view) - done, end - start - into)
            self._raw.seek(start + into)
            chunk = self._raw.read(wanted)
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._position += len(chunk)
        return done


class _Cursor:
    """Buffered forward reading of a file, for walking its structure byte by byte cheaply."""

    BLOCK = 64 * 1024

    def __init__(self, raw: IO[bytes], size: int):
        self._raw = raw
        self.size = size
        self._buffer = b""
        self._buffer_start = 0
        self.position = 0

    def read(self, count: int) -> bytes:
        end = self.position + count
        if not (self._buffer_start <= self.position and end <= self._buffer_start + len(self._buffer)):
            self._raw.seek(self.position)
            self._buffer = self._raw.read(max(count, self.BLOCK))
            self._buffer_start = self.position
        at = self.position - self._buffer_start
        data = self._buffer[at : at + count]
        self.position += len(data)
        return data

    def skip(self, count: int) -> None:
        self.position = min(self.size, self.position + count)


def _file_size(fileobj: IO[bytes]) -> int:
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def without_metadata(fileobj: IO[bytes]) -> tuple[IO[bytes], Metadata]:
    """For a JPEG or PNG: a view of `fileobj` without its metadata, and that metadata (capped).

    Other formats come back unchanged with empty metadata (see `take_from_info`).
    """
    size = _file_size(fileobj)
    head = fileobj.read(8)
    fileobj.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        keep, metadata = _jpeg_walk(_Cursor(fileobj, size))
    elif head == _PNG_SIGNATURE:
        keep, metadata = _png_walk(_Cursor(fileobj, size))
    else:
        return fileobj, Metadata()
    return io.BufferedReader(_Spliced(fileobj, keep)), metadata


# Markers that carry no length (Pillow's JpegImagePlugin.MARKER entries without a handler).
_JPEG_BARE = frozenset({0xFFC8, *range(0xFFD0, 0xFFDA), *range(0xFFF0, 0xFFFE)})
_JPEG_KEPT_APP = frozenset({0xFFE0, 0xFFEE})  # JFIF, Adobe (the colour transform of CMYK/YCCK)
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_ICC_HEADER = b"ICC_PROFILE\x00"


def _jpeg_walk(cursor: _Cursor) -> tuple[list[tuple[int, int]], Metadata]:
    """Walk the header segments the way Pillow's JPEG opener does; drop APPn (but JFIF and Adobe) and COM.

    Pillow skips junk bytes and fill bytes between markers and stops at the start of scan; from there
    on (and wherever it would fail) the file is passed on unchanged, so the decoder sees the same
    stream minus the dropped segments.
    """
    keep: list[tuple[int, int]] = []
    kept_from = 0
    exif = bytearray()
    exif_too_large = False
    xmp: bytes | None = None
    icc_chunks: list[bytes] = []
    icc_bytes = 0
    cursor.skip(3)  # SOI and the first byte of the next marker, as Pillow reads them
    current = b"\xff"
    while True:
        if current[:1] != b"\xff":
            current = cursor.read(1)
            if not current:
                break
            continue
        marker_at = cursor.position - 1
        second = cursor.read(1)
        if not second:
            break
        marker = 0xFF00 | second[0]
        if marker in (0xFFFF,):
            current = b"\xff"
            continue
        if marker == 0xFF00:
            current = cursor.read(1)
            continue
        if marker < 0xFFC0:
            break  # Pillow: "no marker found"
        if marker in _JPEG_BARE:
            current = cursor.read(1)
            continue
        length_bytes = cursor.read(2)
        if len(length_bytes) < 2:
            break
        # A length below 2 reads as an empty segment (Pillow's _safe_read of a negative size).
        length = max(0, int.from_bytes(length_bytes, "big") - 2)
        if cursor.position + length > cursor.size:
            break  # truncated: the decoder reports it
        if marker == 0xFFDA:  # start of scan: the rest is image data
            break
        dropped = (0xFFE0 <= marker <= 0xFFEF and marker not in _JPEG_KEPT_APP) or marker == 0xFFFE
        if not dropped:
            cursor.skip(length)
        elif marker == 0xFFE1 and length >= 6:
            body_head = cursor.read(min(length, len(_XMP_HEADER)))
            if body_head.startswith(b"Exif\x00\x00"):
                if len(exif) + length > EXIF_MAX_BYTES + 6:
                    exif_too_large = True
                    cursor.skip(length - len(body_head))
                else:
                    part = body_head + cursor.read(length - len(body_head))
                    exif += part if not exif else part[6:]  # later segments continue the block (as Pillow)
            elif body_head == _XMP_HEADER and xmp is None and length - len(body_head) <= XMP_MAX_BYTES:
                xmp = cursor.read(length - len(body_head))
            else:
                cursor.skip(length - len(body_head))
        elif marker == 0xFFE2 and length >= len(_ICC_HEADER) + 2:
            body_head = cursor.read(len(_ICC_HEADER))
            if body_head == _ICC_HEADER and icc_bytes + length <= ICC_MAX_BYTES:
                icc_chunks.append(cursor.read(length - len(body_head)))
                icc_bytes += length
            else:
                icc_bytes += length if body_head == _ICC_HEADER else 0
                cursor.skip(length - len(body_head))
        else:
            cursor.skip(length)
        if dropped:
            keep.append((kept_from, marker_at))
            kept_from = cursor.position
        current = cursor.read(1)
    keep.append((kept_from, cursor.size))
    return keep, Metadata(
        exif=None if exif_too_large else _exif_block(bytes(exif)),
        xmp=xmp or None,
        icc=_jpeg_icc(icc_chunks) if icc_bytes <= ICC_MAX_BYTES else None,
    )


def _jpeg_icc(chunks: list[bytes]) -> bytes | None:
    """A profile split over APP2 segments: each starts with its sequence number and the count."""
    if not chunks or any(len(chunk) < 2 for chunk in chunks):
        return None
    chunks.sort(key=lambda chunk: chunk[0])
    if chunks[0][1] != len(chunks):
        return None
    return b"".join(chunk[2:] for chunk in chunks) or None


_PNG_CHUNK_TYPE = re.compile(rb"\w{4}")  # what Pillow's PngStream accepts as a chunk type
_PNG_DROPPED = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"iCCP"})
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"


def _png_walk(cursor: _Cursor) -> tuple[list[tuple[int, int]], Metadata]:
    keep: list[tuple[int, int]] = []
    kept_from = 0
    exif: bytes | None = None
    xmp: bytes | None = None
    icc: bytes | None = None
    cursor.skip(8)
    while cursor.position + 8 <= cursor.size:
        chunk_at = cursor.position
        head = cursor.read(8)
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if not _PNG_CHUNK_TYPE.fullmatch(kind) or chunk_at + 12 + length > cursor.size:
            break  # Pillow refuses or reports it
        if kind == b"IEND":
            break
        if kind not in _PNG_DROPPED:
            cursor.skip(length + 4)
            continue
        if kind == b"eXIf" and exif is None and length <= EXIF_MAX_BYTES:
            exif = _exif_block(cursor.read(length))
            cursor.skip(4)
        elif kind == b"iCCP" and icc is None and length <= ICC_MAX_BYTES:
            icc = _png_icc(cursor.read(length))
            cursor.skip(4)
        elif kind == b"iTXt" and xmp is None and length <= XMP_MAX_BYTES + 100:
            xmp = _png_xmp(cursor.read(length))
            cursor.skip(4)
        else:
            cursor.skip(length + 4)
        keep.append((kept_from, chunk_at))
        kept_from = cursor.position
    keep.append((kept_from, cursor.size))
    return keep, Metadata(exif=exif, xmp=xmp, icc=icc)


def _png_icc(body: bytes) -> bytes | None:
    """iCCP: name, NUL, method 0, zlib data; inflated no further than the cap."""
    name_end = body.find(b"\x00", 0, 80)
    if name_end < 0 or body[name_end + 1 : name_end + 2] != b"\x00":
        return None
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(body[name_end + 2 :], ICC_MAX_BYTES)
    except zlib.error:
        return None
    if inflater.unconsumed_tail or not profile:
        return None  # larger than the cap
    return profile


def _png_xmp(body: bytes) -> bytes | None:
    """iTXt with the XMP keyword, uncompressed (as XMP is written)."""
    if not body.startswith(_PNG_XMP_KEYWORD + b"\x00\x00"):
        return None
    _keyword, rest = body.split(b"\x00", 1)
    # compression flag, method, language tag NUL, translated keyword NUL, text
    parts = rest[2:].split(b"\x00", 2)
    return _capped(parts[2], XMP_MAX_BYTES) if len(parts) == 3 else None


# --- EXIF ----------------------------------------------------------------------------------------

_EXIF_IFD_POINTER = 0x8769
_GPS_IFD_POINTER = 0x8825
_ORIENTATION = 0x0112
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LATITUDE_REF, _GPS_LATITUDE, _GPS_LONGITUDE_REF, _GPS_LONGITUDE = 1, 2, 3, 4

# TIFF field types: bytes per value.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_INTEGER_FORMATS = {1: "B", 3: "H", 4: "L", 6: "b", 8: "h", 9: "l", 13: "L"}
_TEXT_TYPES = frozenset({1, 2, 7})


@dataclass(frozen=True)
class ExifFields:
    """The few EXIF values the evidence checks use, as read from the block (not yet interpreted)."""

    present: bool = False  # a readable block with at least one tag
    orientation: int | None = None
    taken_at: bytes | None = None  # DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
    offset: bytes | None = None  # OffsetTimeOriginal, "+08:00"
    latitude: tuple[float, ...] | None = None  # degrees, minutes, seconds
    latitude_ref: bytes | None = None
    longitude: tuple[float, ...] | None = None
    longitude_ref: bytes | None = None


class _Directory:
    """One IFD of a TIFF block: the entries of the wanted tags, values read on demand, each bounded."""

    def __init__(self, block: bytes, endian: str, offset: int, wanted: frozenset[int]):
        self.block, self.endian = block, endian
        self.entries: dict[int, int] = {}  # tag -> position of its 12-byte entry
        self.count = 0
        if not 8 <= offset <= len(block) - 2:
            raise ValueError("directory outside the block")
        (count,) = struct.unpack_from(endian + "H", block, offset)
        if count > IFD_MAX_ENTRIES:
            raise ValueError("too many tags")
        count = min(count, (len(block) - offset - 2) // 12)  # a cut-off directory keeps what fits
        self.count = count
        for index in range(count):
            position = offset + 2 + 12 * index
            (tag,) = struct.unpack_from(endian + "H", block, position)
            if tag in wanted and tag not in self.entries:
                self.entries[tag] = position

    def _raw(self, tag: int, max_count: int) -> tuple[int, int, bytes] | None:
        position = self.entries.get(tag)
        if position is None:
            return None
        kind, count = struct.unpack_from(self.endian + "HL", self.block, position + 2)
        unit = _TYPE_SIZES.get(kind)
        if unit is None or not 1 <= count <= max_count:
            return None
        size = unit * count
        if size <= 4:
            start = position + 8
        else:
            (start,) = struct.unpack_from(self.endian + "L", self.block, position + 8)
            if start + size > len(self.block):
                return None
        return kind, count, self.block[start : start + size]

    def text(self, tag: int, max_length: int) -> bytes | None:
        raw = self._raw(tag, max_length)
        if raw is None or raw[0] not in _TEXT_TYPES:
            return None
        return raw[2]

    def integer(self, tag: int) -> int | None:
        raw = self._raw(tag, 1)
        if raw is None or raw[0] not in _INTEGER_FORMATS:
            return None
        return struct.unpack(self.endian + _INTEGER_FORMATS[raw[0]], raw[2])[0]

    def numbers(self, tag: int, max_count: int) -> tuple[float, ...] | None:
        raw = self._raw(tag, max_count)
        if raw is None:
            return None
        kind, count, data = raw
        if kind in (5, 10):  # RATIONAL, SRATIONAL
            pairs = struct.unpack(self.endian + ("L" if kind == 5 else "l") * 2 * count, data)
            return tuple(
                pairs[i] / pairs[i + 1] if pairs[i + 1] else math.nan for i in range(0, len(pairs), 2)
            )
        if kind in _INTEGER_FORMATS:
            return tuple(float(v) for v in struct.unpack(self.endian + _INTEGER_FORMATS[kind] * count, data))
        return None


def read_exif(block: bytes | None) -> ExifFields:
    """Orientation, DateTimeOriginal, OffsetTimeOriginal and the GPS position from a TIFF block.

    Only those tags are read, each value at most a few dozen bytes: the cost is a scan of at most
    IFD_MAX_ENTRIES entries per directory, whatever the block claims. An unreadable block (bad
    header, a directory outside it or over the cap) counts as no EXIF.
    """
    if not block or len(block) > EXIF_MAX_BYTES:
        return ExifFields()
    try:
        return _read_exif(block)
    except (ValueError, struct.error, OverflowError):
        return ExifFields()


def _read_exif(block: bytes) -> ExifFields:
    if block[:4] == b"II*\x00":
        endian = "<"
    elif block[:4] == b"MM\x00*":
        endian = ">"
    else:
        return ExifFields()
    (first,) = struct.unpack_from(endian + "L", block, 4)
    ifd0 = _Directory(block, endian, first, frozenset({_ORIENTATION, _EXIF_IFD_POINTER, _GPS_IFD_POINTER}))
    if ifd0.count == 0:
        return ExifFields()
    fields: dict[str, Any] = {"present": True, "orientation": ifd0.integer(_ORIENTATION)}
    exif_at = ifd0.integer(_EXIF_IFD_POINTER)
    if exif_at:
        try:
            exif_ifd = _Directory(
                block, endian, exif_at, frozenset({_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL})
            )
        except ValueError:
            pass
        else:
            fields["taken_at"] = exif_ifd.text(_DATETIME_ORIGINAL, 64)
            fields["offset"] = exif_ifd.text(_OFFSET_TIME_ORIGINAL, 16)
    gps_at = ifd0.integer(_GPS_IFD_POINTER)
    if gps_at:
        wanted = frozenset({_GPS_LATITUDE_REF, _GPS_LATITUDE, _GPS_LONGITUDE_REF, _GPS_LONGITUDE})
        try:
            gps = _Directory(block, endian, gps_at, wanted)
        except ValueError:
            pass
        else:
            fields["latitude"] = gps.numbers(_GPS_LATITUDE, 3)
            fields["latitude_ref"] = gps.text(_GPS_LATITUDE_REF, 8)
            fields["longitude"] = gps.numbers(_GPS_LONGITUDE, 3)
            fields["longitude_ref"] = gps.text(_GPS_LONGITUDE_REF, 8)
    return ExifFields(**fields)


_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(="|>)([0-9])')


def xmp_orientation(xmp: bytes | None) -> int | None:
    """Pillow's fallback when EXIF has no orientation: `tiff:Orientation` in the XMP packet."""
    if not xmp or len(xmp) > XMP_MAX_BYTES:
        return None
    match = _XMP_ORIENTATION.search(xmp)
    return int(match[2]) if match else None
