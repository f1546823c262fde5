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

from common import events
from common.exceptions import Conflict, ValidationFailed
from common.times import local_iso
from orgs.models import OrgUnit, User
from orgs.scope import Grants
from tasks import policies
from tasks.models import Assignment, AssignmentEvent, PracticeTask, TaskCategory, TaskEvent
from tasks.policies import require
from tasks.requirements import evidence_requirements_normalize
from tasks.services.shared import invalid, time_errors
from tasks.services.targets import end_open_assignments, fan_out, targets_shape, targets_validate

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


# Task changes the rest of the system hears about (common.events); attachments are the task's own.
ANNOUNCED = {
    TaskEvent.Verb.CREATED,
    TaskEvent.Verb.UPDATED,
    TaskEvent.Verb.PUBLISHED,
    TaskEvent.Verb.CANCELLED,
    TaskEvent.Verb.CLOSED,
}


def task_event(*, task: PracticeTask, actor: User, verb: str, data: dict | None = None) -> TaskEvent:
    """The audit row of a task change, and its announcement after commit."""
    event = TaskEvent.objects.create(task=task, actor=actor, verb=verb, data=data or {})
    if verb in ANNOUNCED:
        events.emit(
            f"task.{verb}",
            task_id=task.pk,
            unit_id=task.issuer_unit_id,
            actor_id=actor.pk,
            data=data or {},
            at=event.created_at,
        )
    return event


def lock_task(task: PracticeTask) -> PracticeTask:
    return (
        PracticeTask.objects.select_for_update(of=("self",))
        .select_related("issuer_unit", "category")
        .get(pk=task.pk)
    )


def _category_errors(category: TaskCategory | None) -> dict[str, list[str]]:
    if category is not None and not category.is_active:
        return {"category": [_("This category is no longer in use; choose another one.")]}
    return {}


def task_create_errors(
    *,
    actor: User,
    issuer_unit: OrgUnit | None,
    title: str | None = None,
    category: TaskCategory | None = None,
    due_at: datetime | None = None,
    starts_at: datetime | None = None,
    evidence_requirements: Any = None,
    targets: Any = None,
    now: datetime | None = None,
    **other: Any,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned requirements and targets of a new task, and every problem of its input.

    Values that could not be read are None and not judged; the API asks this too when some fields
    failed to parse, so one 400 names every problem of the request.
    """
    now = now or timezone.now()
    errors = time_errors(starts_at=starts_at or now, due_at=due_at, now=now)
    errors.update(_category_errors(category))
    if title is not None and not title.strip():
        errors["title"] = [_("Give the task a title.")]
    clean: dict[str, Any] = {"evidence_requirements": {}, "targets": []}
    try:
        clean["evidence_requirements"] = evidence_requirements_normalize(evidence_requirements)
    except ValidationFailed as exc:
        errors.update(exc.extra)
    if issuer_unit is not None:
        try:
            clean["targets"] = targets_validate(actor=actor, root=issuer_unit, raw=targets)
        except ValidationFailed as exc:
            errors.update(exc.extra)
    else:
        try:
            targets_shape(targets)
        except ValidationFailed as exc:
            errors.update(exc.extra)
    return clean, errors


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
    require(policies.task_issue_refusal(Grants.of(actor), issuer_unit))
    now = timezone.now()
    starts_at = starts_at or now
    clean, errors = task_create_errors(
        actor=actor,
        issuer_unit=issuer_unit,
        title=title,
        category=category,
        due_at=due_at,
        starts_at=starts_at,
        evidence_requirements=evidence_requirements,
        targets=targets,
        now=now,
    )
    if errors:
        raise invalid(_("The task could not be created"), errors)
    task = PracticeTask.objects.create(
        title=title.strip(),
        description=description,
        category=category,
        issuer_unit=issuer_unit,
        author=actor,
        starts_at=starts_at,
        due_at=due_at,
        points=points,
        evidence_requirements=clean["evidence_requirements"],
        targets=clean["targets"],
    )
    task_event(task=task, actor=actor, verb=TaskEvent.Verb.CREATED, data={"title": task.title})
    return task


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, TaskCategory):
        return value.code
    if isinstance(value, Decimal):
        return str(value)
    return value


def _task_changes(*, actor: User, task: PracticeTask, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The fields `data` really changes, cleaned, or the 409 / 400 that says why it may not."""
    if "evidence_requirements" in data:
        data = {
            **data,
            "evidence_requirements": evidence_requirements_normalize(data["evidence_requirements"]),
        }
    if "targets" in data:
        data = {**data, "targets": targets_shape(data["targets"])}
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
    errors: dict[str, list[str]] = {}
    if "due_at" in changed or "starts_at" in changed:
        errors.update(
            time_errors(
                starts_at=changed.get("starts_at", task.starts_at),
                due_at=changed.get("due_at", task.due_at),
                now=now,
            )
        )
        if "due_at" not in changed and "due_at" in errors:
            errors["starts_at"] = errors.pop("due_at")
    if "category" in changed:
        errors.update(_category_errors(changed["category"]))
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
        raise invalid(_("The task could not be saved"), errors)
    return changed


def _move_due_times(task: PracticeTask, now: datetime) -> None:
    """A published task's new due time reaches its assignments: top-level ones take it, delegated
    ones keep their own unless it is now later than the task's."""
    Assignment.objects.filter(task=task, parent__isnull=True).update(due_at=task.due_at, updated_at=now)
    Assignment.objects.filter(task=task, parent__isnull=False, due_at__gt=task.due_at).update(
        due_at=Least(F("due_at"), task.due_at), updated_at=now
    )


@transaction.atomic
def task_update(*, actor: User, task: PracticeTask, data: dict[str, Any]) -> PracticeTask:
    """Edit a task. A draft is editable throughout; a published task only its text and due time."""
    task = lock_task(task)
    require(policies.task_edit_refusal(Grants.of(actor), task))
    now = timezone.now()
    changed = _task_changes(actor=actor, task=task, data=data, now=now)
    if not changed:
        return task
    record = {field: [_jsonable(getattr(task, field)), _jsonable(value)] for field, value in changed.items()}
    for field, value in changed.items():
        setattr(task, field, value)
    task.save()
    if task.status == TaskStatus.PUBLISHED and "due_at" in changed:
        _move_due_times(task, now)
    task_event(task=task, actor=actor, verb=TaskEvent.Verb.UPDATED, data={"changes": record})
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
    task = lock_task(task)
    require(policies.task_publish_refusal(Grants.of(actor), task))
    now = timezone.now()
    errors = time_errors(starts_at=task.starts_at, due_at=task.due_at, now=now)
    if errors:
        raise ValidationFailed(_("Move the due time later before publishing."), errors)
    if not task.targets:
        raise ValidationFailed(
            _("The task has no targets; add the units that should receive it before publishing."),
            {"targets": [_("Add at least one target.")]},
        )
    # The tree may have changed since the draft was saved: check the targets again.
    targets = targets_validate(actor=actor, root=task.issuer_unit, raw=task.targets)
    created = fan_out(
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
        task_event(
            task=task,
            actor=actor,
            verb=TaskEvent.Verb.PUBLISHED,
            data={"created": created, "first": first, "stamp": local_iso(now)},
        )
    return FanOutResult(task=task, created=created)


@dataclass
class EndResult:
    task: PracticeTask
    ended: int


def _task_end(*, actor: User, task: PracticeTask, to: str, reason: str) -> EndResult:
    task = lock_task(task)
    grants = Grants.of(actor)
    if to == TaskStatus.CANCELLED:
        require(policies.task_cancel_refusal(grants, task))
        assignment_status, verb, task_verb = (
            Status.CANCELLED,
            AssignmentEvent.Verb.CANCEL,
            TaskEvent.Verb.CANCELLED,
        )
    else:
        require(policies.task_close_refusal(grants, task))
        assignment_status, verb, task_verb = Status.CLOSED, AssignmentEvent.Verb.CLOSE, TaskEvent.Verb.CLOSED
    now = timezone.now()
    ended = end_open_assignments(
        task=task, actor=actor, to_status=assignment_status, verb=verb, comment=reason, now=now
    )
    task.status = to
    task.ended_at = now
    task.save(update_fields=["status", "ended_at", "updated_at"])
    task_event(
        task=task,
        actor=actor,
        verb=task_verb,
        data={"ended_assignments": ended, "reason": reason, "stamp": local_iso(now)},
    )
    return EndResult(task=task, ended=ended)


@transaction.atomic
def task_cancel(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Withdraw a task; its open assignments end as cancelled (approved ones stay approved)."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CANCELLED, reason=reason)


@transaction.atomic
def task_close(*, actor: User, task: PracticeTask, reason: str = "") -> EndResult:
    """Finish a task; open assignments end as closed, i.e. not completed."""
    return _task_end(actor=actor, task=task, to=TaskStatus.CLOSED, reason=reason)
