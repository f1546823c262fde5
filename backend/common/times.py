"""Times as people read them: Asia/Shanghai (+08:00), as precise as the sentence needs to be true."""

from datetime import datetime, tzinfo

from django.utils import timezone


def local_text(value: datetime, *compared: datetime) -> str:
    """`2026-11-29 18:55` in the local time zone; with seconds when a compared time falls in the same
    minute, so "18:55:12 is before 18:55:45" never reads as two equal times."""
    local = timezone.localtime(value)
    same_minute = any(
        timezone.localtime(other).replace(second=0, microsecond=0) == local.replace(second=0, microsecond=0)
        for other in compared
    )
    return local.strftime("%Y-%m-%d %H:%M:%S" if same_minute else "%Y-%m-%d %H:%M")


def local_iso(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    """ISO 8601 with the local offset (+08:00), the form every time in the API takes. `zone`: the
    current time zone, when a caller writing many times has read it once."""
    return timezone.localtime(value, zone).isoformat() if value is not None else None
