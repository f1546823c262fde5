"""总览 (the dashboard's first form), the task list and a task's page with its progress down the tree."""

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse

from common.exceptions import Forbidden
from orgs.scope import Grants
from tasks import selectors
from tasks.models import Assignment, PracticeTask
from web import presenters
from web.homes import Home
from web.views.base import page, paginate, render_page, request_workspaces, unit_param

Status = Assignment.Status


def _in_subtree(unit, prefix: str = "unit") -> Q:
    return Q(
        **{
            f"{prefix}__tree_id": unit.tree_id,
            f"{prefix}__lft__gte": unit.lft,
            f"{prefix}__rght__lte": unit.rght,
        }
    )


@page
def overview(request: HttpRequest) -> HttpResponse:
    """总览 of a unit: figures over the assignments below it and the tasks it issued, each with the
    share of its first-level assignments approved. Read-only for everyone; phase 2 adds the per-street
    bars of the real dashboard."""
    user = request.user
    unit = unit_param(request, Home.OVERVIEW)
    below = (
        selectors.assignment_list(user=user, grants=Grants.of_request(request))  # type: ignore[arg-type]
        .filter(_in_subtree(unit))
        .exclude(unit=unit)
    )  # type: ignore[arg-type]
    figures = below.aggregate(
        open=Count("id", filter=Q(status__in=[Status.PENDING, Status.ACCEPTED, Status.RETURNED])),
        waiting=Count("id", filter=Q(status=Status.SUBMITTED)),
        overdue=Count("id", filter=selectors.overdue_q()),
        approved=Count("id", filter=Q(status=Status.APPROVED)),
    )
    first_level = Q(assignments__parent__isnull=True)
    tasks = (
        selectors.task_list(user=user)  # type: ignore[arg-type]
        .filter(issuer_unit=unit)
        .annotate(
            assigned=Count("assignments", filter=first_level),
            approved=Count("assignments", filter=first_level & Q(assignments__status=Status.APPROVED)),
        )
    )
    status = request.GET.get("status") or ""
    if status in PracticeTask.Status.values:
        tasks = tasks.filter(status=status)
    context = {
        "unit": unit,
        "figures": figures,
        "page_obj": paginate(request, tasks),
        "status": status,
        "statuses": PracticeTask.Status.choices,
    }
    return render_page(request, "web/overview.html", context, active="home")


@page
def task_list(request: HttpRequest) -> HttpResponse:
    tasks = selectors.task_list(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status") or ""
    if status in PracticeTask.Status.values:
        tasks = tasks.filter(status=status)
    context = {
        "page_obj": paginate(request, tasks),
        "status": status,
        "statuses": PracticeTask.Status.choices,
    }
    return render_page(request, "web/task_list.html", context, active="tasks")


def _rows(progress: dict) -> list[dict]:
    """The units below the root, each with the badge of its own assignment and the number of
    assignments of the units below it (those rows open further)."""
    return [
        {
            **row,
            "own_badge": presenters.assignment_status_badge(row["own_status"]),
            "below": row["total"] - (1 if row["own_status"] else 0),
        }
        for row in progress["units"][1:]
    ]


def _progress(request: HttpRequest, task: PracticeTask, unit_id: str | None) -> dict:
    """tasks.selectors.task_progress from the issuing unit, or for those who see only part of the
    tree, from their own highest unit inside it."""
    user = request.user
    if unit_id:
        return selectors.task_progress(user=user, task_id=task.pk, unit_id=unit_id)  # type: ignore[arg-type]
    try:
        return selectors.task_progress(user=user, task_id=task.pk)  # type: ignore[arg-type]
    except Forbidden:
        issuer = task.issuer_unit
        inside = [
            w.unit
            for w in request_workspaces(request)
            if w.unit.tree_id == issuer.tree_id and issuer.lft < w.unit.lft and w.unit.rght < issuer.rght
        ]
        if not inside:
            raise
        return selectors.task_progress(user=user, task_id=task.pk, unit_id=inside[0].pk)  # type: ignore[arg-type]


@page
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """The task: notice, attachments, evidence asked for, progress down the tree, timeline."""
    user = request.user
    task = selectors.task_get(user=user, task_id=task_id)  # type: ignore[arg-type]
    progress = _progress(request, task, None)
    own_units = [w.unit.pk for w in request_workspaces(request)]
    own_assignments = list(
        selectors.assignment_list(user=user, grants=Grants.of_request(request)).filter(  # type: ignore[arg-type]
            task=task, unit_id__in=own_units
        )  # type: ignore[arg-type]
    )
    context = {
        "task": task,
        "progress": progress,
        "rows": _rows(progress),
        "own_assignments": own_assignments,
        "events": list(selectors.task_events(user=user, task_id=task.pk)),  # type: ignore[arg-type]
    }
    return render_page(request, "web/task.html", context, active="tasks")


@page
def task_progress_rows(request: HttpRequest, task_id: int) -> HttpResponse:
    """The units one level below ?unit= (htmx swaps them in under that unit's row)."""
    task = selectors.task_get(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    progress = _progress(request, task, request.GET.get("unit"))
    context = {"task": task, "progress": progress, "rows": _rows(progress), "nested": True}
    return render_page(
        request, "web/task_progress.html", context, active="tasks", partial="web/partials/progress_rows.html"
    )
