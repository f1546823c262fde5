"""Time rules of the reminders, apart from the database: offsets, quiet hours, back-off, local dates.

Every moment a person reads is Asia/Shanghai (TIME_ZONE); the database keeps UTC.
"""

import random
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def minutes_of_hours(hours: list[float]) -> list[int]:
    """[72, 24, 2] hours -> [4320, 1440, 120] minutes, largest first, without repeats."""
    return sorted({round(float(value) * 60) for value in hours}, reverse=True)


def default_offsets() -> list[int]:
    return minutes_of_hours(settings.NOTIFICATIONS_REMINDER_HOURS)


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.strip().split(":"))
    return time(hour, minute)


def quiet_window() -> tuple[time, time] | None:
    """(start, end) of the quiet hours, local time, or None when there are none."""
    value = (settings.NOTIFICATIONS_QUIET_HOURS or "").strip()
    if not value:
        return None
    start, end = value.replace("–", "-").split("-")
    window = (_clock(start), _clock(end))
    return None if window[0] == window[1] else window


def quiet_until(now: datetime | None = None) -> datetime | None:
    """When the quiet hours around `now` end, or None when `now` is not in them.

    A window across midnight (22:00-07:00) holds from 22:00 to 07:00 the next morning; the start
    is inside the window, the end outside it.
    """
    window = quiet_window()
    if window is None:
        return None
    start, end = window
    local = timezone.localtime(now or timezone.now())
    clock = local.time()
    if start < end:
        inside = start <= clock < end
    else:
        inside = clock >= start or clock < end
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(end_day, end), local.tzinfo)


def backoff(attempts: int) -> timedelta:
    """Exponential back-off with jitter after `attempts` failed tries: base, 2×base, 4×base, ... up to
    the maximum, each drawn between half and all of it so that many failures spread out."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    ceiling = min(settings.NOTIFICATIONS_RETRY_MAX_SECONDS, base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311  (spreading, not secrecy)


def local_date(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now()).date()


def lookback() -> timedelta:
    """How far back the scan looks: far enough for every moment after the due time to be found."""
    latest = max(
        settings.NOTIFICATIONS_OVERDUE_HOURS,
        settings.NOTIFICATIONS_ESCALATION_HOURS,
        settings.NOTIFICATIONS_REVIEW_ESCALATION_HOURS,
    )
    return max(timedelta(days=settings.NOTIFICATIONS_LOOKBACK_DAYS), timedelta(hours=latest + 24))
