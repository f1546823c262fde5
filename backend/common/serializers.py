"""Input shapes shared by the apps: strict parsing that names every problem, local times."""

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import SkipField

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StrictSerializer(serializers.Serializer):
    """Parses what it knows and refuses the rest: fields the caller may not set (status, author,
    ...) are errors, not silently dropped; every field's problem is reported at once.

    `parse(data)` returns (values, errors) without raising, `values` holding every field that could
    be read: a service can then judge those too, so one 400 names every problem of the request.
    """

    # Hints for fields a client may expect to set here but cannot (shown instead of the default).
    unknown_field_hints: Mapping[str, Any] = {}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        errors: dict[str, Any] = {
            name: [self.unknown_field_hints.get(name, _("This field cannot be set here."))]
            for name in sorted(set(data) - set(self.fields))
        }
        values: dict[str, Any] = {}
        for field in self._writable_fields:
            try:
                value = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[str(field.field_name)] = exc.detail
                continue
            except SkipField:
                continue
            self.set_value(values, field.source_attrs, value)
        self.readable_values = values
        if errors:
            raise serializers.ValidationError(errors)
        return values

    @classmethod
    def parse(cls, data: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        serializer = cls(data=data, **kwargs)
        if serializer.is_valid():
            return dict(serializer.validated_data), {}
        return dict(getattr(serializer, "readable_values", {})), dict(serializer.errors)


class LocalDateTimeField(serializers.DateTimeField):
    """A time in ISO 8601; a date alone means the start or the end of that day in Asia/Shanghai.

    "Due 2026-12-01" means by the end of that day (23:59:59 +08:00), not its first second.
    """

    def __init__(self, *, date_means: str = "end", **kwargs: Any):
        if date_means not in ("start", "end"):
            raise ValueError("date_means is 'start' or 'end'")
        self.date_means = date_means
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        day: date | None = None
        if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                self.fail("invalid", format="YYYY-MM-DD")
        elif isinstance(value, date) and not isinstance(value, datetime):
            day = value
        if day is not None:
            moment = time(23, 59, 59) if self.date_means == "end" else time(0, 0)
            return timezone.make_aware(datetime.combine(day, moment), timezone.get_default_timezone())
        return super().to_internal_value(value)


def choice_labels(model: Any, field_name: str) -> dict[Any, str]:
    """The labels of a model field's choices in the reader's language, by value: what
    `get_<field>_display()` gives, read once for a page instead of per row (Django rebuilds the
    choices dict on every call of that method)."""
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


class DisplayField(serializers.CharField):
    """The label of a model field's choice for the field's value, as `get_<field>_display()` gives it,
    without calling that method per row: DRF inspects a bound method's signature before calling it,
    and Django rebuilds the choices dict on every call. The labels are read once per serializer (so
    once per page), by `choice_labels`."""

    def __init__(self, **kwargs: Any):
        super().__init__(read_only=True, **kwargs)
        self._labels: dict[Any, str] | None = None

    def to_representation(self, value: Any) -> Any:
        if self._labels is None:
            model = self.parent.Meta.model  # type: ignore[union-attr,attr-defined]
            self._labels = choice_labels(model, str(self.source))
        return force_str(self._labels.get(value, value), strings_only=True)


def display_field(source: str, help_text: Any = None) -> serializers.CharField:
    """The reader's-language text of an enum beside its value: `status_display` for `status`."""
    return DisplayField(source=source, help_text=help_text)


def parse_request(
    serializer_class: type[serializers.Serializer],
    data: Any,
    *,
    check: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Read a request body (or query) with `serializer_class`, or answer one 400 naming every problem.

    With a StrictSerializer, when some fields cannot be read, `check(values)` (the service's own
    rules, given what could be read) adds its complaints, so a client fixes everything in one round
    trip. A plain serializer (a query string, where other parameters may stand) only reads its fields.
    """
    if issubclass(serializer_class, StrictSerializer):
        values, errors = serializer_class.parse(data, **kwargs)
    else:
        serializer = serializer_class(data=data, **kwargs)
        valid = serializer.is_valid()
        values, errors = (dict(serializer.validated_data), {}) if valid else ({}, dict(serializer.errors))
    if errors and check is not None:
        for field, problems in check(values).items():
            errors.setdefault(field, problems)
    if errors:
        raise serializers.ValidationError(errors)
    return values
