"""Delegation: a unit passes its assignment on to units in its own subtree."""

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Conflict, ValidationFailed
from orgs.models import User
from orgs.scope import Action
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
)
from tasks.services.practice_tasks import FanOutResult
from tasks.services.shared import _invalid, _require, _task_status_label
from tasks.services.targets import _fan_out, targets_validate
from tasks.services.workflow import URGEABLE, _check_from, _check_version, _transition

Status = Assignment.Status
TaskStatus = PracticeTask.Status


def _lock_task_for_share(task_id: int) -> str:
    """The task's status, held for the transaction so a concurrent cancel/close waits for us."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {PracticeTask._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
            [task_id],
        )
        return cursor.fetchone()[0]


@transaction.atomic
def assignment_delegate(
    *,
    actor: User,
    assignment: Assignment,
    targets: Any,
    due_at: datetime,
    expected_version: int | None = None,
) -> FanOutResult:
    """下派: the holder passes its assignment on to units in its own subtree, due no later than its own.

    Delegating also signs for a pending assignment. Delegating again adds only the units that do
    not hold an assignment of this task yet.
    """
    _require(
        actor,
        Action.DISPATCH,
        assignment.unit,
        _("Only an administrator or officer of %(unit)s can delegate its assignment.")
        % {"unit": assignment.unit.name},
    )
    _check_version(assignment, expected_version)
    task_status = _lock_task_for_share(assignment.task_id)
    if task_status != TaskStatus.PUBLISHED:
        raise Conflict(
            _("The task is %(status)s; its assignments can no longer be delegated.")
            % {"status": _task_status_label(task_status)},
            {"status": assignment.status},
        )
    _check_from(assignment, URGEABLE, _("delegate"))
    # A due-time edit of the task may have committed between our read and the share lock; the
    # children's deadline is checked against the due time as it stands now.
    assignment.due_at = Assignment.objects.values_list("due_at", flat=True).get(pk=assignment.pk)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if due_at <= now:
        errors["due_at"] = [_("The due time is in the past; choose a later time.")]
    elif due_at > assignment.due_at:
        errors["due_at"] = [
            _("The due time must not be later than this assignment's own (%(due)s).")
            % {"due": timezone.localtime(assignment.due_at).strftime("%Y-%m-%d %H:%M")}
        ]
    try:
        clean_targets = targets_validate(actor=actor, root=assignment.unit, raw=targets)
        if not clean_targets:
            errors["targets"] = [_("Add at least one target.")]
    except ValidationFailed as exc:
        errors.update(exc.extra)
    if errors:
        raise _invalid(_("The delegation could not be made"), errors)
    created = _fan_out(
        task_id=assignment.task_id,
        root=assignment.unit,
        targets=clean_targets,
        due_at=due_at,
        parent_id=assignment.pk,
        now=now,
    )
    if created:
        _transition(
            assignment=assignment,
            actor=actor,
            verb=AssignmentEvent.Verb.DELEGATE,
            to_status=Status.ACCEPTED if assignment.status == Status.PENDING else assignment.status,
            action=_("delegate"),
            data={"created": created, "targets": clean_targets, "due_at": due_at.isoformat()},
        )
    return FanOutResult(task=assignment.task, created=created)
