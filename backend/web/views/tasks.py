"""总览 (the dashboard), the task list and a task's page with its progress down the tree."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from orgs.models import Level, OrgUnit
from orgs.scope import Action, Grants
from tasks import policies, selectors
from tasks.models import Assignment, PracticeTask
from web import presenters
from web.homes import Home
from web.views.base import page, paginate, render_page, request_workspaces, unit_param, with_actions

Status = Assignment.Status


@page
def overview(request: HttpRequest) -> HttpResponse:
    """总览 of a unit: the work under way below it per unit one level down (completion and on-time
    rates as bars, overdue, waiting for review, flagged reports; a unit opens its own 总览), and the
    tasks it issued with their first-level progress. Read-only for viewers: no buttons."""
    user = request.user
    unit = unit_param(request, Home.OVERVIEW)
    dashboard = selectors.unit_dashboard(user=user, unit_id=unit.pk)  # type: ignore[arg-type]
    tasks = selectors.task_list(user=user).filter(issuer_unit=unit)  # type: ignore[arg-type]
    status = request.GET.get("status") or ""
    if status in PracticeTask.Status.values:
        tasks = tasks.filter(status=status)
    page_obj = paginate(request, tasks)
    _with_counts(request, page_obj)
    rows = [
        {
            **row,
            "completion": presenters.percent(row["completion_rate"]),
            "on_time": presenters.percent(row["on_time_rate"]),
        }
        for row in dashboard["units"]
    ]
    context = {
        "unit": unit,
        "parent": _visible_parent(request, unit),
        "figures": dashboard["totals"],
        "rows": rows,
        "page_obj": page_obj,
        "status": status,
        "statuses": PracticeTask.Status.choices,
        "can_issue": unit.level < Level.COMMUNITY
        and policies.task_issue_refusal(Grants.of_request(request), unit) is None,
    }
    return render_page(request, "web/overview.html", context, active="home")


def _visible_parent(request: HttpRequest, unit: OrgUnit) -> OrgUnit | None:
    """The unit above, when the reader sees it (the way back up from a street's 总览)."""
    if unit.parent_id is None:
        return None
    parent = OrgUnit.objects.filter(pk=unit.parent_id).first()
    return parent if parent is not None and Grants.of_request(request).can(Action.VIEW, parent) else None


def _with_counts(request: HttpRequest, page_obj) -> None:
    """Each task of the page with its first-level assignments and approvals (one GROUP BY)."""
    page_obj.object_list = list(page_obj.object_list)
    counts = selectors.task_first_level_counts(
        user=request.user,  # type: ignore[arg-type]
        task_ids=[task.pk for task in page_obj.object_list],
    )
    for task in page_obj.object_list:
        found = counts.get(task.pk, {})
        task.assigned = found.get("assigned", 0)
        task.approved = found.get("approved", 0)


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
    """tasks.selectors.task_progress from the issuing unit, or the reader's own part of the tree."""
    return selectors.task_progress(user=request.user, task_id=task.pk, unit_id=unit_id or None)  # type: ignore[arg-type]


@page
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """The task: notice, attachments, evidence asked for, progress down the tree, timeline."""
    user = request.user
    task = selectors.task_get(user=user, task_id=task_id)  # type: ignore[arg-type]
    progress = _progress(request, task, None)
    own_units = [w.unit.pk for w in request_workspaces(request)]
    grants = Grants.of_request(request)
    own_assignments = with_actions(
        grants,
        selectors.assignment_list(user=user, grants=grants).filter(task=task, unit_id__in=own_units),  # type: ignore[arg-type]
    )
    with_actions(grants, [task])
    context = {
        "task": task,
        "progress": progress,
        "rows": _rows(progress),
        "own_assignments": own_assignments,
        "events": list(selectors.task_events(user=user, task_id=task.pk)),  # type: ignore[arg-type]
        # The ledger is open to whoever sees the task (scoring.selectors.task_ledger: their part of
        # it); a draft has none yet.
        "ledger_url": reverse("task-ledger", args=[task.pk])
        if task.status != PracticeTask.Status.DRAFT
        else "",
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
