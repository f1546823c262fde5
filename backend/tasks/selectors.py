"""Reads of tasks and assignments. Every selector takes the acting user and applies orgs.scope.

Who sees a task: anyone whose visible units include the issuing unit, or any unit holding an
assignment of it (a community worker sees the tasks assigned to their community). Who sees an
assignment: anyone who sees its unit. Everything else is 404.
"""

from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import NotFound, ValidationFailed
from orgs.models import OrgUnit, User, level_key
from orgs.rollup import Aggregate, subtree_rollup
from orgs.scope import Action, Grants, unit_condition, units_for
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


def assignment_scope(*, user: User, grants: Grants | None = None) -> QuerySet[Assignment]:
    """The assignments the user sees, with nothing loaded beside them: what the inbox's filters
    narrow and count (`tasks.inbox.AssignmentRows` reads the page). Filtered by the literal tree ranges of the
    user's memberships (`Grants.unit_q`): an index seek to the reader's own units."""
    grants = grants or Grants.of(user)
    return Assignment.objects.filter(grants.unit_q(Action.VIEW, "unit"))


def assignment_list(*, user: User, grants: Grants | None = None) -> QuerySet[Assignment]:
    """The inbox: assignments of the units the user sees, soonest due first, with their children's rollup.

    Filtered by the literal tree ranges of the user's memberships (`Grants.unit_q`): a worker's inbox
    is an index seek to their own unit's rows, not a walk over every assignment of a large task.
    Everything the `actions` of a row read is loaded with it (tasks.policies).
    """
    grants = grants or Grants.of(user)
    # The page's rows join only their unit; what else they show or decide on (the task with its
    # category and issuer, the delegating assignment's unit, who made the current report) comes
    # in one small query each for the page. A wide join would be planned and carried for every
    # row the sort looks at, which is what made a street's page cost as much as the district's.
    return (
        Assignment.objects.filter(grants.unit_q(Action.VIEW, "unit"))
        .select_related("unit")
        .prefetch_related(
            Prefetch("task", queryset=PracticeTask.objects.select_related("category", "issuer_unit")),
            Prefetch("parent", queryset=Assignment.objects.select_related("unit")),
            Prefetch(
                "current_submission",
                queryset=Submission.objects.only("id", "assignment_id", "submitted_by_id"),
            ),
        )
        .annotate(children_total=_child_count(), children_approved=_child_count(status=Status.APPROVED))
        .order_by("due_at", "id")
    )


def overdue_q(now: datetime | None = None) -> Q:
    """Derived, never stored: due time passed and the assignment is still open."""
    return Q(due_at__lt=now or timezone.now(), status__in=OPEN_STATUSES)


def assignment_get(*, user: User, assignment_id: Any, grants: Grants | None = None) -> Assignment:
    try:
        return (
            assignment_list(user=user, grants=grants)
            .prefetch_related(None)  # one row: one query with everything joined
            .select_related(
                "task__category",
                "task__issuer_unit",
                "unit__parent",
                "parent__unit",
                "current_submission__submitted_by",
                "current_submission__reviewed_by",
            )
            .get(pk=_int(assignment_id))
        )
    except Assignment.DoesNotExist as exc:
        raise NotFound(_("Assignment not found, or you do not have access to it.")) from exc


def assignment_rollup(*, assignment: Assignment, children: list[Assignment]) -> dict[str, Any]:
    """Counts of the delegated children the reader sees, per status, overdue, and the completion rate:
    the same children the answer lists, so the counts always match the rows."""
    now = timezone.now()
    counts: dict[str, Any] = {
        "total": len(children),
        "overdue": sum(1 for child in children if child.status in OPEN_STATUSES and child.due_at < now),
        **{status: sum(1 for child in children if child.status == status) for status in Status.values},
    }
    counts["completion_rate"] = round(counts["approved"] / counts["total"], 4) if counts["total"] else None
    return counts


def assignment_children(*, user: User, assignment: Assignment) -> list[Assignment]:
    """The delegated children with their latest reports (photos and flags included), so the unit
    above sees what was reported; only those the reader may see (a community moved to another
    street since the delegation is no longer the old street's to read)."""
    children = list(
        Assignment.objects.filter(parent=assignment)
        .filter(unit_condition(user, Action.VIEW, prefix="unit"))
        .select_related("unit", "task", "current_submission__submitted_by", "current_submission__reviewed_by")
        .prefetch_related("current_submission__photos", "current_submission__flags")
        .order_by("unit__lft", "id")
    )
    for child in children:
        child.parent = assignment  # what the children's `actions` read, without a query each
        child.children_total = child.children_approved = 0  # type: ignore[attr-defined]  # communities delegate no further
        if child.current_submission is not None:
            child.current_submission.assignment = child
    return children


def assignment_detail(*, user: User, assignment_id: Any, grants: Grants | None = None) -> Assignment:
    """One assignment as a reviewer reads it: its latest report with photos and flags, the rollup and
    the children's latest reports. A constant number of queries whatever the number of children."""
    assignment = assignment_get(user=user, assignment_id=assignment_id, grants=grants)
    if assignment.current_submission is not None:
        prefetch_related_objects([assignment.current_submission], "photos", "flags")
        assignment.current_submission.assignment = assignment
    children = assignment_children(user=user, assignment=assignment)
    # Read by AssignmentDetailSerializer; attributes of this result only, not model fields.
    assignment.rollup = assignment_rollup(assignment=assignment, children=children)  # type: ignore[attr-defined]
    assignment.child_list = children  # type: ignore[attr-defined]
    return assignment


def assignment_events(
    *,
    user: User,
    assignment_id: Any = None,
    grants: Grants | None = None,
    assignment: Assignment | None = None,
) -> QuerySet[AssignmentEvent]:
    """Every transition, oldest first. `assignment`: one the caller already read through
    assignment_get or assignment_detail (the same access rule), so it is not read again."""
    if assignment is None:
        assignment = assignment_get(user=user, assignment_id=assignment_id, grants=grants)
    return assignment.events.select_related("actor").order_by("created_at", "id")


def _with_evidence(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    return submissions.select_related("submitted_by", "reviewed_by").prefetch_related("photos", "flags")


def submission_list(
    *,
    user: User,
    assignment_id: Any = None,
    grants: Grants | None = None,
    assignment: Assignment | None = None,
) -> list[Submission]:
    """The report history, newest first, each with its photos, flags and review: four queries (three
    when the caller passes the `assignment` it already read through assignment_get or
    assignment_detail, the same access rule)."""
    if assignment is None:
        assignment = assignment_get(user=user, assignment_id=assignment_id, grants=grants)
    submissions = list(_with_evidence(assignment.submissions.all()).order_by("-created_at", "-id"))
    for submission in submissions:
        submission.assignment = assignment  # what the reports' `actions` read
    return submissions


def submission_get(*, user: User, submission_id: Any) -> Submission:
    try:
        return (
            _with_evidence(
                Submission.objects.filter(unit_condition(user, Action.VIEW, prefix="assignment__unit"))
            )
            .select_related("assignment__unit", "assignment__parent__unit", "assignment__task")
            .get(pk=_int(submission_id))
        )
    except Submission.DoesNotExist as exc:
        raise NotFound(_("Report not found, or you do not have access to it.")) from exc


# Progress -----------------------------------------------------------------------------------------


def _progress_root(*, user: User, issuer: OrgUnit, unit_id: Any) -> OrgUnit:
    """The unit whose subtree the progress shows: `unit_id` when given, the issuer when the reader sees
    it, else the reader's own highest unit inside the issuer's subtree (a street officer sees their
    street's part of a district task without having to ask for it)."""
    inside_issuer = units_for(user, Action.VIEW).filter(
        tree_id=issuer.tree_id, lft__gte=issuer.lft, rght__lte=issuer.rght
    )
    if unit_id is not None:
        root = inside_issuer.filter(pk=_int(unit_id)).select_related("parent").first()
    else:
        root = inside_issuer.select_related("parent").order_by("level", "lft").first()
    if root is None:
        raise NotFound(
            _("That unit is not in this task's part of the tree, or you do not have access to it.")
        )
    return root


def task_progress(*, user: User, task_id: Any, depth: int = 1, unit_id: Any = None) -> dict[str, Any]:
    """Per unit of the subtree (down to `depth` levels below the root): assignments per status below it.

    The root is the issuing unit, or for those who see only a part of the tree their own part
    (`unit_id` picks another unit inside it). One aggregate statement over the tree
    (orgs.rollup.subtree_rollup), never a query per unit.
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
    root = _progress_root(user=user, issuer=task.issuer_unit, unit_id=unit_id)
    statuses = list(Status.values)
    open_marks = ",".join(["%s"] * len(OPEN_STATUSES))
    rows = subtree_rollup(
        root=root,
        depth=depth,
        rows_sql=f"SELECT unit_id, status, due_at FROM {Assignment._meta.db_table} WHERE task_id = %s",  # noqa: S608
        rows_params=[task.pk],
        aggregates=[
            Aggregate("total", "COUNT(r.unit_id)"),
            *(
                Aggregate(f"s_{status}", "COUNT(r.unit_id) FILTER (WHERE r.status = %s)", [status])
                for status in statuses
            ),
            Aggregate(
                "overdue",
                f"COUNT(r.unit_id) FILTER (WHERE r.status IN ({open_marks}) AND r.due_at < %s)",
                [*OPEN_STATUSES, timezone.now()],
            ),
            Aggregate("own_status", "MAX(CASE WHEN r.unit_id = u.id THEN r.status END)"),
        ],
    )
    units = []
    for row in rows:
        counts = {status: row[f"s_{status}"] for status in statuses}
        units.append(
            {
                "id": row["id"],
                "name": row["name"],
                "code": row["code"],
                "level": level_key(row["level"]),
                "parent": row["parent_id"],
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
    parent = root.parent
    return {
        "task": task.pk,
        "root": {
            "id": root.pk,
            "name": root.name,
            "code": root.code,
            "level": level_key(root.level),
            "parent": (
                {"id": parent.pk, "name": parent.name, "code": parent.code, "level": level_key(parent.level)}
                if parent is not None
                else None
            ),
        },
        "depth": depth,
        "totals": totals,
        "units": units,
    }


# Dashboards and counts the pages show before acting ------------------------------------------------


def task_first_level_counts(*, user: User, task_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per task of a page of tasks: its first-level assignments and how many are approved (one
    GROUP BY). Only tasks the user sees are counted; the others are simply absent."""
    visible = _visible_tasks(user).filter(pk__in=task_ids).values("pk")
    rows = (
        Assignment.objects.filter(task_id__in=visible, parent__isnull=True)
        .order_by()
        .values("task_id")
        .annotate(assigned=Count("id"), approved=Count("id", filter=Q(status=Status.APPROVED)))
    )
    return {row["task_id"]: {"assigned": row["assigned"], "approved": row["approved"]} for row in rows}


def target_count(*, user: User, issuer_unit_id: Any, targets: Any, task_id: int | None = None) -> int:
    """How many units `targets` reach below the issuing unit: the units publishing would send the task
    to (those already holding an assignment of `task_id` not counted again). One statement over the
    tree, the same unit set the fan-out inserts from (tasks.services.targets.target_units_sql).
    Malformed targets are a 400; targets outside the issuing unit reach nobody."""
    from tasks.services.targets import target_units_sql, targets_shape

    issuer = units_for(user, Action.VIEW).filter(pk=_int(issuer_unit_id)).first()
    if issuer is None:
        raise NotFound(_("Unit not found, or you do not have access to it."))
    units_sql, params = target_units_sql(root=issuer, targets=targets_shape(targets))
    if not units_sql:
        return 0
    sql = f"SELECT COUNT(*) FROM ({units_sql}) AS x"  # noqa: S608
    if task_id is not None:
        sql += f" WHERE NOT EXISTS (SELECT 1 FROM {Assignment._meta.db_table} a WHERE a.task_id = %s AND a.unit_id = x.id)"  # noqa: S608
        params = [*params, task_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def unit_dashboard(*, user: User, unit_id: Any) -> dict[str, Any]:
    """The work under way below a unit, per unit one level down: every assignment of the published
    tasks in each unit's subtree, approved, approved on time (settled by its due time), waiting for
    review, overdue, and reports waiting with authenticity flags. One statement over the tree
    (orgs.rollup.subtree_rollup) whatever the number of units or assignments."""
    root = units_for(user, Action.VIEW).filter(pk=_int(unit_id)).first()
    if root is None:
        raise NotFound(_("Unit not found, or you do not have access to it."))
    assignments = Assignment._meta.db_table
    tasks = PracticeTask._meta.db_table
    flags = apps.get_model("evidence", "EvidenceFlag")._meta.db_table
    open_marks = ",".join(["%s"] * len(OPEN_STATUSES))
    rows = subtree_rollup(
        root=root,
        depth=1,
        rows_sql=(
            f"SELECT a.unit_id, a.status, a.due_at, a.settled_at, "  # noqa: S608
            f"EXISTS (SELECT 1 FROM {flags} f WHERE f.submission_id = a.current_submission_id) AS flagged "
            f"FROM {assignments} a JOIN {tasks} t ON t.id = a.task_id WHERE t.status = %s"
        ),
        rows_params=[PracticeTask.Status.PUBLISHED],
        aggregates=[
            Aggregate("total", "COUNT(r.unit_id)"),
            Aggregate("approved", "COUNT(r.unit_id) FILTER (WHERE r.status = %s)", [Status.APPROVED]),
            Aggregate(
                "on_time",
                "COUNT(r.unit_id) FILTER (WHERE r.status = %s AND r.settled_at <= r.due_at)",
                [Status.APPROVED],
            ),
            Aggregate("waiting", "COUNT(r.unit_id) FILTER (WHERE r.status = %s)", [Status.SUBMITTED]),
            Aggregate(
                "overdue",
                f"COUNT(r.unit_id) FILTER (WHERE r.status IN ({open_marks}) AND r.due_at < %s)",
                [*OPEN_STATUSES, timezone.now()],
            ),
            Aggregate(
                "flagged", "COUNT(r.unit_id) FILTER (WHERE r.status = %s AND r.flagged)", [Status.SUBMITTED]
            ),
        ],
    )
    units = [
        {
            **row,
            "level": level_key(row["level"]),
            "completion_rate": round(row["approved"] / row["total"], 4) if row["total"] else None,
            "on_time_rate": round(row["on_time"] / row["total"], 4) if row["total"] else None,
        }
        for row in rows
    ]
    return {"root": root, "totals": units[0], "units": units[1:]}
