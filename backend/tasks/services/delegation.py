"""Delegation: a unit passes its assignment on to units in its own subtree."""

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import ValidationFailed
from common.times import local_iso, local_text
from orgs.models import User
from orgs.scope import Grants
from tasks import policies
from tasks.models import Assignment, AssignmentEvent, PracticeTask
from tasks.services.practice_tasks import FanOutResult
from tasks.services.shared import invalid, time_errors
from tasks.services.targets import fan_out, targets_validate
from tasks.services.workflow import _announce, _require_at_version, _transition

Status = Assignment.Status


def _lock_task_for_share(task_id: int) -> str:
    """The task's status, held for the transaction so a concurrent cancel/close waits for us."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {PracticeTask._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
            [task_id],
        )
        return cursor.fetchone()[0]


def delegation_errors(
    *, actor: User, assignment: Assignment, targets: Any, due_at: datetime | None, now: datetime | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The clean targets and every problem of a delegation's input (the API asks it too, so one 400
    names them all). `due_at` is None when it could not be read."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if due_at is not None:
        errors.update(time_errors(starts_at=None, due_at=due_at, now=now))
        if not errors and due_at > assignment.due_at:
            errors["due_at"] = [
                _("The due time %(due)s is later than this assignment's own (%(own)s).")
                % {"due": local_text(due_at, assignment.due_at), "own": local_text(assignment.due_at, due_at)}
            ]
    clean_targets: list[dict[str, Any]] = []
    try:
        clean_targets = targets_validate(actor=actor, root=assignment.unit, raw=targets)
        if not clean_targets:
            errors["targets"] = [_("Add at least one target.")]
    except ValidationFailed as exc:
        errors.update(exc.extra)
    return clean_targets, errors


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
    grants = Grants.of(actor)
    refusal = policies.assignment_delegate_refusal(grants, assignment)
    if refusal is not None and refusal.status_code == 403:
        policies.require(refusal)
    # The task's status under a share lock (a concurrent cancel or close waits for us), and the due
    # time as it stands now: an edit of the task may have committed since the assignment was read.
    assignment.task.status = _lock_task_for_share(assignment.task_id)
    assignment.due_at = Assignment.objects.values_list("due_at", flat=True).get(pk=assignment.pk)
    _require_at_version(
        policies.assignment_delegate_refusal(grants, assignment), assignment, expected_version
    )
    now = timezone.now()
    clean_targets, errors = delegation_errors(
        actor=actor, assignment=assignment, targets=targets, due_at=due_at, now=now
    )
    if errors:
        raise invalid(_("The delegation could not be made"), errors)
    created = fan_out(
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
            data={"created": created, "targets": clean_targets, "due_at": local_iso(due_at)},
        )
        _announce(
            "assignment.delegated",
            assignment,
            actor,
            created=created,
            stamp=local_iso(now),
            due_at=local_iso(due_at),
        )
    return FanOutResult(task=assignment.task, created=created)
