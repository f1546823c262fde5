"""The assignment workflow: accept, submit, review, urge; every transition a conditional UPDATE on the version."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Conflict, Forbidden
from evidence import services as evidence_services
from evidence import storage as evidence_storage
from evidence.services import InspectedPhoto
from orgs.models import User
from orgs.scope import Action
from tasks.models import (
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
)
from tasks.services.practice_tasks import _require_dispatch
from tasks.services.requirements import submission_errors
from tasks.services.shared import _invalid, _labels, _require, _status_label

Status = Assignment.Status
TaskStatus = PracticeTask.Status

# Assignments --------------------------------------------------------------------------------------


def _check_version(assignment: Assignment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != assignment.version:
        raise Conflict(
            _("This assignment changed since you loaded it (it is now %(status)s); reload it and try again.")
            % {"status": _status_label(assignment.status)},
            {"status": assignment.status, "version": assignment.version},
        )


def _check_from(assignment: Assignment, allowed: tuple[str, ...], action: str) -> None:
    if assignment.status not in allowed:
        raise Conflict(
            _(
                "Cannot %(action)s: the assignment is %(status)s; this is possible only when it is %(allowed)s."
            )
            % {"action": action, "status": _status_label(assignment.status), "allowed": _labels(allowed)},
            {"status": assignment.status},
        )


def _transition(
    *,
    assignment: Assignment,
    actor: User,
    verb: str,
    to_status: str,
    action: str,
    comment: str = "",
    data: dict | None = None,
    updates: dict[str, Any] | None = None,
) -> Assignment:
    """Move the assignment from the state the caller saw to `to_status`, or answer 409.

    A conditional UPDATE on (id, version): of two officers acting at once exactly one matches the
    row; the other's UPDATE waits for the winner's commit, then matches nothing and gets the
    current state in a 409. The event is written in the same transaction.
    """
    now = timezone.now()
    matched = Assignment.objects.filter(pk=assignment.pk, version=assignment.version).update(
        status=to_status, version=F("version") + 1, updated_at=now, **(updates or {})
    )
    if not matched:
        current = Assignment.objects.filter(pk=assignment.pk).values_list("status", flat=True).first()
        raise Conflict(
            _(
                "Cannot %(action)s: someone else acted on this assignment first; it is now %(status)s. Reload it."
            )
            % {"action": action, "status": _status_label(current or "")},
            {"status": current},
        )
    AssignmentEvent.objects.create(
        assignment_id=assignment.pk,
        actor=actor,
        verb=verb,
        from_status=assignment.status,
        to_status=to_status,
        comment=comment,
        data=data or {},
        created_at=now,
    )
    assignment.status = to_status
    assignment.version += 1
    assignment.updated_at = now
    for field, value in (updates or {}).items():
        setattr(assignment, field, value)
    return assignment


def _require_work(actor: User, assignment: Assignment) -> None:
    _require(
        actor,
        Action.WORK,
        assignment.unit,
        _("Only a worker or officer of %(unit)s can do this for its assignment.")
        % {"unit": assignment.unit.name},
    )


def _require_review(actor: User, assignment: Assignment) -> None:
    """Reviewing and urging belong to the units above: REVIEW on the assignment unit's parent."""
    _require(
        actor,
        Action.REVIEW,
        assignment.unit.parent,
        _("Only an officer of a unit above %(unit)s can review or urge its assignment.")
        % {"unit": assignment.unit.name},
    )


@transaction.atomic
def assignment_accept(
    *, actor: User, assignment: Assignment, expected_version: int | None = None
) -> Assignment:
    """签收: the unit acknowledges the assignment (optional; submitting works without it)."""
    _require_work(actor, assignment)
    _check_version(assignment, expected_version)
    _check_from(assignment, (Status.PENDING,), _("accept"))
    return _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.ACCEPT,
        to_status=Status.ACCEPTED,
        action=_("accept"),
    )


def _children_rollup(assignment: Assignment) -> dict[str, Any]:
    counts = Assignment.objects.filter(parent=assignment).aggregate(
        total=Count("id"),
        approved=Count("id", filter=Q(status=Status.APPROVED)),
    )
    return counts


def assignment_submit(
    *,
    actor: User,
    assignment: Assignment,
    summary: str,
    held_at: datetime | None = None,
    ended_at: datetime | None = None,
    participants: int | None = None,
    volunteers: int | None = None,
    volunteer_hours: Decimal | None = None,
    location_text: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    photos: Sequence[InspectedPhoto] = (),
    expected_version: int | None = None,
) -> Submission:
    """上报: a completion report with its photos, checked against the task's evidence requirements.

    A delegated assignment can be reported upward once every child is approved; its numbers default
    to the sums over its children's approved reports. The photos (already proven to be photos by
    evidence.services.photos_inspect) are stored with the report; if anything fails, the files go
    with the rows. Flags about the report's numbers are raised here, the photos' flags by the job
    that processes them after commit.
    """
    with evidence_storage.discard_on_error(), transaction.atomic():
        return _assignment_submit(
            actor=actor,
            assignment=assignment,
            values={
                "summary": summary,
                "held_at": held_at,
                "ended_at": ended_at,
                "participants": participants,
                "volunteers": volunteers,
                "volunteer_hours": volunteer_hours,
                "location_text": location_text or "",
                "latitude": latitude,
                "longitude": longitude,
            },
            photos=photos,
            expected_version=expected_version,
        )


def _assignment_submit(
    *,
    actor: User,
    assignment: Assignment,
    values: dict[str, Any],
    photos: Sequence[InspectedPhoto],
    expected_version: int | None,
) -> Submission:
    _require_work(actor, assignment)
    _check_version(assignment, expected_version)
    allowed = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)
    _check_from(assignment, allowed, _("submit"))
    rollup = _children_rollup(assignment)
    delegated = rollup["total"] > 0
    if delegated and rollup["approved"] < rollup["total"]:
        raise Conflict(
            _(
                "%(open)s of the %(total)s delegated assignments are not approved yet; submit once all are approved."
            )
            % {"open": rollup["total"] - rollup["approved"], "total": rollup["total"]},
            {
                "status": assignment.status,
                "children_total": rollup["total"],
                "children_approved": rollup["approved"],
            },
        )
    errors = submission_errors(
        requirements=assignment.task.evidence_requirements,
        values=values,
        delegated=delegated,
        photo_count=len(photos),
    )
    if errors:
        raise _invalid(_("The report is incomplete"), errors)
    if delegated:
        sums = Submission.objects.filter(
            pk__in=Assignment.objects.filter(parent=assignment).values("current_submission")
        ).aggregate(
            participants=Sum("participants"),
            volunteers=Sum("volunteers"),
            volunteer_hours=Sum("volunteer_hours"),
        )
        for field, total in sums.items():
            if values[field] is None:
                values[field] = total
    submission = Submission.objects.create(assignment=assignment, submitted_by=actor, **values)
    evidence_services.photos_attach(
        submission=submission, photos=photos, actor=actor, tree_id=assignment.unit.tree_id
    )
    evidence_services.submission_flag(submission=submission, task=assignment.task)
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.SUBMIT,
        to_status=Status.SUBMITTED,
        action=_("submit"),
        data={"submission": submission.pk},
        updates={"current_submission": submission},
    )
    return submission


@transaction.atomic
def assignment_review(
    *,
    actor: User,
    assignment: Assignment,
    decision: str,
    comment: str = "",
    rating: int | None = None,
    expected_version: int | None = None,
) -> Assignment:
    """审核: approve or return a submitted report; returning needs a reason the unit can act on."""
    _require_review(actor, assignment)
    errors: dict[str, list[str]] = {}
    if decision not in Submission.Decision.values:
        errors["decision"] = [_("Choose approve or return.")]
    if decision == Submission.Decision.RETURN and not comment.strip():
        errors["comment"] = [_("Say what must be corrected when returning a report.")]
    if rating is not None and not 1 <= rating <= 5:
        errors["rating"] = [_("A rating is a whole number from 1 to 5.")]
    if rating is not None and decision == Submission.Decision.RETURN:
        errors["rating"] = [_("A rating goes with an approval; leave it out when returning.")]
    if errors:
        raise _invalid(_("The review could not be saved"), errors)
    _check_version(assignment, expected_version)
    _check_from(assignment, (Status.SUBMITTED,), _("review"))
    submission = assignment.current_submission
    if submission is not None and submission.submitted_by_id == actor.pk and not actor.is_superuser:
        raise Forbidden(_("You submitted this report yourself; another officer has to review it."))
    approve = decision == Submission.Decision.APPROVE
    now = timezone.now()
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.APPROVE if approve else AssignmentEvent.Verb.RETURN,
        to_status=Status.APPROVED if approve else Status.RETURNED,
        action=_("review"),
        comment=comment.strip(),
        data={"submission": submission.pk if submission else None, "rating": rating},
    )
    if submission is not None:
        Submission.objects.filter(pk=submission.pk).update(
            decision=decision,
            review_comment=comment.strip(),
            rating=rating,
            reviewed_by=actor,
            reviewed_at=now,
        )
    return assignment


URGEABLE = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)


@transaction.atomic
def assignment_urge(*, actor: User, assignment: Assignment, comment: str = "") -> AssignmentEvent:
    """催办: recorded as an event; delivering the notification belongs to the reminders."""
    _require_review(actor, assignment)
    _check_from(assignment, URGEABLE, _("urge"))
    return AssignmentEvent.objects.create(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.URGE,
        from_status=assignment.status,
        to_status=assignment.status,
        comment=comment.strip(),
    )


def task_check_dispatch(*, actor: User, task: PracticeTask) -> None:
    """403 unless `actor` may manage `task` (attachments, publishing)."""
    _require_dispatch(actor, task)


def assignment_check_work(*, actor: User, assignment: Assignment) -> None:
    """403 unless `actor` may accept or report for `assignment`."""
    _require_work(actor, assignment)
