"""Assessment periods: months, quarters and years in Asia/Shanghai, as people write them.

`2026-11` is a month, `2026-Q4` a quarter, `2026` a year. An assignment belongs to the month that
contains its due time (and so to that month's quarter and year).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from scoring.models import PeriodKind

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{1,2})|[Qq](?P<quarter>\d)))?$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def month_of(moment: datetime) -> date:
    """The first day of the month (Asia/Shanghai) containing `moment`."""
    return local_date(moment).replace(day=1)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in Asia/Shanghai."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _quarter_name(quarter: int) -> str:
    names = [_("first quarter"), _("second quarter"), _("third quarter"), _("fourth quarter")]
    return names[quarter - 1]


@dataclass(frozen=True, order=True)
class Period:
    kind: str
    start: date

    @classmethod
    def of(cls, kind: str, month: date) -> "Period":
        """The period of `kind` containing `month`."""
        if kind == PeriodKind.MONTH:
            return cls(kind, month.replace(day=1))
        if kind == PeriodKind.QUARTER:
            return cls(kind, date(month.year, (month.month - 1) // 3 * 3 + 1, 1))
        return cls(kind, date(month.year, 1, 1))

    @property
    def stop(self) -> date:
        """The first day after the period."""
        return add_months(self.start, MONTHS_IN[PeriodKind(self.kind)])

    @property
    def start_at(self) -> datetime:
        return day_start(self.start)

    @property
    def stop_at(self) -> datetime:
        return day_start(self.stop)

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        """2026年11月, 2026年第四季度, 2026年 (in the reader's language)."""
        year = self.start.year
        if self.kind == PeriodKind.MONTH:
            return _("%(year)s, month %(month)s") % {"year": year, "month": self.start.month}
        if self.kind == PeriodKind.QUARTER:
            quarter = (self.start.month - 1) // 3 + 1
            return _("%(year)s, %(quarter_name)s") % {"year": year, "quarter_name": _quarter_name(quarter)}
        return _("year %(year)s") % {"year": year}

    def previous(self) -> "Period":
        return Period(self.kind, add_months(self.start, -MONTHS_IN[PeriodKind(self.kind)]))

    def months(self) -> list[date]:
        return [add_months(self.start, offset) for offset in range(MONTHS_IN[PeriodKind(self.kind)])]

    def containing(self) -> list["Period"]:
        """This period and the larger ones containing it (a month's quarter and year)."""
        order = [PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR]
        return [Period.of(kind, self.start) for kind in order[order.index(PeriodKind(self.kind)) :]]

    def has_begun(self, now: datetime | None = None) -> bool:
        return self.start_at <= (now or timezone.now())

    def has_ended(self, now: datetime | None = None) -> bool:
        return self.stop_at <= (now or timezone.now())


def periods_touching(months: list[date]) -> list[Period]:
    """Every month, quarter and year containing one of `months`."""
    found = {Period.of(kind, month) for month in months for kind in PeriodKind.values}
    return sorted(found)


def _invalid(value: Any, field: str) -> ValidationFailed:
    message = _(
        "“%(value)s” is not a period: write 2026-11 for a month, 2026-Q4 for a quarter or 2026 for a year."
    ) % {"value": value}
    return ValidationFailed(message, {field: [message]})


def parse_period(
    value: Any, *, field: str = "period", now: datetime | None = None, allow_future: bool = False
) -> Period:
    """A period from `2026-11`, `2026-Q4` or `2026`, or a 400 that says how to write one.

    A period that has not begun is refused unless `allow_future` (a policy may be set ahead).
    """
    text = str(value or "").strip()
    if not text:
        message = _("Give a period: 2026-11 for a month, 2026-Q4 for a quarter or 2026 for a year.")
        raise ValidationFailed(message, {field: [message]})
    match = _PERIOD.match(text)
    if match is None:
        raise _invalid(text, field)
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _invalid(text, field)
    if match["month"] is not None:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise _invalid(text, field)
        period = Period(PeriodKind.MONTH, date(year, month, 1))
    elif match["quarter"] is not None:
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4:
            raise _invalid(text, field)
        period = Period(PeriodKind.QUARTER, date(year, quarter * 3 - 2, 1))
    else:
        period = Period(PeriodKind.YEAR, date(year, 1, 1))
    now = now or timezone.now()
    if not allow_future and not period.has_begun(now):
        message = _("The period %(period)s has not begun yet (today is %(today)s).") % {
            "period": period.key,
            "today": local_date(now).isoformat(),
        }
        raise ValidationFailed(message, {field: [message]})
    return period


def parse_day(value: Any, *, field: str) -> date:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        message = _("“%(value)s” is not a date: write it as 2026-11-30.") % {"value": text}
        raise ValidationFailed(message, {field: [message]}) from exc
