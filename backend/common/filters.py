"""Filter fields that refuse, with a 400, what they cannot read or the database cannot take.

`StrictBooleanFilter`: true/false or 1/0; `?overdue=yes` is a 400, never silently "no filter".

django-filter's IsoDateTimeFilter accepts any offset Python accepts (up to ±23:59) on any date, so
`0001-01-01T00:00:00+14:00` parses, and then converting it to UTC for the query overflows: a 500;
and PostgreSQL refuses offsets beyond ±15:59 that Python takes (another 500). This field converts
the value to UTC before the query sees it, and refuses what has no UTC time. Use
`common.filters.IsoDateTimeFilter` for every date-time filter.
"""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import fields
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

TRUE = {"true", "1"}
FALSE = {"false", "0"}


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


class StrictBooleanField(forms.Field):
    """true / false (also 1 / 0): `?overdue=maybe` is a 400, never "no filter"."""

    default_error_messages = {"invalid": _("Use true or false.")}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, except that a request naming none of the list's filters is not read
    through a FilterSet: building one (a deep copy of every filter, a form and its validation) cost
    a list request as much as one of its statements, to filter nothing. Every filter of this project
    reads one query parameter of its own name (no suffixed range widgets, no defaults), so a query
    without those names means no filter.
    """

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
