"""What a photo's EXIF says about when and where it was taken, and how far apart two places are.

evidence.metadata finds the few EXIF fields with fixed bounds; this module turns them into an aware
`datetime` and a WGS-84 position, or None. The time and place are the sender's word (any software can
write them), so a value that cannot be a real date or position counts as absent, never as an error.
"""

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from evidence.metadata import ExifFields

# EXIF times carry no zone. Phones write local wall-clock time and this deployment serves Chinese
# districts, so a time without OffsetTimeOriginal is Beijing time.
EXIF_DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")

_EARTH_RADIUS_KM = 6371.0088


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
