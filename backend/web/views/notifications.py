"""通知 (the bell and the list), 通知设置 (channels per kind), and for a unit's administrators 群机器人
(group robots) and 发送记录 (delivery records). Every read and write goes through notifications'
selectors and services; the policy there decides who may, and out of scope is a 404."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.exceptions import ApplicationError, NotFound, ValidationFailed
from notifications import selectors, services
from notifications.models import DEFAULT_ROBOT_KINDS, PERSONAL_CHANNELS, Channel, Delivery, Kind, Robot
from notifications.serializers import RobotInputSerializer, RobotUpdateSerializer
from notifications.services import ROBOT_KINDS
from orgs import selectors as org_selectors
from orgs.models import OrgUnit, User
from web import presenters
from web.views.base import done, page, paginate, render_form, render_page

# The bell ------------------------------------------------------------------------------------------


def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, which the header polls every minute (an open page learns of a new reminder).
    Logged out meanwhile: 286 tells htmx to stop polling, and the bell goes away."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)
    count = selectors.unread_count(user=request.user)  # type: ignore[arg-type]
    return render(request, "web/partials/bell.html", {"bell_count": count})


# 通知 -------------------------------------------------------------------------------------------


@page
def notification_list(request: HttpRequest) -> HttpResponse:
    """The person's own notifications, newest first: 未读 or 全部, and one kind if chosen."""
    user: User = request.user  # type: ignore[assignment]
    show = "unread" if request.GET.get("show") == "unread" else "all"
    kind = request.GET.get("kind") or ""
    if kind not in Kind.values:
        kind = ""
    rows = selectors.notification_list(
        user=user, unread=True if show == "unread" else None, kind=kind or None
    )
    page_obj = paginate(request, rows)
    page_obj.object_list = [presenters.notice_row(row) for row in page_obj.object_list]
    unread = selectors.unread_count(user=user)
    context = {
        "page_obj": page_obj,
        "show": show,
        "kind": kind,
        "kinds": Kind.choices,
        "bell_count": unread,  # the header's bell reads it instead of counting again
    }
    return render_page(request, "web/notifications.html", context)


@page
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Following a notification marks it read and opens the page where the person acts on it.
    A link, not a form: it opens in a new tab like any link, and marking one's own notification read
    twice changes nothing; nobody else's can be named (404)."""
    user: User = request.user  # type: ignore[assignment]
    notification = selectors.notification_get(user=user, notification_id=notification_id)
    services.notification_read(user=user, notification=notification)
    return redirect(presenters.notification_target(notification))


@require_POST
@page
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_read_all(user=request.user)  # type: ignore[arg-type]
    message = _("All notifications marked read.") if count else _("Nothing was unread.")
    return done(request, reverse("web:notifications"), message)


# 通知设置 ----------------------------------------------------------------------------------------


@page
def notification_settings(request: HttpRequest) -> HttpResponse:
    """For each kind, whether it also comes by email and by SMS; the app always shows everything.
    Only the channels this deployment has are offered; the others are left as they are."""
    user: User = request.user  # type: ignore[assignment]
    error: ApplicationError | None = None
    if request.method == "POST":
        offered = [c["channel"] for c in selectors.preferences_of(user=user)["channels"] if c["available"]]
        changes = {
            kind: {channel: f"{kind}.{channel}" in request.POST for channel in offered}
            for kind in Kind.values
        }
        try:
            services.preferences_update(user=user, changes=changes)
        except ApplicationError as exc:
            error = exc
        else:
            return done(request, reverse("web:notification_settings"), _("Your choices have been saved."))
    preferences = selectors.preferences_of(user=user)
    available = {c["channel"] for c in preferences["channels"] if c["available"]}
    labels = dict(Kind.choices)
    context = {
        "channels": [
            {"value": channel, "label": Channel(channel).label, "available": channel in available}
            for channel in PERSONAL_CHANNELS
        ],
        "rows": [
            {
                "kind": row["kind"],
                "label": labels[row["kind"]],
                "cells": [
                    {"channel": channel, "on": row[channel], "available": channel in available}
                    for channel in PERSONAL_CHANNELS
                ],
            }
            for row in preferences["kinds"]
        ],
        "can_choose": bool(available),  # nothing to save where the deployment sends neither
        "email": preferences["email"],
        "mobile": preferences["mobile"],
        "quiet_hours": presenters.quiet_hours_wording(preferences["quiet_hours"]),
        "administers": selectors.robot_units(user=user).exists(),
    }
    template, partial = "web/notification_settings.html", "web/partials/notification_settings_form.html"
    return render_form(request, template, partial, context, exc=error)


# 群机器人 (administrators) -------------------------------------------------------------------------


def _administered(request: HttpRequest) -> list[OrgUnit]:
    """The units whose robots and records the person keeps; none: these pages are not theirs (404)."""
    units = list(selectors.robot_units(user=request.user))  # type: ignore[arg-type]
    if not units:
        raise NotFound(_("Not found, or you do not have access to it."))
    return units


@page
def robot_list(request: HttpRequest) -> HttpResponse:
    _administered(request)
    robots = list(selectors.robot_list(user=request.user))  # type: ignore[arg-type]
    return render_page(request, "web/robots.html", {"robots": [_robot_row(robot) for robot in robots]})


def _robot_row(robot: Robot) -> dict[str, Any]:
    return {
        "robot": robot,
        "webhook": presenters.masked_webhook(robot.webhook_url),
        "kinds": [str(Kind(kind).label) for kind in robot.kinds if kind in Kind.values],
    }


def _robot_context(request: HttpRequest, units: list[OrgUnit], robot: Robot | None) -> dict[str, Any]:
    if request.method == "POST":
        chosen = request.POST.getlist("kinds")
    else:
        chosen = robot.kinds if robot is not None else [str(kind) for kind in DEFAULT_ROBOT_KINDS]
    return {
        "units": units,
        "robot": robot,
        "platforms": Robot.Platform.choices,
        "robot_kinds": [(kind, Kind(kind).label) for kind in ROBOT_KINDS],
        "chosen_kinds": chosen,
        "webhook": presenters.masked_webhook(robot.webhook_url) if robot is not None else "",
    }


def _robot_fields(request: HttpRequest, *, creating: bool) -> dict[str, Any]:
    """The form's fields in the API's input shape; on a change, an empty address or secret keeps the
    stored one (neither is ever shown back whole)."""
    post = request.POST
    data: dict[str, Any] = {
        "name": (post.get("name") or "").strip(),
        "platform": post.get("platform") or "",
        "kinds": post.getlist("kinds"),
    }
    webhook_url = (post.get("webhook_url") or "").strip()
    if creating or webhook_url:
        data["webhook_url"] = webhook_url
    secret = (post.get("secret") or "").strip()
    if post.get("clear_secret"):
        data["secret"] = ""
    elif creating or secret:
        data["secret"] = secret
    if creating:
        data["unit"] = post.get("unit") or None
    else:
        data["is_active"] = bool(post.get("is_active"))
    return data


@page
def robot_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    units = _administered(request)
    context = _robot_context(request, units, None)
    template, partial = "web/robot_form.html", "web/partials/robot_form.html"
    if request.method != "POST":
        return render_form(request, template, partial, context)
    try:
        values, errors = RobotInputSerializer.parse(_robot_fields(request, creating=True))
        if errors:
            raise ValidationFailed(_("The group robot could not be saved"), errors)
        unit = org_selectors.unit_get(user=user, unit_id=values.pop("unit"))
        robot = services.robot_create(actor=user, unit=unit, **values)
    except NotFound:
        refused = ValidationFailed(
            _("The group robot could not be saved"),
            {"unit": [_("Unit not found, or you do not have access to it.")]},
        )
        return render_form(request, template, partial, context, exc=refused)
    except ApplicationError as exc:
        return render_form(request, template, partial, context, exc=exc)
    return done(request, reverse("web:robots"), _("%(name)s has been added.") % {"name": robot.name})


@page
def robot_edit(request: HttpRequest, robot_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    robot = selectors.robot_get(user=user, robot_id=robot_id)
    context = _robot_context(request, [robot.unit], robot)
    template, partial = "web/robot_form.html", "web/partials/robot_form.html"
    if request.method != "POST":
        return render_form(request, template, partial, context)
    try:
        values, errors = RobotUpdateSerializer.parse(_robot_fields(request, creating=False))
        if errors:
            raise ValidationFailed(_("The group robot could not be saved"), errors)
        robot = services.robot_update(actor=user, robot=robot, **values)
    except ApplicationError as exc:
        return render_form(request, template, partial, context, exc=exc)
    return done(request, reverse("web:robots"), _("%(name)s has been saved.") % {"name": robot.name})


@require_POST
@page
def robot_active(request: HttpRequest, robot_id: int) -> HttpResponse:
    """停用 / 启用: a disabled robot posts nothing until enabled again."""
    user: User = request.user  # type: ignore[assignment]
    robot = selectors.robot_get(user=user, robot_id=robot_id)
    active = request.POST.get("active") == "1"
    robot = services.robot_update(actor=user, robot=robot, is_active=active)
    message = _("%(name)s is enabled.") if active else _("%(name)s is disabled.")
    return done(request, reverse("web:robots"), message % {"name": robot.name})


@require_POST
@page
def robot_test(request: HttpRequest, robot_id: int) -> HttpResponse:
    """发送测试消息 now; the outcome (sent, or the platform's or network's error) shown in place."""
    user: User = request.user  # type: ignore[assignment]
    robot = selectors.robot_get(user=user, robot_id=robot_id)
    result = services.robot_test(actor=user, robot=robot)
    context = {"robot": robot, "result": result}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "web/partials/robot_test_result.html", context)
    return render_page(
        request,
        "web/robots.html",
        {"robots": [_robot_row(row) for row in selectors.robot_list(user=user)], "tested": context},
    )


# 发送记录 (administrators) -------------------------------------------------------------------------


@page
def delivery_list(request: HttpRequest) -> HttpResponse:
    """Pushes to the people and groups of the units the person administers: sent, held, failed."""
    _administered(request)
    status = request.GET.get("status") or ""
    rows = selectors.delivery_list(user=request.user)  # type: ignore[arg-type]
    if status in Delivery.Status.values:
        rows = rows.filter(status=status)
    else:
        status = ""
    page_obj = paginate(request, rows)
    page_obj.object_list = [
        {
            "delivery": row,
            "badge": presenters.delivery_badge(row),
            "title": presenters.notification_title(row.kind, row.data),
            "when": presenters.short_datetime(row.created_at),
            "next": presenters.delivery_next(row),
        }
        for row in page_obj.object_list
    ]
    context = {"page_obj": page_obj, "status": status, "statuses": Delivery.Status.choices}
    return render_page(request, "web/deliveries.html", context)
