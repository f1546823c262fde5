"""Filter fields that refuse, with a 400, values the database cannot take.

django-filter's IsoDateTimeFilter accepts any offset Python accepts (up to ±23:59) on any date, so
`0001-01-01T00:00:00+14:00` parses, and then converting it to UTC for the query overflows: a 500;
and PostgreSQL refuses offsets beyond ±15:59 that Python takes (another 500). This field converts
the value to UTC before the query sees it, and refuses what has no UTC time. Use
`common.filters.IsoDateTimeFilter` for every date-time filter.
"""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import fields


class IsoDateTimeField(fields.IsoDateTimeField):
    default_error_messages = {
        "out_of_range": _("Enter a date and time between the years 1 and 9999 (in UTC)."),
    }

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = IsoDateTimeField
