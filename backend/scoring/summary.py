"""The sentence districts paste into their reports, numbers written as officials write them:

2026年1月至7月，郑州市中原区共开展文化惠民活动 217 场，服务群众 1.5 万余人次，参与志愿者 860 人次、志愿服务 2,310 小时。

Ten thousand and more is written in 万 with one decimal, rounded down, and 余 when something was
left off (15,234 → 1.5 万余; 20,000 → 2 万). Smaller numbers get thousands separators.
"""

from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from scoring.explain import number
from scoring.periods import Period, add_months

WAN = 10_000


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _unit(kind: str, count: int) -> str:
    if kind == "activities":
        return ngettext("activity", "activities", count)
    if kind == "hours":
        return ngettext("hour", "hours", count)
    return ngettext("person-time", "person-times", count)


def quantity(value: Decimal | int, kind: str) -> str:
    """`217 场`, `1.5 万余人次`, `2,310 小时` (in English `15,234 person-times`)."""
    value = Decimal(value)
    unit = _unit(kind, 1 if value == 1 else 2)
    if _chinese() and value >= WAN:
        tenths = (value / 1000).to_integral_value(rounding=ROUND_FLOOR)
        wan = number(tenths / 10)
        more = _("more than") if value > tenths * 1000 else ""
        return f"{wan} 万{more}{unit}"
    text = f"{value.normalize():,f}" if value != value.to_integral_value() else f"{int(value):,}"
    return f"{text} {unit}"


def _day(day: date, *, with_year: bool) -> str:
    if with_year:
        return _("%(year)s-%(month)s-%(day)s") % {"year": day.year, "month": day.month, "day": day.day}
    return _("%(month)s-%(day)s") % {"month": day.month, "day": day.day}


def range_label(start: date, end: date) -> str:
    """2026年1月至7月 for whole months, 2026年1月5日至3月20日 otherwise (`end` inclusive)."""
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    if whole_months:
        last = end.replace(day=1)
        if last == start:
            return Period("month", start).label
        if start.month == 1 and last.month == 12 and start.year == last.year:
            return Period("year", start).label
        first = Period("month", start).label
        if last.year == start.year:
            later = _("month %(month)s") % {"month": last.month}
        else:
            later = Period("month", last).label
        return _("%(start)s to %(end)s") % {"start": first, "end": later}
    if start == end:
        return _day(start, with_year=True)
    return _("%(start)s to %(end)s") % {
        "start": _day(start, with_year=True),
        "end": _day(end, with_year=end.year != start.year),
    }


def period_label(period: Period) -> str:
    return period.label


def sentence(
    *,
    when: str,
    unit_name: str,
    category_name: str | None,
    activities: int,
    participants: int,
    volunteers: int,
    volunteer_hours: Decimal,
) -> str:
    category = category_name or _("civilization practice")
    if not activities:
        return _("%(when)s, %(unit)s has no approved %(category)s activities yet.") % {
            "when": when,
            "unit": unit_name,
            "category": category,
        }
    return _(
        "%(when)s, %(unit)s held %(activities)s of %(category)s activities, serving %(participants)s, "
        "with %(volunteers)s of volunteers and %(hours)s of volunteer service."
    ) % {
        "when": when,
        "unit": unit_name,
        "category": category,
        "activities": quantity(activities, "activities"),
        "participants": quantity(participants, "people"),
        "volunteers": quantity(volunteers, "people"),
        "hours": quantity(volunteer_hours, "hours"),
    }


def months_between(start: date, stop: date) -> list[date]:
    months, month = [], start
    while month < stop:
        months.append(month)
        month = add_months(month, 1)
    return months
