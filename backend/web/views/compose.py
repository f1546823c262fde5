"""Composing and steering a task: new (saved as a draft), edit, 发布 after a confirmation naming how
many units receive it, 撤销 (cancel) and 结束 (close), and the live count of the chosen targets.

The form's fields become the API's input shape (tasks.serializers.TaskCreateSerializer /
TaskUpdateSerializer) and go to the same services; a date alone means the end of that day.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from common.exceptions import ApplicationError, NotFound, ValidationFailed
from orgs import selectors as org_selectors
from orgs.models import Level, OrgUnit, User
from orgs.scope import Grants
from tasks import policies, requirements, selectors, services
from tasks.models import OPEN_STATUSES, PracticeTask
from tasks.serializers import TaskCreateSerializer, TaskEndSerializer, TaskUpdateSerializer
from tasks.services.shared import merge_errors
from web.views.base import done, moment_field, page, render_form, request_workspaces

FORM_TEMPLATE, FORM_PARTIAL = "web/task_form.html", "web/partials/task_form.html"
FLAGS = (
    "held_at_required",
    "participants_required",
    "volunteers_required",
    "volunteer_hours_required",
    "location_required",
    "all_delegated_required",
)


def _int_or_raw(value: str | None) -> Any:
    value = (value or "").strip()
    return int(value) if value.isdigit() else (value or None)


def requirements_from(post: QueryDict) -> dict[str, Any]:
    chosen: dict[str, Any] = {flag: post.get(flag) == "on" for flag in FLAGS}
    for name in ("min_photos", "max_photos"):
        chosen[name] = _int_or_raw(post.get(name))
    return chosen


def targets_from(post: QueryDict, issuer_id: int | None) -> list[dict[str, Any]]:
    """The tree picker: the whole unit by level, or chosen units (streets and communities)."""
    scope = post.get("scope") or "level"
    if scope == "level" and issuer_id is not None:
        return [{"unit": issuer_id, "level": post.get("level") or "community"}]
    return [{"unit": int(pk)} for pk in post.getlist("units") if pk.isdigit()]


def _issuing_units(request: HttpRequest) -> list[OrgUnit]:
    """Units above the communities where the person may issue tasks (navigation only: the service
    decides, and refuses with its own message)."""
    grants = Grants.of_request(request)
    return [
        w.unit
        for w in request_workspaces(request)
        if w.unit.level < Level.COMMUNITY and policies.task_issue_refusal(grants, w.unit) is None
    ]


def _tree(request: HttpRequest, issuer: OrgUnit) -> list[dict[str, Any]]:
    """The units below the issuer for the picker: each street with its communities (one query)."""
    rows = list(
        org_selectors.unit_list(user=request.user)  # type: ignore[arg-type]
        .filter(tree_id=issuer.tree_id, lft__gt=issuer.lft, rght__lt=issuer.rght, is_active=True)
        .order_by("lft")
        .only("id", "name", "code", "level", "parent_id")
    )
    streets: dict[int, dict[str, Any]] = {}
    tree: list[dict[str, Any]] = []
    for unit in rows:
        if unit.parent_id == issuer.pk:
            streets[unit.pk] = {"unit": unit, "children": []}
            tree.append(streets[unit.pk])
        elif unit.parent_id in streets:
            streets[unit.parent_id]["children"].append(unit)
    return tree


def _form_context(request: HttpRequest, issuer: OrgUnit, task: PracticeTask | None) -> dict[str, Any]:
    chosen = {int(pk) for pk in request.POST.getlist("units") if pk.isdigit()}
    if task is not None and request.method != "POST":
        chosen = {t["unit"] for t in task.targets or [] if not t.get("level")}
    evidence = requirements.evidence_requirements_normalize(task.evidence_requirements if task else {})
    level_target = next((t for t in (task.targets or []) if t.get("level")), None) if task else None
    return {
        "issuer": issuer,
        "issuers": _issuing_units(request),
        "task": task,
        "locked": task is not None and task.status != PracticeTask.Status.DRAFT,
        "categories": list(selectors.category_list(user=request.user)),  # type: ignore[arg-type]
        "tree": _tree(request, issuer),
        "chosen": chosen,
        "evidence": evidence,
        "max_photos_limit": requirements.max_photos_limit(),
        "evidence_flags": [
            ("held_at_required", _("the activity time")),
            ("location_required", _("the place")),
            ("participants_required", _("the number of participants")),
            ("volunteers_required", _("the number of volunteers")),
            ("volunteer_hours_required", _("the volunteer hours")),
            ("all_delegated_required", _("a street reports only when all its communities are approved")),
        ],
        "level_target": level_target,
        # A new task goes to the whole unit by level; a saved one as it was saved.
        "initial_scope": "units" if task is not None and task.targets and level_target is None else "level",
        "initial_level": (level_target or {}).get("level") or "community",
        "initial_points": task.points if task is not None else 10,
    }


def _issuer(request: HttpRequest) -> OrgUnit:
    raw = request.POST.get("issuer_unit") or request.GET.get("unit")
    issuers = _issuing_units(request)
    if raw:
        return org_selectors.unit_get(user=request.user, unit_id=raw)  # type: ignore[arg-type]
    if not issuers:
        raise NotFound(_("You do not issue tasks at any of your units."))
    return issuers[0]


def _fields(request: HttpRequest, issuer: OrgUnit) -> dict[str, Any]:
    post = request.POST
    data: dict[str, Any] = {
        "title": (post.get("title") or "").strip(),
        "description": post.get("description") or "",
        "category": _int_or_raw(post.get("category")),
        "starts_at": moment_field(post, "starts"),
        "due_at": moment_field(post, "due"),
        "points": _int_or_raw(post.get("points")) if post.get("points") not in (None, "") else 10,
        "evidence_requirements": requirements_from(post),
        "targets": targets_from(post, issuer.pk),
    }
    return data


def _attach(request: HttpRequest, task: PracticeTask) -> list[str]:
    """The notice files chosen with the form; each refused one is named (the task is kept)."""
    problems = []
    for upload in request.FILES.getlist("attachments"):
        try:
            services.task_attachment_add(actor=request.user, task=task, file=upload)  # type: ignore[arg-type]
        except ApplicationError as exc:
            problems.append(f"{upload.name}: {exc.message}")
    return problems


def _saved(request: HttpRequest, task: PracticeTask, message: str, problems: list[str]) -> HttpResponse:
    for problem in problems:
        messages.error(request, _("Attachment not added: %(problem)s") % {"problem": problem})
    return done(request, reverse("web:task_detail", args=[task.pk]), message)


@page
def task_new(request: HttpRequest) -> HttpResponse:
    """A new task, saved as a draft (发布 is a step of its own, after a confirmation)."""
    issuer = _issuer(request)
    context = _form_context(request, issuer, None)
    if request.method != "POST":
        return render_form(request, FORM_TEMPLATE, FORM_PARTIAL, context, active="tasks")
    user: User = request.user  # type: ignore[assignment]
    try:
        values, errors = TaskCreateSerializer.parse({**_fields(request, issuer), "issuer_unit": issuer.pk})
        values.pop("issuer_unit", None)
        if errors:
            merge_errors(errors, services.task_create_errors(actor=user, issuer_unit=issuer, **values)[1])
            raise services.invalid(_("The task could not be saved"), errors)
        task = services.task_create(actor=user, issuer_unit=issuer, **values)
    except ApplicationError as exc:
        return render_form(request, FORM_TEMPLATE, FORM_PARTIAL, context, exc=exc, active="tasks")
    return _saved(request, task, _("Saved as a draft. Check it, then publish it."), _attach(request, task))


@page
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    """Edit: a draft entirely; a published task its text and due time (the service says what not)."""
    user: User = request.user  # type: ignore[assignment]
    task = selectors.task_get(user=user, task_id=task_id)
    context = _form_context(request, task.issuer_unit, task)
    if request.method != "POST":
        policies.require(policies.task_edit_refusal(Grants.of_request(request), task))
        return render_form(request, FORM_TEMPLATE, FORM_PARTIAL, context, active="tasks")
    fields = _fields(request, task.issuer_unit)
    if task.status != PracticeTask.Status.DRAFT:  # what may still change once it is out
        fields = {key: fields[key] for key in ("title", "description", "due_at")}
    try:
        values, errors = TaskUpdateSerializer.parse(fields, partial=True)
        if errors:
            raise services.invalid(_("The task could not be saved"), errors)
        services.task_update(actor=user, task=task, data=values)
    except ApplicationError as exc:
        return render_form(request, FORM_TEMPLATE, FORM_PARTIAL, context, exc=exc, active="tasks")
    return _saved(request, task, _("The task has been saved."), _attach(request, task))


@require_GET
@page
def target_count(request: HttpRequest) -> HttpResponse:
    """How many units the chosen targets reach (the form asks as they change): one statement."""
    issuer_id = _int_or_raw(request.GET.get("issuer_unit"))
    try:
        count = selectors.target_count(
            user=request.user,  # type: ignore[arg-type]
            issuer_unit_id=issuer_id,
            targets=targets_from(request.GET, issuer_id if isinstance(issuer_id, int) else None),
        )
    except ApplicationError as exc:
        return render(request, "web/partials/target_count.html", {"error": str(exc.message)})
    return render(request, "web/partials/target_count.html", {"count": count})


# 发布, 撤销, 结束 ------------------------------------------------------------------------------------


def _step_context(request: HttpRequest, task: PracticeTask, step: str) -> dict[str, Any]:
    task.actions = policies.task_actions(Grants.of_request(request), task)  # type: ignore[attr-defined]
    context: dict[str, Any] = {"task": task, "step": step}
    if step == "publish":
        context["count"] = selectors.target_count(
            user=request.user,  # type: ignore[arg-type]
            issuer_unit_id=task.issuer_unit_id,
            targets=task.targets,
            task_id=task.pk,
        )
    else:
        context["open_count"] = task.assignments.filter(status__in=OPEN_STATUSES).count()
    return context


_STEP_REFUSALS = {
    "publish": policies.task_publish_refusal,
    "cancel": policies.task_cancel_refusal,
    "close": policies.task_close_refusal,
}


def _task_step(request: HttpRequest, task_id: int, step: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    task = selectors.task_get(user=user, task_id=task_id)
    template, partial = "web/task_step.html", "web/partials/task_step_form.html"
    context = _step_context(request, task, step)
    if request.method != "POST":
        policies.require(_STEP_REFUSALS[step](Grants.of_request(request), task))
        return render_form(request, template, partial, context, active="tasks")
    try:
        if step == "publish":
            result = services.task_publish(actor=user, task=task)
            message = ngettext(
                "Published: sent to %(count)s unit.", "Published: sent to %(count)s units.", result.created
            ) % {"count": result.created}
        else:
            values, errors = TaskEndSerializer.parse({"reason": request.POST.get("reason", "")})
            if errors:
                raise ValidationFailed(_("The reason could not be read."), errors)
            service = services.task_cancel if step == "cancel" else services.task_close
            ended = service(actor=user, task=task, **values).ended
            text = (
                ngettext(
                    "Cancelled; %(count)s open assignment ended.",
                    "Cancelled; %(count)s open assignments ended.",
                    ended,
                )
                if step == "cancel"
                else ngettext(
                    "Closed; %(count)s open assignment ended as not completed.",
                    "Closed; %(count)s open assignments ended as not completed.",
                    ended,
                )
            )
            message = text % {"count": ended}
    except ApplicationError as exc:
        return render_form(request, template, partial, context, exc=exc, active="tasks")
    return done(request, reverse("web:task_detail", args=[task.pk]), message)


@page
def task_publish(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_step(request, task_id, "publish")


@page
def task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_step(request, task_id, "cancel")


@page
def task_close(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_step(request, task_id, "close")
