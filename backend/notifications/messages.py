"""The words of every notification, from its kind and the details it was made with.

Texts are rendered when read (the API, in the reader's language, Chinese by default) or sent (email,
SMS, robots: in LANGUAGE_CODE), never stored, so a translation fix reaches old notifications too.
The details are a snapshot taken when the notification was made (names, due time, how late).
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import Kind


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def when_text(value: Any) -> str:
    """11月29日 18:30 (local time)."""
    moment = _moment(value)
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return _("%(month)d/%(day)d %(hour)02d:%(minute)02d") % {
        "month": local.month,
        "day": local.day,
        "hour": local.hour,
        "minute": local.minute,
    }


def duration_text(minutes: Any) -> str:
    """2 小时, 1 天, 30 分钟: the largest whole unit, as people say it."""
    minutes = max(int(minutes or 0), 0)
    if minutes >= 24 * 60:
        days = minutes // (24 * 60)
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if minutes >= 60:
        hours = minutes // 60
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = max(minutes, 1)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _digest_body(data: dict[str, Any]) -> str:
    lines = []
    for section in data.get("sections", []):
        lines.append(
            _(
                "%(unit)s: %(due_soon)d due within 48 hours, %(overdue)d overdue, %(waiting)d waiting for review."
            )
            % section
        )
        for row in section.get("rows", []):
            lines.append(
                _("· %(name)s: due within 48 hours %(due_soon)d, overdue %(overdue)d, waiting %(waiting)d")
                % row
            )
    return "\n".join(lines)


def render(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of a notification in the active language."""
    values = {
        "task": data.get("task_title", ""),
        "unit": data.get("unit_name", ""),
        "parent": data.get("parent_name", ""),
        "reviewer": data.get("reviewer_name", ""),
        "above": data.get("above_name", ""),
        "issuer": data.get("issuer_name", ""),
        "actor": data.get("actor_name", ""),
        "comment": data.get("comment", ""),
        "due": when_text(data.get("due_at")),
        "submitted": when_text(data.get("submitted_at")),
        "left": duration_text(data.get("minutes_left")),
        "late": duration_text(data.get("minutes_late")),
        "waited": duration_text(data.get("minutes_waited")),
        "date": data.get("date", ""),
    }
    if kind == Kind.DUE_SOON:
        title = _("Due soon: “%(task)s”")
        body = _("%(unit)s: “%(task)s” is due %(due)s (%(left)s left). Please finish it and report in time.")
    elif kind == Kind.DUE:
        title = _("Due now: “%(task)s”")
        body = _(
            "%(unit)s: “%(task)s” was due %(due)s and is not finished. Please report as soon as possible."
        )
    elif kind == Kind.OVERDUE:
        title = _("Overdue: “%(task)s”")
        body = _(
            "%(unit)s: “%(task)s” is %(late)s overdue (due %(due)s). Please finish it and report at once."
        )
    elif kind == Kind.ESCALATION:
        title = _("Overdue below you: %(unit)s")
        body = _("%(parent)s: %(unit)s is %(late)s overdue and has not finished “%(task)s” (due %(due)s).")
    elif kind == Kind.REVIEW_WAITING:
        title = _("Report waiting for review: %(unit)s")
        body = _(
            "%(reviewer)s: %(unit)s reported on “%(task)s” at %(submitted)s and has waited %(waited)s for your review."
        )
    elif kind == Kind.REVIEW_ESCALATION:
        title = _("Review delayed below you: %(reviewer)s")
        body = _(
            "%(above)s: the report of %(unit)s on “%(task)s” (%(submitted)s) has waited %(waited)s for %(reviewer)s to review it."
        )
    elif kind == Kind.ASSIGNED:
        title = _("New assignment: “%(task)s”")
        body = _("%(issuer)s assigned “%(task)s” to %(unit)s, due %(due)s.")
    elif kind == Kind.RETURNED:
        title = _("Report returned: “%(task)s”")
        body = _(
            "%(actor)s returned the report of %(unit)s on “%(task)s”: %(comment)s Please correct it and report again by %(due)s."
        )
    elif kind == Kind.APPROVED:
        title = _("Report approved: “%(task)s”")
        body = _("%(actor)s approved the report of %(unit)s on “%(task)s”.")
    elif kind == Kind.URGED:
        title = _("Urged: “%(task)s”")
        if values["comment"]:
            body = _("%(actor)s urges %(unit)s to finish “%(task)s” (due %(due)s): %(comment)s")
        else:
            body = _("%(actor)s urges %(unit)s to finish “%(task)s” (due %(due)s).")
    elif kind == Kind.DIGEST:
        return _("Daily digest, %(date)s") % values, _digest_body(data)
    else:
        return str(kind), ""
    return title % values, body % values


def render_for_push(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """The text pushed by email, SMS and robots: in the deployment's language (Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        return render(kind, data)
