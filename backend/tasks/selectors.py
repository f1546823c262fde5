"""Reads of tasks and assignments. Every selector takes the acting user and applies orgs.scope.

Who sees a task: anyone whose visible units include the issuing unit, or any unit holding an
assignment of it (a community worker sees the tasks assigned to their community). Who sees an
assignment: anyone who sees its unit. Everything else is 404.
"""

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Forbidden, NotFound, ValidationFailed
from orgs.models import OrgUnit, User, level_key
from orgs.scope import Action, can, unit_condition, units_for
from tasks.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentEvent,
    PracticeTask,
    Submission,
    TaskAttachment,
    TaskCategory,
    TaskEvent,
)

Status = Assignment.Status
MAX_PROGRESS_DEPTH = 5


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise NotFound(_("Not found, or you do not have access to it.")) from exc


# Categories ---------------------------------------------------------------------------------------


def category_list(*, user: User, include_inactive: bool = False) -> QuerySet[TaskCategory]:
    qs = TaskCategory.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)


def category_get(*, user: User, category_id: Any) -> TaskCategory:
    try:
        return TaskCategory.objects.get(pk=_int(category_id))
    except TaskCategory.DoesNotExist as exc:
        raise NotFound(_("Task category not found.")) from exc


# Tasks --------------------------------------------------------------------------------------------


def _visible_tasks(user: User) -> QuerySet[PracticeTask]:
    if not user.is_authenticated or not user.is_active:
        return PracticeTask.objects.none()
    if user.is_superuser:
        return PracticeTask.objects.all()
    assigned_here = Assignment.objects.filter(task=OuterRef("pk")).filter(
        unit_condition(user, Action.VIEW, prefix="unit")
    )
    return PracticeTask.objects.filter(
        Q(unit_condition(user, Action.VIEW, prefix="issuer_unit")) | Q(Exists(assigned_here))
    )


def task_list(*, user: User) -> QuerySet[PracticeTask]:
    return (
        _visible_tasks(user)
        .select_related("category", "issuer_unit", "author")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")
    )


def task_get(*, user: User, task_id: Any) -> PracticeTask:
    try:
        return task_list(user=user).get(pk=_int(task_id))
    except PracticeTask.DoesNotExist as exc:
        raise NotFound(_("Task not found, or you do not have access to it.")) from exc


def task_events(*, user: User, task_id: Any) -> QuerySet[TaskEvent]:
    task = task_get(user=user, task_id=task_id)
    return task.events.select_related("actor").order_by("created_at", "id")


def task_attachment_get(*, user: User, task_id: Any, attachment_id: Any) -> TaskAttachment:
    task = task_get(user=user, task_id=task_id)
    try:
        attachment = TaskAttachment.objects.get(task=task, pk=_int(attachment_id))
    except TaskAttachment.DoesNotExist as exc:
        raise NotFound(_("Attachment not found.")) from exc
    attachment.task = task
    return attachment


# Assignments --------------------------------------------------------------------------------------


def _child_count(**status_filter: Any) -> Coalesce:
    children = (
        Assignment.objects.filter(parent=OuterRef("pk"), **status_filter)
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(children, output_field=IntegerField()), Value(0))


def assignment_list(*, user: User) -> QuerySet[Assignment]:
    """The inbox: assignments of the units the user sees, soonest due first, with their children's rollup."""
    return (
        Assignment.objects.filter(unit_condition(user, Action.VIEW, prefix="unit"))
        .select_related("task__category", "task__issuer_unit", "unit")
        .annotate(children_total=_child_count(), children_approved=_child_count(status=Status.APPROVED))
        .order_by("due_at", "id")
    )


def overdue_q(now: datetime | None = None) -> Q:
    """Derived, never stored: due time passed and the assignment is still open."""
    return Q(due_at__lt=now or timezone.now(), status__in=OPEN_STATUSES)


def assignment_get(*, user: User, assignment_id: Any) -> Assignment:
    try:
        return (
            assignment_list(user=user)
            .select_related(
                "unit__parent", "current_submission__submitted_by", "current_submission__reviewed_by"
            )
            .get(pk=_int(assignment_id))
        )
    except Assignment.DoesNotExist as exc:
        raise NotFound(_("Assignment not found, or you do not have access to it.")) from exc


def assignment_rollup(*, assignment: Assignment) -> dict[str, Any]:
    """Counts of the assignment's delegated children per status, overdue and completion rate: one query."""
    counts = Assignment.objects.filter(parent=assignment).aggregate(
        total=Count("id"),
        overdue=Count("id", filter=overdue_q()),
        **{status: Count("id", filter=Q(status=status)) for status in Status.values},
    )
    counts["completion_rate"] = round(counts["approved"] / counts["total"], 4) if counts["total"] else None
    return counts


def assignment_children(*, user: User, assignment: Assignment) -> QuerySet[Assignment]:
    """The delegated children with their latest reports (photos and flags included), so the unit
    above sees what was reported; only those the reader may see (a community moved to another
    street since the delegation is no longer the old street's to read)."""
    return (
        Assignment.objects.filter(parent=assignment)
        .filter(unit_condition(user, Action.VIEW, prefix="unit"))
        .select_related("unit", "current_submission__submitted_by", "current_submission__reviewed_by")
        .prefetch_related("current_submission__photos", "current_submission__flags")
        .order_by("unit__lft", "id")
    )


def assignment_detail(*, user: User, assignment_id: Any) -> Assignment:
    """One assignment as a reviewer reads it: its latest report with photos and flags, the rollup and
    the children's latest reports. A constant number of queries whatever the number of children."""
    assignment = assignment_get(user=user, assignment_id=assignment_id)
    if assignment.current_submission is not None:
        prefetch_related_objects([assignment.current_submission], "photos", "flags")
    # Read by AssignmentDetailSerializer; attributes of this result only, not model fields.
    assignment.rollup = assignment_rollup(assignment=assignment)  # type: ignore[attr-defined]
    assignment.child_list = list(assignment_children(user=user, assignment=assignment))  # type: ignore[attr-defined]
    return assignment


def assignment_events(*, user: User, assignment_id: Any) -> QuerySet[AssignmentEvent]:
    assignment = assignment_get(user=user, assignment_id=assignment_id)
    return assignment.events.select_related("actor").order_by("created_at", "id")


def _with_evidence(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    return submissions.select_related("submitted_by", "reviewed_by").prefetch_related("photos", "flags")


def submission_list(*, user: User, assignment_id: Any) -> QuerySet[Submission]:
    """The report history, newest first, each with its photos, flags and review: four queries."""
    assignment = assignment_get(user=user, assignment_id=assignment_id)
    return _with_evidence(assignment.submissions.all()).order_by("-created_at", "-id")


def submission_get(*, user: User, submission_id: Any) -> Submission:
    try:
        return _with_evidence(
            Submission.objects.filter(unit_condition(user, Action.VIEW, prefix="assignment__unit"))
        ).get(pk=_int(submission_id))
    except Submission.DoesNotExist as exc:
        raise NotFound(_("Report not found, or you do not have access to it.")) from exc


# Progress -----------------------------------------------------------------------------------------


def task_progress(*, user: User, task_id: Any, depth: int = 1, unit_id: Any = None) -> dict[str, Any]:
    """Per unit of the subtree (down to `depth` levels below the root): assignments per status below it.

    The root is the issuing unit, or `unit_id` inside its subtree for those who see only a part of
    the tree. One aggregate statement: each unit of the window joins the units of its lft/rght
    range, and those join this task's assignments through the (task, unit) index. Never a query per
    unit.
    """
    try:
        task = _visible_tasks(user).select_related("issuer_unit").get(pk=_int(task_id))
    except PracticeTask.DoesNotExist as exc:
        raise NotFound(_("Task not found, or you do not have access to it.")) from exc
    if not 0 <= depth <= MAX_PROGRESS_DEPTH:
        raise ValidationFailed(
            _("depth must be from 0 to %(max)s.") % {"max": MAX_PROGRESS_DEPTH},
            {"depth": [_("Out of range.")]},
        )
    issuer = task.issuer_unit
    if unit_id is None:
        root = issuer
        if not can(user, Action.VIEW, root):
            raise Forbidden(
                _(
                    "You see this task through your own units only: add ?unit=<id of your unit> to see their progress."
                )
            )
    else:
        root = (
            units_for(user, Action.VIEW)
            .filter(pk=_int(unit_id), tree_id=issuer.tree_id, lft__gte=issuer.lft, rght__lte=issuer.rght)
            .first()
        )
        if root is None:
            raise NotFound(
                _("That unit is not in this task's part of the tree, or you do not have access to it.")
            )

    statuses = list(Status.values)
    open_marks = ",".join(["%s"] * len(OPEN_STATUSES))
    per_status = ", ".join(f"COUNT(a.id) FILTER (WHERE a.status = %s) AS s_{status}" for status in statuses)
    unit_table = OrgUnit._meta.db_table
    table = Assignment._meta.db_table
    sql = (
        f"SELECT u.id, u.name, u.code, u.level, u.parent_id, COUNT(a.id) AS total, {per_status}, "  # noqa: S608
        f"COUNT(a.id) FILTER (WHERE a.status IN ({open_marks}) AND a.due_at < %s) AS overdue, "
        f"MAX(CASE WHEN a.unit_id = u.id THEN a.status END) AS own_status "
        f"FROM {unit_table} u "
        f"LEFT JOIN {unit_table} d ON d.tree_id = u.tree_id AND d.lft >= u.lft AND d.lft < u.rght "
        f"LEFT JOIN {table} a ON a.task_id = %s AND a.unit_id = d.id "
        f"WHERE u.tree_id = %s AND u.lft >= %s AND u.rght <= %s AND u.level <= %s "
        f"GROUP BY u.id, u.name, u.code, u.level, u.parent_id, u.lft ORDER BY u.lft"
    )
    params = [
        *statuses,
        *OPEN_STATUSES,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        task.pk,
        root.tree_id,
        root.lft,
        root.rght,
        root.level + depth,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    units = []
    for row in rows:
        counts = {status: row[f"s_{status}"] for status in statuses}
        units.append(
            {
                "id": row["id"],
                "name": row["name"],
                "code": row["code"],
                "level": level_key(row["level"]),
                "parent": row["parent_id"] if row["id"] != root.pk else None,
                "own_status": row["own_status"],
                "total": row["total"],
                **counts,
                "overdue": row["overdue"],
                "completion_rate": round(counts[Status.APPROVED] / row["total"], 4) if row["total"] else None,
            }
        )
    totals = {
        key: value
        for key, value in units[0].items()
        if key not in ("id", "name", "code", "level", "parent", "own_status")
    }
    return {
        "task": task.pk,
        "root": {"id": root.pk, "name": root.name, "code": root.code, "level": level_key(root.level)},
        "depth": depth,
        "totals": totals,
        "units": units,
    }
