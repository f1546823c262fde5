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
