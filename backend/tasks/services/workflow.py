"""The assignment workflow: accept, submit, review, urge; every transition a conditional UPDATE on the version.

Who may do what is asked of tasks.policies (one function per decision); this module checks, moves
the state, writes the audit event beside it and announces the change (common.events) in the same
transaction.
"""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from common import events, files
from common.exceptions import Conflict
from common.times import local_iso
from evidence import services as evidence_services
from evidence.services import InspectedPhoto
from orgs.models import User
from orgs.scope import Grants
from tasks import policies
from tasks.models import Assignment, AssignmentEvent, Submission
from tasks.policies import Refusal, require, status_label
from tasks.requirements import REPORT_FIELDS, submission_errors
from tasks.services.shared import invalid, invalid_report

Status = Assignment.Status


def _check_version(assignment: Assignment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != assignment.version:
        raise Conflict(
            _("This assignment changed since you loaded it (it is now %(status)s); reload it and try again.")
            % {"status": status_label(assignment.status)},
            {"status": assignment.status, "version": assignment.version},
        )


def _require_at_version(
    refusal: Refusal | None, assignment: Assignment, expected_version: int | None
) -> None:
    """A role refusal first (403), then a stale version (409), then the state's own refusal."""
    if refusal is not None and refusal.status_code == status.HTTP_403_FORBIDDEN:
        require(refusal)
    _check_version(assignment, expected_version)
    require(refusal)


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
    current state in a 409. The audit event is written in the same transaction.
    """
    now = timezone.now()
    updates = dict(updates or {})
    if to_status == Status.APPROVED:
        updates["settled_at"] = now
    matched = Assignment.objects.filter(pk=assignment.pk, version=assignment.version).update(
        status=to_status, version=F("version") + 1, updated_at=now, **updates
    )
    if not matched:
        current = Assignment.objects.filter(pk=assignment.pk).values_list("status", flat=True).first()
        raise Conflict(
            _(
                "Cannot %(action)s: someone else acted on this assignment first; it is now %(status)s. Reload it."
            )
            % {"action": action, "status": status_label(current or "")},
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
    for field, value in updates.items():
        setattr(assignment, field, value)
    return assignment


def _announce(name: str, assignment: Assignment, actor: User, **data: Any) -> None:
    events.emit(
        name,
        task_id=assignment.task_id,
        assignment_id=assignment.pk,
        unit_id=assignment.unit_id,
        actor_id=actor.pk,
        data=data,
    )


@transaction.atomic
def assignment_accept(
    *, actor: User, assignment: Assignment, expected_version: int | None = None
) -> Assignment:
    """签收: the unit acknowledges the assignment (optional; submitting works without it)."""
    refusal = policies.assignment_accept_refusal(Grants.of(actor), assignment)
    _require_at_version(refusal, assignment, expected_version)
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.ACCEPT,
        to_status=Status.ACCEPTED,
        action=_("accept"),
    )
    _announce("assignment.accepted", assignment, actor)
    return assignment


# Submitting -------------------------------------------------------------------------------------


def children_counts(assignment: Assignment) -> Assignment:
    """Count the delegated children as they are now onto `assignment` (the policies read them)."""
    counts = Assignment.objects.filter(parent=assignment).aggregate(
        total=Count("id"), approved=Count("id", filter=Q(status=Status.APPROVED))
    )
    assignment.children_total = counts["total"]  # type: ignore[attr-defined]  # read by tasks.policies
    assignment.children_approved = counts["approved"]  # type: ignore[attr-defined]
    return assignment


def _missing_units(assignment: Assignment) -> list[dict[str, Any]]:
    """The delegated units not approved yet, as the report names them."""
    return [
        {"id": row["unit_id"], "name": row["unit__name"], "code": row["unit__code"], "status": row["status"]}
        for row in Assignment.objects.filter(parent=assignment)
        .exclude(status=Status.APPROVED)
        .order_by("unit__lft")
        .values("unit_id", "unit__name", "unit__code", "status")
    ]


def assignment_submit(
    *,
    actor: User,
    assignment: Assignment,
    photos: Sequence[InspectedPhoto] = (),
    expected_version: int | None = None,
    summary: str,
    **values: Any,
) -> Submission:
    """上报: a completion report with its photos, checked against the task's evidence requirements.

    The typed core of tasks.services.submission.submission_create (which parses requests and
    replays retries); callers with values already in hand (demo data, tests) use it directly.
    A delegated assignment reports upward on the strength of its children's approved reports
    (tasks.policies.delegation_refusal says when); its numbers default to their sums and the report
    names the children still open. The photos (already proven to be photos by
    evidence.services.photos_inspect) are stored with the report; if anything fails, the files go
    with the rows. Flags about the report's numbers are raised here, the photos' flags by the job
    that processes them after commit.
    """
    unknown = set(values) - set(REPORT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown report fields: {sorted(unknown)}")
    report = {field: values.get(field) for field in REPORT_FIELDS}
    report["summary"] = summary
    report["location_text"] = report["location_text"] or ""
    with files.discard_on_error(), transaction.atomic():
        refusal = policies.assignment_submit_refusal(Grants.of(actor), children_counts(assignment))
        _require_at_version(refusal, assignment, expected_version)
        delegated = assignment.children_total > 0  # type: ignore[attr-defined]  # set by children_counts
        errors = submission_errors(
            requirements=assignment.task.evidence_requirements,
            values=report,
            delegated=delegated,
            photo_count=len(photos),
        )
        if errors:
            raise invalid_report(errors)
        missing: list[dict[str, Any]] = []
        if delegated:
            sums = Submission.objects.filter(
                pk__in=Assignment.objects.filter(parent=assignment, status=Status.APPROVED).values(
                    "current_submission"
                )
            ).aggregate(
                participants=Sum("participants"),
                volunteers=Sum("volunteers"),
                volunteer_hours=Sum("volunteer_hours"),
            )
            for field, total in sums.items():
                if report[field] is None:
                    report[field] = total
            missing = _missing_units(assignment)
        submission = Submission.objects.create(
            assignment=assignment, submitted_by=actor, missing_units=missing, **report
        )
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
            data={"submission": submission.pk, "missing": [unit["id"] for unit in missing]},
            updates={"current_submission": submission},
        )
        _announce("assignment.submitted", assignment, actor, submission=submission.pk, missing=len(missing))
        return submission


# Reviewing and urging ---------------------------------------------------------------------------


def review_errors(*, decision: str | None, comment: str | None, rating: int | None) -> dict[str, list[str]]:
    """What is wrong with a review's input; the API asks it too, so one 400 names everything."""
    errors: dict[str, list[str]] = {}
    if decision is not None and decision not in Submission.Decision.values:
        errors["decision"] = [_("Choose approve or return.")]
    if decision == Submission.Decision.RETURN and not (comment or "").strip():
        errors["comment"] = [_("Say what must be corrected when returning a report.")]
    if rating is not None and not 1 <= rating <= 5:
        errors["rating"] = [_("A rating is a whole number from 1 to 5.")]
    if rating is not None and decision == Submission.Decision.RETURN:
        errors["rating"] = [_("A rating goes with an approval; leave it out when returning.")]
    return errors


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
    refusal = policies.assignment_review_refusal(Grants.of(actor), assignment)
    if refusal is not None and refusal.status_code == status.HTTP_403_FORBIDDEN:
        require(refusal)
    errors = review_errors(decision=decision, comment=comment, rating=rating)
    if errors:
        raise invalid(_("The review could not be saved"), errors)
    _require_at_version(refusal, assignment, expected_version)
    submission = assignment.current_submission
    approve = decision == Submission.Decision.APPROVE
    comment = comment.strip()
    _transition(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.APPROVE if approve else AssignmentEvent.Verb.RETURN,
        to_status=Status.APPROVED if approve else Status.RETURNED,
        action=_("review"),
        comment=comment,
        data={"submission": submission.pk if submission else None, "rating": rating},
    )
    if submission is not None:
        Submission.objects.filter(pk=submission.pk).update(
            decision=decision,
            review_comment=comment,
            rating=rating,
            reviewed_by=actor,
            reviewed_at=assignment.updated_at,
        )
    submission_id = submission.pk if submission else None
    if approve:
        _announce(
            "assignment.approved",
            assignment,
            actor,
            submission=submission_id,
            rating=rating,
            settled_at=local_iso(assignment.settled_at),
        )
    else:
        _announce("assignment.returned", assignment, actor, submission=submission_id, comment=comment)
    return assignment


@transaction.atomic
def assignment_urge(*, actor: User, assignment: Assignment, comment: str = "") -> AssignmentEvent:
    """催办: recorded as an event and announced (the reminders deliver it)."""
    require(policies.assignment_urge_refusal(Grants.of(actor), assignment))
    comment = comment.strip()
    event = AssignmentEvent.objects.create(
        assignment=assignment,
        actor=actor,
        verb=AssignmentEvent.Verb.URGE,
        from_status=assignment.status,
        to_status=assignment.status,
        comment=comment,
    )
    _announce("assignment.urged", assignment, actor, comment=comment)
    return event


def assignment_submit_precheck(*, actor: User, assignment: Assignment) -> None:
    """403 unless `actor` may report for `assignment`'s unit: asked before a request body is read.

    Only the role: the state is judged after a retry had its chance to replay (the first attempt
    moved the assignment to submitted).
    """
    refusal = policies.assignment_submit_refusal(Grants.of(actor), assignment)
    if refusal is not None and refusal.status_code == status.HTTP_403_FORBIDDEN:
        require(refusal)
