"""Who may do what to a task, an assignment or a report, now: one function per decision.

Each `<object>_<action>_refusal(grants, obj)` answers None when the action is allowed, or the
`Refusal` a service raises: 403 when the person's role does not allow it (the object is in their
view, else the selector had answered 404), 409 when the object's state does not. The same answers
make the `actions` list of every API response and decide which buttons a page shows, so a button
is there exactly when the request behind it would be accepted.

Everything here works on objects already in memory and on `orgs.scope.Grants` (the person's
memberships, loaded once): computing the actions of a page of fifty rows costs no query. The
callers load what a decision reads: the assignment's unit, task and current submission, and the
`children_total` / `children_approved` counts (tasks.selectors.assignment_list annotates them).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import status

from common.exceptions import ApplicationError, Conflict, Forbidden
from orgs.models import MAX_DEPTH, OrgUnit
from orgs.scope import Action, Grants
from tasks.models import Assignment, PracticeTask, Submission
from tasks.requirements import requirements_of

Status = Assignment.Status
TaskStatus = PracticeTask.Status

# Open assignments a unit above can press (urge) and a holder can pass on (delegate).
URGEABLE = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)
SUBMITTABLE = (Status.PENDING, Status.ACCEPTED, Status.RETURNED)


class TaskAction(StrEnum):
    EDIT = "edit"  # change the task and its attachments
    PUBLISH = "publish"  # a draft: send it; a published task: reach units added since
    CANCEL = "cancel"
    CLOSE = "close"


class AssignmentAction(StrEnum):
    ACCEPT = "accept"  # 签收
    SUBMIT = "submit"  # 提交 / 上报
    DELEGATE = "delegate"  # 下派
    REVIEW = "review"  # 审核
    URGE = "urge"  # 催办


class SubmissionAction(StrEnum):
    REVIEW = "review"


def choices(actions: type[StrEnum]) -> list[tuple[str, str]]:
    """The (value, label) pairs of an action enum, as the API's schema lists them."""
    return [(str(action), str(action)) for action in actions]


TASK_ACTION_CHOICES = choices(TaskAction)
ASSIGNMENT_ACTION_CHOICES = choices(AssignmentAction)
SUBMISSION_ACTION_CHOICES = choices(SubmissionAction)


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed now, in the reader's language, with the status it answers."""

    status_code: int
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def error(self) -> ApplicationError:
        error_class = Forbidden if self.status_code == status.HTTP_403_FORBIDDEN else Conflict
        return error_class(self.message, self.extra)


def require(refusal: Refusal | None) -> None:
    """Raise the refusal (403 or 409) if there is one."""
    if refusal is not None:
        raise refusal.error()


def _forbidden(message: str) -> Refusal:
    return Refusal(status.HTTP_403_FORBIDDEN, message)


def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def task_status_label(value: str) -> str:
    try:
        return str(TaskStatus(value).label)
    except ValueError:
        return value


def _wrong_state_text(status_value: str, allowed: tuple[str, ...], action_label: Any) -> str:
    return _(
        "Cannot %(action)s: the assignment is %(status)s; this is possible only when it is %(allowed)s."
    ) % {
        "action": action_label,
        "status": status_label(status_value),
        "allowed": ", ".join(status_label(value) for value in allowed),
    }


# Translated when read: the `actions` of a page ask every policy of every row, and most refusals there
# are never shown (about three per inbox row).
_wrong_state_message = lazy(_wrong_state_text, str)


def wrong_state(assignment: Assignment, allowed: tuple[str, ...], action_label: Any) -> Refusal:
    """`action_label`: a lazy translation (gettext_lazy), read only if the message is."""
    return Refusal(
        status.HTTP_409_CONFLICT,
        _wrong_state_message(assignment.status, allowed, action_label),
        {"status": assignment.status},
    )


# Categories and tasks -----------------------------------------------------------------------------


def category_change_refusal(grants: Grants) -> Refusal | None:
    """Categories are shared by every district of the deployment: platform administrators only."""
    if not grants.superuser:
        return _forbidden(_("Only a platform administrator can change task categories."))
    return None


def task_issue_refusal(grants: Grants, unit: OrgUnit) -> Refusal | None:
    """May the person issue tasks from `unit`?"""
    if not grants.can(Action.DISPATCH, unit):
        return _forbidden(
            _("Only an administrator or officer of %(unit)s can issue tasks from it.") % {"unit": unit.name}
        )
    return None


def _task_manager_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    if not grants.can(Action.DISPATCH, task.issuer_unit):
        return _forbidden(
            _("Only an administrator or officer of %(unit)s (or a unit above it) can manage this task.")
            % {"unit": task.issuer_unit.name}
        )
    return None


def _task_state_refusal(task: PracticeTask, allowed: tuple[str, ...], message: str) -> Refusal | None:
    if task.status not in allowed:
        return Refusal(
            status.HTTP_409_CONFLICT,
            message % {"status": task_status_label(task.status)},
            {"status": task.status},
        )
    return None


def task_edit_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    """Edit the task or its attachments: a draft throughout, a published task its text and due time."""
    return _task_manager_refusal(grants, task) or _task_state_refusal(
        task,
        (TaskStatus.DRAFT, TaskStatus.PUBLISHED),
        _("This task is %(status)s and can no longer be edited."),
    )


def task_publish_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    return _task_manager_refusal(grants, task) or _task_state_refusal(
        task,
        (TaskStatus.DRAFT, TaskStatus.PUBLISHED),
        _("This task is %(status)s and cannot be published."),
    )


def task_cancel_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    return _task_manager_refusal(grants, task) or _task_state_refusal(
        task,
        (TaskStatus.DRAFT, TaskStatus.PUBLISHED),
        _("This task is %(status)s; only a draft or published task can be cancelled."),
    )


def task_close_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    return _task_manager_refusal(grants, task) or _task_state_refusal(
        task,
        (TaskStatus.PUBLISHED,),
        _("This task is %(status)s; only a published task can be closed (cancel a draft instead)."),
    )


TASK_POLICIES: dict[TaskAction, Callable[[Grants, PracticeTask], Refusal | None]] = {
    TaskAction.EDIT: task_edit_refusal,
    TaskAction.PUBLISH: task_publish_refusal,
    TaskAction.CANCEL: task_cancel_refusal,
    TaskAction.CLOSE: task_close_refusal,
}


# Assignments --------------------------------------------------------------------------------------


def _worker_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    if not grants.can(Action.WORK, assignment.unit):
        return _forbidden(
            _("Only a worker or officer of %(unit)s can do this for its assignment.")
            % {"unit": assignment.unit.name}
        )
    return None


def _reviewer_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """Reviewing and urging belong to the units above the assignment's unit.

    A delegated assignment belongs to the delegation too: after a community moves to another street,
    neither street alone judges the old street's delegation (the district, above both, still can).
    """
    above = grants.can_above(Action.REVIEW, assignment.unit)
    if above and assignment.parent_id is not None:
        above = grants.can(Action.REVIEW, assignment.parent.unit)  # type: ignore[union-attr]  # parent_id is set
    if not above:
        return _forbidden(
            _("Only an officer of a unit above %(unit)s can review or urge its assignment.")
            % {"unit": assignment.unit.name}
        )
    return None


def assignment_accept_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """签收: the unit acknowledges a pending assignment."""
    refusal = _worker_refusal(grants, assignment)
    if refusal is None and assignment.status != Status.PENDING:
        refusal = wrong_state(assignment, (Status.PENDING,), _lazy("accept"))
    return refusal


def delegation_refusal(assignment: Assignment) -> Refusal | None:
    """Whether the assignment's children allow reporting upward (None when it has none).

    The street reports on the strength of its communities' approved reports. By default one is
    enough: the communities still open are named in the report and stay open (and overdue) on
    their own; a task with `all_delegated_required` waits for every one of them.
    """
    total = getattr(assignment, "children_total", 0)
    approved = getattr(assignment, "children_approved", 0)
    if not total:
        return None
    require_all = requirements_of(assignment.task)["all_delegated_required"]
    if (require_all and approved < total) or approved == 0:
        message = (
            _(
                "%(open)s of the %(total)s delegated assignments are not approved yet; this task needs all of them approved before reporting."
            )
            if require_all
            else _(
                "None of the %(total)s delegated assignments is approved yet; report once at least one is approved."
            )
        )
        return Refusal(
            status.HTTP_409_CONFLICT,
            message % {"open": total - approved, "total": total},
            {"status": assignment.status, "children_total": total, "children_approved": approved},
        )
    return None


def assignment_submit_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """提交 / 上报: a completion report for an open assignment of the person's unit."""
    refusal = _worker_refusal(grants, assignment)
    if refusal is None and assignment.status not in SUBMITTABLE:
        refusal = wrong_state(assignment, SUBMITTABLE, _lazy("submit"))
    return refusal or delegation_refusal(assignment)


def assignment_delegate_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """下派: the holder passes an open assignment of a published task on to units below it."""
    unit = assignment.unit
    if not grants.can(Action.DISPATCH, unit):
        return _forbidden(
            _("Only an administrator or officer of %(unit)s can delegate its assignment.")
            % {"unit": unit.name}
        )
    task = assignment.task
    if task.status != TaskStatus.PUBLISHED:
        return Refusal(
            status.HTTP_409_CONFLICT,
            _("The task is %(status)s; its assignments can no longer be delegated.")
            % {"status": task_status_label(task.status)},
            {"status": assignment.status},
        )
    if assignment.status not in URGEABLE:
        return wrong_state(assignment, URGEABLE, _lazy("delegate"))
    if unit.level >= MAX_DEPTH or unit.rght - unit.lft <= 1:
        return Refusal(
            status.HTTP_409_CONFLICT,
            _("%(unit)s has no units below it to delegate to.") % {"unit": unit.name},
            {"status": assignment.status},
        )
    return None


def _own_report_refusal(grants: Grants, submission: Submission | None) -> Refusal | None:
    if submission is not None and submission.submitted_by_id is not None:
        if submission.submitted_by_id == grants.user_id:
            return _forbidden(_("You submitted this report yourself; another officer has to review it."))
    return None


def _review_refusal(grants: Grants, assignment: Assignment, submission: Submission | None) -> Refusal | None:
    refusal = _reviewer_refusal(grants, assignment)
    if refusal is None and assignment.status != Status.SUBMITTED:
        refusal = wrong_state(assignment, (Status.SUBMITTED,), _lazy("review"))
    return refusal or _own_report_refusal(grants, submission)


def assignment_review_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """审核: an officer above judges the submitted report; never one's own report, superusers included."""
    return _review_refusal(grants, assignment, assignment.current_submission)


def assignment_urge_refusal(grants: Grants, assignment: Assignment) -> Refusal | None:
    """催办: an officer above presses a unit whose assignment is still open."""
    refusal = _reviewer_refusal(grants, assignment)
    if refusal is None and assignment.status not in URGEABLE:
        refusal = wrong_state(assignment, URGEABLE, _lazy("urge"))
    return refusal


ASSIGNMENT_POLICIES: dict[AssignmentAction, Callable[[Grants, Assignment], Refusal | None]] = {
    AssignmentAction.ACCEPT: assignment_accept_refusal,
    AssignmentAction.SUBMIT: assignment_submit_refusal,
    AssignmentAction.DELEGATE: assignment_delegate_refusal,
    AssignmentAction.REVIEW: assignment_review_refusal,
    AssignmentAction.URGE: assignment_urge_refusal,
}


def submission_review_refusal(grants: Grants, submission: Submission) -> Refusal | None:
    """A report is reviewed while it is its assignment's current, submitted one."""
    assignment = submission.assignment
    if assignment.current_submission_id != submission.pk:
        return Refusal(
            status.HTTP_409_CONFLICT,
            _("This report was replaced by a later one; review the latest report."),
            {"status": assignment.status},
        )
    return _review_refusal(grants, assignment, submission)


# The `actions` lists ------------------------------------------------------------------------------


def task_actions(grants: Grants, task: PracticeTask) -> list[str]:
    return [str(action) for action, refusal in TASK_POLICIES.items() if refusal(grants, task) is None]


def assignment_actions(grants: Grants, assignment: Assignment) -> list[str]:
    return [
        str(action) for action, refusal in ASSIGNMENT_POLICIES.items() if refusal(grants, assignment) is None
    ]


def submission_actions(grants: Grants, submission: Submission) -> list[str]:
    return [str(SubmissionAction.REVIEW)] if submission_review_refusal(grants, submission) is None else []
