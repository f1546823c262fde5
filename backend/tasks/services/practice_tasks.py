"""Practice tasks: create, edit, publish, cancel, close."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Conflict, ValidationFailed
from orgs.models import OrgUnit, User
from orgs.scope import Action
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    TaskCategory,
    TaskEvent,
)
from tasks.services.requirements import evidence_requirements_normalize
from tasks.services.shared import _invalid, _require, _task_status_label, _time_errors
from tasks.services.targets import _end_open_assignments, _fan_out, _targets_shape, targets_validate

Status = Assignment.Status
TaskStatus = PracticeTask.Status

TASK_EDITABLE_WHILE_DRAFT = (
    "title",
    "description",
    "category",
    "starts_at",
    "due_at",
    "points",
    "evidence_requirements",
    "targets",
)
TASK_EDITABLE_WHILE_PUBLISHED = ("title", "description", "due_at")

# Tasks --------------------------------------------------------------------------------------------


def _task_event(*, task: PracticeTask, actor: User, verb: str, data: dict | None = None) -> TaskEvent:
    return TaskEvent.objects.create(task=task, actor=actor, verb=verb, data=data or {})


def _lock_task(task: PracticeTask) -> PracticeTask:
    return (
        PracticeTask.objects.select_for_update(of=("self",))
        .select_related("issuer_unit", "category")
        .get(pk=task.pk)
    )


def _require_dispatch(actor: User, task: PracticeTask) -> None:
    _require(
        actor,
        Action.DISPATCH,
        task.issuer_unit,
        _("Only an administrator or officer of %(unit)s (or a unit above it) can manage this task.")
        % {"unit": task.issuer_unit.name},
    )


def _check_category(category: TaskCategory, errors: dict[str, list[str]]) -> None:
    if not category.is_active:
        errors["category"] = [_("This category is no longer in use; choose another one.")]


@transaction.atomic
def task_create(
    *,
    actor: User,
    issuer_unit: OrgUnit,
    title: str,
    category: TaskCategory,
    due_at: datetime,
    description: str = "",
    starts_at: datetime | None = None,
    points: int = 10,
    evidence_requirements: dict[str, Any] | None = None,
    targets: list[dict[str, Any]] | None = None,
) -> PracticeTask:
    """A draft task of `issuer_unit`; nothing reaches the units below until it is published."""
    issuer_unit = OrgUnit.objects.get(pk=issuer_unit.pk)  # current tree numbers for the checks below
    _require(
        actor,
        Action.DISPATCH,
        issuer_unit,
        _("Only an administrator or officer of %(unit)s can issue tasks from it.")
        % {"unit": issuer_unit.name},
    )
    now = timezone.now()
    starts_at = starts_at or now
    errors = _time_errors(starts_at=starts_at, due_at=due_at, now=now)
    _check_category(category, errors)
    if not title.strip():
        errors["title"] = [_("Give the task a title.")]
    try:
        requirements = evidence_requirements_normalize(evidence_requirements)
    except ValidationFailed as exc:
        errors.update(exc.extra)
    try:
        clean_targets = targets_validate(actor=actor, root=issuer_unit, raw=targets)
    except ValidationFailed as exc:
        errors.update(exc.extra)
    if errors:
        raise _invalid(_("The task could not be created"), errors)
    task = PracticeTask.objects.create(
        title=title.strip(),
        description=description,
        category=category,
        issuer_unit=issuer_unit,
        author=actor,
        starts_at=starts_at,
        due_at=due_at,
        points=points,
        evidence_requirements=requirements,
        targets=clean_targets,
    )
    _task_event(task=task, actor=actor, verb=TaskEvent.Verb.CREATED, data={"title": task.title})
    return task


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, TaskCategory):
        return value.code
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def task_update(*, actor: User, task: PracticeTask, data: dict[str, Any]) -> PracticeTask:
    """Edit a task. A draft is editable throughout; a published task only its text and due time.

    A new due time reaches the assignments: top-level ones take it, delegated ones keep their own
    unless it is now later than the task's.
    """
    task = _lock_task(task)
    _require_dispatch(actor, task)
    if task.status in (TaskStatus.CLOSED, TaskStatus.CANCELLED):
        raise Conflict(
            _("This task is %(status)s and can no longer be edited.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    if "evidence_requirements" in data:
        data = {
            **data,
            "evidence_requirements": evidence_requirements_normalize(data["evidence_requirements"]),
        }
    if "targets" in data:
        data = {**data, "targets": _targets_shape(data["targets"])}
    changed = {field: value for field, value in data.items() if getattr(task, field) != value}
    editable = TASK_EDITABLE_WHILE_DRAFT if task.status == TaskStatus.DRAFT else TASK_EDITABLE_WHILE_PUBLISHED
    locked = sorted(set(changed) - set(editable))
    if locked:
        raise Conflict(
            _(
                "The task is published: %(fields)s can no longer be changed. Only the title, description and due time can."
            )
            % {"fields": ", ".join(locked)},
            {field: [_("Cannot be changed after publishing.")] for field in locked},
        )
    if not changed:
        return task
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if "due_at" in changed or "starts_at" in changed:
        errors.update(
            _time_errors(
                starts_at=changed.get("starts_at", task.starts_at),
                due_at=changed.get("due_at", task.due_at),
                now=now,
            )
        )
        if "due_at" not in changed and "due_at" in errors:
            errors["starts_at"] = errors.pop("due_at")
    if "category" in changed:
        _check_category(changed["category"], errors)
    if "title" in changed:
        changed["title"] = changed["title"].strip()
        if not changed["title"]:
            errors["title"] = [_("Give the task a title.")]
    if "targets" in changed:
        try:
            changed["targets"] = targets_validate(actor=actor, root=task.issuer_unit, raw=changed["targets"])
        except ValidationFailed as exc:
            errors.update(exc.extra)
    if errors:
        raise _invalid(_("The task could not be saved"), errors)

    record = {field: [_jsonable(getattr(task, field)), _jsonable(value)] for field, value in changed.items()}
    for field, value in changed.items():
        setattr(task, field, value)
    task.save()
    if task.status == TaskStatus.PUBLISHED and "due_at" in changed:
        Assignment.objects.filter(task=task, parent__isnull=True).update(due_at=task.due_at, updated_at=now)
        Assignment.objects.filter(task=task, parent__isnull=False, due_at__gt=task.due_at).update(
            due_at=Least(F("due_at"), task.due_at), updated_at=now
        )
    _task_event(task=task, actor=actor, verb=TaskEvent.Verb.UPDATED, data={"changes": record})
    return task


@dataclass
class FanOutResult:
    task: PracticeTask
    created: int


@transaction.atomic
def task_publish(*, actor: User, task: PracticeTask) -> FanOutResult:
    """Publish: one pending assignment per target unit, in a bounded number of queries.

    Idempotent: publishing again creates nothing for units that already hold an assignment, but
    does reach units created (or activated) under a level target since the last publish.
    """
    task = _lock_task(task)
    _require_dispatch(actor, task)
    if task.status not in (TaskStatus.DRAFT, TaskStatus.PUBLISHED):
        raise Conflict(
            _("This task is %(status)s and cannot be published.")
            % {"status": _task_status_label(task.status)},
            {"status": task.status},
        )
    now = timezone.now()
    errors = _time_errors(starts_at=task.starts_at, due_at=task.due_at, now=now)
    if errors:
        raise ValidationFailed(_("Move the due time later before publishing."), errors)
    if not task.targets:
        raise ValidationFailed(
            _("The task has no targets; add the units that should receive it before publishing."),
            {"targets": [_("Add at least one target.")]},
        )
    # The tree may have changed since the draft was saved: check the targets again.
    targets = targets_validate(actor=actor, root=task.issuer_unit, raw=task.targets)
    created = _fan_out(
        task_id=task.pk, root=task.issuer_unit, targets=targets, due_at=task.due_at, parent_id=None, now=now
    )
    first = task.status == TaskStatus.DRAFT
    if first:
        if created == 0:
            raise ValidationFailed(
                _("None of the targets is an active unit that could receive the task; check the targets."),
                {"targets": [_("No unit matches.")]},
            )
        task.status = TaskStatus.PUBLISHED
        task.published_at = now
        task.save(update_fields=["status", "published_at", "updated_at"])
    if first or created:
        _task_event(
            task=task, actor=actor, verb=TaskEvent.Verb.PUBLISHED, data={"created": created, "first": first}
        )
    return FanOutResult(task=task, created=created)


@dataclass
class EndResult:
    task: PracticeTask
    ended: int


def _task_end(*, actor: User, task: PracticeTask, to: str, reason: str) -> EndResult:
    task = _lock_task(task)
    _require_dispatch(actor, task)
    allowed = (
        (TaskStatus.DRAFT, TaskStatus.PUBLISHED) if to == TaskStatus.CANCELLED else (TaskStatus.PUBLISHED,)
    )
    if task.status not in allowed:
        message = (
            _("This task is %(status)s; only a draft or published task can be cancelled.")
            if to == TaskStatus.CANCELLED
            else _("This task is %(status)s; only a published task can be closed (cancel a draft instead).")
        )
        raise Conflict(message % {"status": _task_status_label(task.status)}, {"status": task.status})
    now = timezone.now()
    if to == TaskStatus.CANCELLED:
        assignment_status, verb, task_verb = (
            Status.CANCELLED,
            AssignmentEvent.Verb.CANCEL,
            TaskEvent.Verb.CANCELLED,
        )
    else:
        assignment_status, verb, task_verb = Status.CLOSED, AssignmentEvent.Verb.CLOSE, TaskEvent.Verb.CLOSED
    ended = _end_open_assignments(
        task=task, actor=actor, to_status=assignment_status, verb=verb, comment=reason, now=now
    )
    task.status = to
    task.ended_at = now
    task.save(update_fields=["status", "ended_at", "updated_at"])
    _task_event(task=task, actor=actor, verb=task_verb, data={"ended_assignments": ended, "reason": reason})
    return EndResult(task=task, ended=ended)


@transaction.atomic
def task_cancel(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Withdraw a task; its open assignments end as cancelled (approved ones stay approved)."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CANCELLED, reason=reason)


@transaction.atomic
def task_close(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Finish a task; open assignments end as closed, i.e. not completed."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CLOSED, reason=reason)
