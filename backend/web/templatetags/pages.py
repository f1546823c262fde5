"""Template helpers of the pages: dates, status badges, countdowns, progress bars. Presentation only."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

from web import presenters

register = template.Library()


@register.simple_tag
def when(value: datetime | None, date_only: bool = False) -> str:
    """<time datetime="2025-11-29T18:30:00+08:00">11月29日 18:30</time>"""
    if value is None:
        return ""
    text = presenters.short_date(value) if date_only else presenters.short_datetime(value)
    return format_html('<time datetime="{}">{}</time>', timezone.localtime(value).isoformat(), text)


@register.inclusion_tag("web/partials/status_badge.html")
def status_badge(value: Any) -> dict[str, Any]:
    return {"badge": presenters.status_badge(value)}


@register.inclusion_tag("web/partials/status_badge.html")
def badge(label: str, tone: str = "neutral") -> dict[str, Any]:
    return {"badge": presenters.Badge(str(label), tone)}


@register.inclusion_tag("web/partials/countdown.html")
def countdown(assignment: Any) -> dict[str, Any]:
    return {"countdown": presenters.assignment_countdown(assignment)}


@register.inclusion_tag("web/partials/progress_bar.html")
def progress_bar(done: int | None, total: int | None, label: str = "") -> dict[str, Any]:
    done, total = done or 0, total or 0
    percent = round(100 * done / total) if total else 0
    return {"done": done, "total": total, "percent": percent, "label": label}


@register.filter
def evidence_wording(requirements: dict[str, Any] | None) -> str:
    return presenters.evidence_wording(requirements)


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, param: str = "page") -> str:
    """?<the current query with `param` set to `number`> (each list of a page pages on its own)."""
    query = context["request"].GET.copy()
    query[param] = number
    query.pop("section", None)  # the htmx "more" requests name their section; full pages do not
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def kept(context: template.Context, name: str, default: Any = "") -> Any:
    """What the person typed into field `name` (a refused form comes back with it), else `default`."""
    values = context.get("values")
    if values is not None and name in values:
        return values.get(name)
    return "" if default is None else default


@register.simple_tag(takes_context=True)
def kept_list(context: template.Context, name: str) -> list[str]:
    values = context.get("values")
    return values.getlist(name) if values is not None and hasattr(values, "getlist") else []


@register.inclusion_tag("web/partials/field_error.html", takes_context=True)
def field_error(context: template.Context, *names: str) -> dict[str, Any]:
    """The refusal's messages for these fields, under the field (`<first name>-error` for aria)."""
    errors = context.get("errors") or {}
    return {"problems": [m for n in names for m in errors.get(n, [])], "id": f"{names[0]}-error"}


@register.filter
def local_input(value: datetime | None, part: str = "datetime") -> str:
    """A time as an <input type="date|time|datetime-local"> value in local time."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value)
    return {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"}.get(part, f"{local:%Y-%m-%dT%H:%M}")


@register.filter
def percent_class(value: int | None) -> str:
    """Bars without style attributes (the CSP forbids them): a width class in steps of 5 %."""
    if value is None:
        return "w-0"
    return f"w-{max(0, min(100, int(round(value / 5.0)) * 5))}"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
