"""Pure presentation: words, colours and dates for what the selectors return. No queries, no rules."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import asin, cos, radians, sin, sqrt
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.exceptions import ValidationFailed
from notifications.messages import render
from notifications.models import Delivery, Kind
from notifications.serializers import masked_webhook as masked_webhook  # the API's partial address
from tasks import requirements as task_requirements
from tasks.models import OPEN_STATUSES, Assignment, PracticeTask, Submission

# Status colours mean the same on every page (STYLE.md, "Pages"): blue submitted, orange due soon,
# red overdue (and returned: both ask the unit to act now), green approved, grey ended.
ASSIGNMENT_TONES: dict[str, str] = {
    Assignment.Status.PENDING: "neutral",
    Assignment.Status.ACCEPTED: "neutral",
    Assignment.Status.SUBMITTED: "blue",
    Assignment.Status.APPROVED: "green",
    Assignment.Status.RETURNED: "red",
    Assignment.Status.CANCELLED: "grey",
    Assignment.Status.CLOSED: "grey",
}
TASK_TONES: dict[str, str] = {
    PracticeTask.Status.DRAFT: "neutral",
    PracticeTask.Status.PUBLISHED: "blue",
    PracticeTask.Status.CLOSED: "grey",
    PracticeTask.Status.CANCELLED: "grey",
}
DECISION_TONES: dict[str, str] = {Submission.Decision.APPROVE: "green", Submission.Decision.RETURN: "red"}
# An open assignment due within this time is shown orange ("due soon").
DUE_SOON = timedelta(hours=48)


@dataclass(frozen=True)
class Badge:
    label: str
    tone: str


def assignment_badge(assignment: Assignment) -> Badge:
    return Badge(str(assignment.get_status_display()), ASSIGNMENT_TONES.get(assignment.status, "neutral"))


def assignment_status_badge(status: str | None) -> Badge | None:
    """The badge of an assignment status given as its value (rows of tasks.selectors.task_progress)."""
    if not status:
        return None
    try:
        label = str(Assignment.Status(status).label)
    except ValueError:
        return None
    return Badge(label, ASSIGNMENT_TONES.get(status, "neutral"))


def task_badge(task: PracticeTask) -> Badge:
    return Badge(str(task.get_status_display()), TASK_TONES.get(task.status, "neutral"))


def decision_badge(submission: Submission) -> Badge | None:
    if not submission.decision:
        return Badge(_("Waiting for review"), "blue")
    return Badge(str(submission.get_decision_display()), DECISION_TONES.get(submission.decision, "neutral"))


def status_badge(value: Any) -> Badge | None:
    if isinstance(value, Assignment):
        return assignment_badge(value)
    if isinstance(value, PracticeTask):
        return task_badge(value)
    if isinstance(value, Submission):
        return decision_badge(value)
    return None


# Dates ---------------------------------------------------------------------------------------------


def short_datetime(value: datetime | None, *, now: datetime | None = None) -> str:
    """11月29日 18:30 (the year only when it is not this year)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now())
    parts = {"year": local.year, "month": local.month, "day": local.day, "time": f"{local:%H:%M}"}
    if local.year != today.year:
        return _("%(year)s/%(month)s/%(day)s %(time)s") % parts
    return _("%(month)s/%(day)s %(time)s") % parts


def short_date(value: datetime | None, *, now: datetime | None = None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now())
    parts = {"year": local.year, "month": local.month, "day": local.day}
    if local.year != today.year:
        return _("%(year)s/%(month)s/%(day)s") % parts
    return _("%(month)s/%(day)s") % parts


@dataclass(frozen=True)
class Countdown:
    text: str
    tone: str  # neutral, orange (due soon) or red (overdue)
    overdue: bool


def _unit_count(delta: timedelta) -> tuple[str, int]:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return "days", seconds // 86400
    if seconds >= 3600:
        return "hours", seconds // 3600
    return "minutes", max(1, seconds // 60)


def countdown(due_at: datetime, *, now: datetime | None = None) -> Countdown:
    """还剩 3 天 / 还剩 5 小时 (orange within DUE_SOON) / 已逾期 2 天 (red)."""
    now = now or timezone.now()
    if due_at < now:
        unit, count = _unit_count(now - due_at)
        if unit == "days":
            text = ngettext("Overdue by %(count)s day", "Overdue by %(count)s days", count)
        elif unit == "hours":
            text = ngettext("Overdue by %(count)s hour", "Overdue by %(count)s hours", count)
        else:
            text = ngettext("Overdue by %(count)s minute", "Overdue by %(count)s minutes", count)
        return Countdown(text % {"count": count}, "red", True)
    unit, count = _unit_count(due_at - now)
    if unit == "days":
        text = ngettext("%(count)s day left", "%(count)s days left", count)
    elif unit == "hours":
        text = ngettext("%(count)s hour left", "%(count)s hours left", count)
    else:
        text = ngettext("%(count)s minute left", "%(count)s minutes left", count)
    return Countdown(text % {"count": count}, "orange" if due_at - now <= DUE_SOON else "neutral", False)


def assignment_countdown(assignment: Assignment, *, now: datetime | None = None) -> Countdown | None:
    """Only open assignments count down; a submitted one waits for its reviewer, not for its due time."""
    if assignment.status not in OPEN_STATUSES or assignment.status == Assignment.Status.SUBMITTED:
        return None
    return countdown(assignment.due_at, now=now)


# Evidence requirements -----------------------------------------------------------------------------


def _photos_wording(least: int, most: int) -> str:
    if most == 0:
        return _("no photos needed")
    if least == 0:
        return ngettext("up to %(max)s photo (optional)", "up to %(max)s photos (optional)", most) % {
            "max": most
        }
    if least == most:
        return ngettext("%(count)s photo", "%(count)s photos", most) % {"count": most}
    return _("at least %(min)s and at most %(max)s photos") % {"min": least, "max": most}


def evidence_wording(requirements: dict[str, Any] | None) -> str:
    """What a report must carry, in plain words: 至少 1 张、最多 3 张照片；填写活动时间、参加人数."""
    try:
        req = task_requirements.evidence_requirements_normalize(requirements or {})
    except ValidationFailed:  # stored before a rule changed: say what we can
        req = task_requirements.evidence_requirements_normalize({})
    most = min(req["max_photos"], task_requirements.max_photos_limit())
    parts = [_photos_wording(req["min_photos"], most)]
    fields = [
        label
        for key, label in (
            ("held_at_required", _("the activity time")),
            ("participants_required", _("the number of participants")),
            ("volunteers_required", _("the number of volunteers")),
            ("volunteer_hours_required", _("the volunteer hours")),
            ("location_required", _("the place")),
        )
        if req[key]
    ]
    if fields:
        parts.append(_("fill in %(fields)s") % {"fields": _(", ").join(str(f) for f in fields)})
    return _("; ").join(parts)


# Places --------------------------------------------------------------------------------------------


def distance_km(photo: Any, unit: Any) -> float | None:
    """How far from the unit's registered position a photo was taken (EXIF GPS), when both are known."""
    if None in (photo.latitude, photo.longitude, unit.latitude, unit.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(
        radians, map(float, (photo.latitude, photo.longitude, unit.latitude, unit.longitude))
    )
    a = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return round(2 * 6371.0 * asin(sqrt(a)), 1)


def percent(rate: float | None) -> int | None:
    return None if rate is None else round(rate * 100)


@dataclass(frozen=True)
class Change:
    """A change of place against the previous period: an arrow, a colour and the words (never the
    colour alone)."""

    arrow: str
    text: str
    tone: str


def rank_change(places: int | None) -> Change:
    if places is None:
        return Change("·", _("New in the ranking"), "grey")
    if places > 0:
        return Change("↑", ngettext("Up %(n)s place", "Up %(n)s places", places) % {"n": places}, "green")
    if places < 0:
        return Change("↓", ngettext("Down %(n)s place", "Down %(n)s places", -places) % {"n": -places}, "red")
    return Change("→", _("Same place"), "grey")


def score_text(value: Any) -> str:
    """10.00 → 10, 9.50 → 9.5, −2 with the printed minus sign (as the score reasons write it)."""
    from scoring.explain import number

    return number(value) if value is not None else "—"


def signed_score(value: Any) -> str:
    from scoring.explain import signed

    return signed(value) if value is not None else ""


# Notifications -------------------------------------------------------------------------------------


def relative_datetime(value: datetime | None, *, now: datetime | None = None) -> str:
    """刚刚 / 5 分钟前 / 3 小时前 within a day, else 11月29日 18:30."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = int((now - value).total_seconds())
    if seconds < 0 or seconds >= 86400:
        return short_datetime(value, now=now)
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        minutes = seconds // 60
        return ngettext("%(count)s minute ago", "%(count)s minutes ago", minutes) % {"count": minutes}
    hours = seconds // 3600
    return ngettext("%(count)s hour ago", "%(count)s hours ago", hours) % {"count": hours}


def notification_target(notification: Any) -> str:
    """The page where the person acts on a notification: a report waiting for them opens the review
    desk, a delayed review below them the task's progress, the digest their home, anything else about
    an assignment (their own unit's, or an overdue one below them, which they urge) its page."""
    if notification.kind == Kind.REVIEW_WAITING and notification.assignment_id:
        return reverse("web:review", args=[notification.assignment_id])
    if notification.kind == Kind.REVIEW_ESCALATION and notification.task_id:
        return reverse("web:task_detail", args=[notification.task_id])
    if notification.assignment_id:
        return reverse("web:assignment_detail", args=[notification.assignment_id])
    if notification.task_id:
        return reverse("web:task_detail", args=[notification.task_id])
    return reverse("web:home")


# What each kind looks like in the list: deadlines passed and returned reports red (act now), due soon
# orange, a report waiting blue, approval green, the rest neutral (STYLE.md's colours).
NOTIFICATION_TONES: dict[str, str] = {
    Kind.DUE_SOON: "orange",
    Kind.DUE: "red",
    Kind.OVERDUE: "red",
    Kind.ESCALATION: "red",
    Kind.REVIEW_WAITING: "blue",
    Kind.REVIEW_ESCALATION: "orange",
    Kind.ASSIGNED: "neutral",
    Kind.RETURNED: "red",
    Kind.APPROVED: "green",
    Kind.URGED: "orange",
    Kind.DIGEST: "grey",
}

DELIVERY_TONES: dict[str, str] = {
    Delivery.Status.PENDING: "blue",
    Delivery.Status.SENDING: "blue",
    Delivery.Status.HELD: "grey",
    Delivery.Status.RETRYING: "orange",
    Delivery.Status.SENT: "green",
    Delivery.Status.FAILED: "red",
}


@dataclass(frozen=True)
class NoticeRow:
    id: int
    title: str
    body: str
    kind: Badge
    created_at: datetime
    when: str
    unread: bool


def notice_row(notification: Any, *, now: datetime | None = None) -> NoticeRow:
    title, body = render(notification.kind, notification.data)
    return NoticeRow(
        id=notification.pk,
        title=title,
        body=body,
        kind=Badge(
            str(notification.get_kind_display()), NOTIFICATION_TONES.get(notification.kind, "neutral")
        ),
        created_at=notification.created_at,
        when=relative_datetime(notification.created_at, now=now),
        unread=notification.read_at is None,
    )


def delivery_badge(delivery: Any) -> Badge:
    return Badge(str(delivery.get_status_display()), DELIVERY_TONES.get(delivery.status, "neutral"))


def delivery_next(delivery: Any) -> str:
    """When a push waiting for the quiet hours to end, or for its next try, goes out."""
    moment = short_datetime(delivery.next_attempt_at)
    if delivery.status == Delivery.Status.HELD:
        return _("goes out %(time)s") % {"time": moment}
    if delivery.status == Delivery.Status.RETRYING:
        return _("next try %(time)s") % {"time": moment}
    return ""


def quiet_hours_wording(window: str) -> str:
    """ "22:00-07:00" in plain words, or that there are none."""
    if not window:
        return _(
            "This deployment has no quiet hours: email, SMS and group messages go out at any time of day."
        )
    start, end = window.split("-", 1)
    if start > end:
        text = _(
            "Every day from %(start)s to %(end)s the next morning, email, SMS and group messages wait and go "
            "out at %(end)s; notifications in the app appear at once."
        )
    else:
        text = _(
            "Every day from %(start)s to %(end)s, email, SMS and group messages wait and go out at %(end)s; "
            "notifications in the app appear at once."
        )
    return text % {"start": start, "end": end}


def notification_title(kind: str, data: dict[str, Any]) -> str:
    return render(kind, data)[0]
