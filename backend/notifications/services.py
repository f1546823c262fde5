"""Writes: reading notifications, choosing channels, group robots, a task's reminder offsets.

The scan, the workflow moments, the digest and the pushes are in reminders.py, handlers.py,
digest.py and deliveries.py; this module holds what a person does through the API.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from notifications import policies, schedule
from notifications.channels import ChannelError
from notifications.channels.robots import host_allowed, send_robot
from notifications.models import (
    DEFAULT_ROBOT_KINDS,
    PERSONAL_CHANNELS,
    ChannelPreference,
    Kind,
    Notification,
    ReminderPlan,
    Robot,
)
from orgs.models import OrgUnit, User
from orgs.scope import Grants
from tasks.models import PracticeTask
from tasks.policies import require

# Reminders at most this long before the due time (a task runs for months at most).
MAX_OFFSET_HOURS = 90 * 24
MAX_OFFSETS = 10
ROBOT_KINDS = [kind for kind in Kind.values if kind != Kind.DIGEST]  # a digest is one person's


# Reading ---------------------------------------------------------------------------------------


def notification_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's notifications read (again: nothing changes)."""
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_read_all(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# Channel preferences -----------------------------------------------------------------------------


@transaction.atomic
def preferences_update(*, user: User, changes: Any) -> None:
    """{kind: {channel: true/false}} for the push channels; the app always shows everything."""
    errors: dict[str, list[str]] = {}
    rows: list[ChannelPreference] = []
    if not isinstance(changes, dict):
        raise ValidationFailed(
            _("Send the choices as {kind: {channel: true or false}}."),
            {"preferences": [_("Expected an object.")]},
        )
    for kind, channels in changes.items():
        if kind not in Kind.values:
            errors[str(kind)] = [_("Unknown kind of notification.")]
            continue
        if not isinstance(channels, dict):
            errors[kind] = [_("Expected {channel: true or false}.")]
            continue
        for channel, enabled in channels.items():
            if channel == "app":
                if enabled is not True:
                    errors[f"{kind}.app"] = [_("Notifications always appear in the app.")]
            elif channel not in PERSONAL_CHANNELS:
                errors[f"{kind}.{channel}"] = [_("Unknown channel; choose email or sms.")]
            elif not isinstance(enabled, bool):
                errors[f"{kind}.{channel}"] = [_("Must be true or false.")]
            else:
                rows.append(ChannelPreference(user=user, kind=kind, channel=channel, enabled=enabled))
    if errors:
        raise ValidationFailed(_("The choices could not be saved"), errors)
    ChannelPreference.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled"],
    )


# Group robots ------------------------------------------------------------------------------------


def _robot_errors(values: dict[str, Any], *, creating: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if creating:
        for field in ("unit", "name", "platform", "webhook_url"):
            if not values.get(field):
                errors[field] = [_("This field is required.")]
    if "name" in values and not str(values["name"] or "").strip():
        errors["name"] = [_("Give the robot a name, e.g. the group's name.")]
    if values.get("platform") and values["platform"] not in Robot.Platform.values:
        errors["platform"] = [_("Choose wecom, dingtalk or feishu.")]
    url = values.get("webhook_url")
    if url and not str(url).startswith(("https://", "http://")):
        errors["webhook_url"] = [_("Paste the webhook address the group's robot settings show (https://…).")]
    elif url and not host_allowed(str(url)):
        errors["webhook_url"] = [
            _("Use the webhook address of a WeCom, DingTalk or Feishu/Lark group robot (on %(hosts)s).")
            % {"hosts": ", ".join(settings.NOTIFICATIONS_ROBOT_HOSTS)}
        ]
    kinds = values.get("kinds")
    if kinds is not None:
        unknown = [kind for kind in kinds if kind not in ROBOT_KINDS]
        if unknown:
            errors["kinds"] = [
                _("Unknown or personal kinds: %(kinds)s.") % {"kinds": ", ".join(map(str, unknown))}
            ]
    return errors


@transaction.atomic
def robot_create(*, actor: User, unit: OrgUnit, **values: Any) -> Robot:
    unit = OrgUnit.objects.get(pk=unit.pk)  # current tree numbers for the check below
    require(policies.robot_manage_refusal(Grants.of(actor), unit))
    errors = _robot_errors({"unit": unit, **values}, creating=True)
    if errors:
        raise ValidationFailed(_("The group robot could not be saved"), errors)
    kinds = values.get("kinds")
    return Robot.objects.create(
        unit=unit,
        name=values["name"].strip(),
        platform=values["platform"],
        webhook_url=values["webhook_url"],
        secret=values.get("secret") or "",
        kinds=list(dict.fromkeys(kinds)) if kinds is not None else list(DEFAULT_ROBOT_KINDS),
        is_active=values.get("is_active", True),
        created_by=actor,
    )


@transaction.atomic
def robot_update(*, actor: User, robot: Robot, **values: Any) -> Robot:
    require(policies.robot_manage_refusal(Grants.of(actor), robot.unit))
    errors = _robot_errors(values, creating=False)
    if errors:
        raise ValidationFailed(_("The group robot could not be saved"), errors)
    for field in ("name", "platform", "webhook_url", "secret", "kinds", "is_active"):
        if field in values:
            value = values[field]
            if field == "name":
                value = value.strip()
            if field == "kinds":
                value = list(dict.fromkeys(value))
            setattr(robot, field, value)
    robot.save()
    return robot


@transaction.atomic
def robot_delete(*, actor: User, robot: Robot) -> None:
    require(policies.robot_manage_refusal(Grants.of(actor), robot.unit))
    robot.delete()


def robot_test(*, actor: User, robot: Robot) -> dict[str, Any]:
    """Post a test message now (quiet hours do not apply: an administrator is watching)."""
    require(policies.robot_manage_refusal(Grants.of(actor), robot.unit))
    text = _("Chuanxi test message: notifications of %(unit)s will arrive in this group.") % {
        "unit": robot.unit.name
    }
    try:
        send_robot(platform=robot.platform, url=robot.webhook_url, secret=robot.secret, text=text)
    except ChannelError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "error": ""}


# A task's reminder offsets ------------------------------------------------------------------------


@transaction.atomic
def reminder_plan_set(*, actor: User, task: PracticeTask, hours: list[Any] | None) -> ReminderPlan | None:
    """The task's own offsets before its due time (hours); None returns to the deployment's."""
    require(policies.reminder_plan_refusal(Grants.of(actor), task))
    if hours is None:
        ReminderPlan.objects.filter(task=task).delete()
        return None
    errors = []
    if len(hours) > MAX_OFFSETS:
        errors.append(_("At most %(count)d reminders before the due time.") % {"count": MAX_OFFSETS})
    for value in hours:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_OFFSET_HOURS:
            errors.append(
                _("Each offset is a number of hours above 0 and at most %(max)d.") % {"max": MAX_OFFSET_HOURS}
            )
            break
    if errors:
        raise ValidationFailed(_("The reminders could not be saved"), {"before_due_hours": errors})
    plan, _created = ReminderPlan.objects.update_or_create(
        task=task, defaults={"offsets": schedule.minutes_of_hours(hours), "updated_by": actor}
    )
    return plan
