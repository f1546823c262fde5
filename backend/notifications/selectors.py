"""Reads, each taking the acting user and applying the access rule (orgs.scope)."""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from notifications import schedule
from notifications.models import (
    DEFAULT_CHANNELS,
    PERSONAL_CHANNELS,
    ChannelPreference,
    Delivery,
    Kind,
    Notification,
    ReminderPlan,
    Robot,
)
from notifications.notices import push_channels
from notifications.policies import ADMINISTER
from orgs.models import OrgUnit, User
from orgs.scope import Grants, units_for
from tasks import selectors as task_selectors
from tasks.models import PracticeTask


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise NotFound(_("Not found, or you do not have access to it.")) from exc


# The person's own notifications -------------------------------------------------------------------


def notification_list(
    *, user: User, unread: bool | None = None, kind: str | None = None
) -> QuerySet[Notification]:
    """The user's own notifications, newest first (nobody reads another person's)."""
    rows = Notification.objects.filter(recipient_id=user.pk)
    if unread is True:
        rows = rows.filter(read_at__isnull=True)
    elif unread is False:
        rows = rows.filter(read_at__isnull=False)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def notification_get(*, user: User, notification_id: Any) -> Notification:
    try:
        return Notification.objects.get(recipient_id=user.pk, pk=_int(notification_id))
    except Notification.DoesNotExist as exc:
        raise NotFound(_("Notification not found.")) from exc


def preferences_of(*, user: User) -> dict[str, Any]:
    """Which kinds reach the user by which push channel: their choices over the defaults."""
    chosen = {
        (row.kind, row.channel): row.enabled for row in ChannelPreference.objects.filter(user_id=user.pk)
    }
    available = push_channels()
    return {
        "channels": [
            {"channel": channel, "available": channel in available} for channel in PERSONAL_CHANNELS
        ],
        "kinds": [
            {
                "kind": kind,
                "app": True,
                **{
                    channel: chosen.get((kind, channel), kind in DEFAULT_CHANNELS[channel])
                    for channel in PERSONAL_CHANNELS
                },
            }
            for kind in Kind.values
        ],
        "email": user.email,
        "mobile": user.mobile or "",
        "quiet_hours": _quiet_text(),
    }


def _quiet_text() -> str:
    window = schedule.quiet_window()
    return f"{window[0]:%H:%M}-{window[1]:%H:%M}" if window else ""


# Unit configuration (administrators) --------------------------------------------------------------


def robot_units(*, user: User) -> QuerySet[OrgUnit]:
    """The units whose group robots and delivery records the user keeps (those they administer)."""
    return units_for(user, ADMINISTER).order_by("tree_id", "lft")


def robot_list(*, user: User, unit_id: Any = None) -> QuerySet[Robot]:
    """The robots of the units the user administers (their subtrees)."""
    rows = Robot.objects.filter(Grants.of(user).unit_q(ADMINISTER, "unit")).select_related("unit")
    if unit_id not in (None, ""):
        rows = rows.filter(unit_id=_int(unit_id))
    return rows.order_by("unit__lft", "id")


def robot_get(*, user: User, robot_id: Any) -> Robot:
    try:
        return robot_list(user=user).get(pk=_int(robot_id))
    except Robot.DoesNotExist as exc:
        raise NotFound(_("Group robot not found, or you do not have access to it.")) from exc


def delivery_list(*, user: User) -> QuerySet[Delivery]:
    """Push records of the units the user administers (their subtrees), newest first."""
    return (
        Delivery.objects.filter(Grants.of(user).unit_q(ADMINISTER, "unit"))
        .select_related("unit", "recipient", "robot")
        .order_by("-created_at", "-id")
    )


# A task's reminders ------------------------------------------------------------------------------


def reminder_plan_of(*, user: User, task_id: Any) -> tuple[PracticeTask, ReminderPlan | None]:
    task = task_selectors.task_get(user=user, task_id=task_id)
    return task, ReminderPlan.objects.filter(task=task).first()
