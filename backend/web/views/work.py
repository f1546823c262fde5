"""我的任务, the assignment page and the street's inbox (待办): reads through tasks.selectors only."""

from typing import Any

from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse

from evidence import selectors as evidence_selectors
from evidence.flags import earlier_unit_id, flag_message
from orgs.models import User
from orgs.scope import Grants
from tasks import selectors
from tasks.models import ENDED_STATUSES, OPEN_STATUSES, Assignment, Submission
from web.homes import Home
from web.views.base import page, paginate, render_page, unit_param, with_actions

Status = Assignment.Status
RECENTLY_ENDED = 5


def returned_first(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Returned reports first (the unit must act on them), then by due time."""
    return assignments.annotate(
        returned_rank=Case(
            When(status=Status.RETURNED, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("returned_rank", "due_at", "id")


@page
def mine(request: HttpRequest) -> HttpResponse:
    """我的任务: the open assignments of one unit (the worker's community)."""
    unit = unit_param(request, Home.MINE)
    visible = selectors.assignment_list(user=request.user, grants=Grants.of_request(request))  # type: ignore[arg-type]
    open_items = with_actions(
        Grants.of_request(request),
        paginate(request, returned_first(visible.filter(unit=unit, status__in=OPEN_STATUSES))),
    )
    ended = visible.filter(unit=unit, status__in=ENDED_STATUSES).order_by("-updated_at", "-id")[
        :RECENTLY_ENDED
    ]
    context = {"unit": unit, "page_obj": open_items, "ended": list(ended)}
    return render_page(
        request, "web/mine.html", context, active="home", partial="web/partials/assignment_rows.html"
    )


INBOX_SECTIONS = ("review", "own", "overdue")
# What each list of 待办 offers on its rows; each assignment's page offers everything it may.
SECTION_ACTIONS: dict[str, tuple[str, ...]] = {
    "review": ("review",),
    "own": (),
    "overdue": ("review", "urge"),
}


def review_queue(
    request: HttpRequest, unit, visible: QuerySet[Assignment] | None = None
) -> QuerySet[Assignment]:
    """审核 queue of a unit: the reports of the units right below it waiting for review, oldest first."""
    if visible is None:
        visible = selectors.assignment_list(user=request.user, grants=Grants.of_request(request))  # type: ignore[arg-type]
    return visible.filter(unit__parent=unit, status=Status.SUBMITTED).order_by(
        "current_submission__created_at", "id"
    )


def _inbox_section(request: HttpRequest, unit, section: str) -> QuerySet[Assignment]:
    # The rows show when each unit reported: one joined column, not the whole report.
    visible = selectors.assignment_list(user=request.user, grants=Grants.of_request(request)).annotate(  # type: ignore[arg-type]
        submitted_at=F("current_submission__created_at")
    )
    if section == "review":
        return review_queue(request, unit, visible)
    if section == "overdue":
        return visible.filter(unit__parent=unit).filter(selectors.overdue_q()).order_by("due_at", "id")
    return returned_first(visible.filter(unit=unit, status__in=OPEN_STATUSES))


@page
def inbox(request: HttpRequest) -> HttpResponse:
    """待办 of a street: its own open assignments, its communities' reports waiting for review and
    its communities' overdue assignments. Each list pages on its own (?review=2, htmx "more")."""
    unit = unit_param(request, Home.INBOX)
    only = request.GET.get("section")
    sections = {}
    for section in INBOX_SECTIONS:
        if only and section != only:
            continue
        sections[section] = with_actions(
            Grants.of_request(request),
            paginate(request, _inbox_section(request, unit, section), param=section),
            only=SECTION_ACTIONS[section],
        )
    context = {"unit": unit, "sections": sections, "section": only}
    if only in INBOX_SECTIONS:
        return render_page(
            request,
            "web/inbox.html",
            {**context, "page_obj": sections[only]},
            partial="web/partials/inbox_more.html",
        )
    return render_page(request, "web/inbox.html", context, active="home")


def _flags_for(submissions: list[Submission], visible_units: set[int]) -> None:
    """Each submission's flags explained in the reader's language (attribute `flag_notes`), the
    photo flags beside their photo (`photo.flag_notes`). No query: flags and photos are prefetched."""
    for submission in submissions:
        photos = {photo.pk: photo for photo in submission.photos.all()}
        for photo in photos.values():
            photo.flag_notes = []  # type: ignore[attr-defined]
        notes = []
        for flag in submission.flags.all():
            note = flag_message(flag, earlier_visible=earlier_unit_id(flag) in visible_units)
            if flag.photo_id in photos:
                photos[flag.photo_id].flag_notes.append(note)  # type: ignore[attr-defined]
            else:
                notes.append(note)
        submission.flag_notes = notes  # type: ignore[attr-defined]


def assignment_context(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    """The assignment as its page shows it: the notice and attachments, what to report, the reviewer's
    comment after 退回, past reports with photos and outcomes, the delegated units' state, the history;
    with the `actions` of the assignment and of each delegated unit."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    grants = Grants.of_request(request)
    assignment = selectors.assignment_detail(user=user, assignment_id=assignment_id, grants=grants)
    reports = list(selectors.submission_list(user=user, assignment=assignment))
    children = assignment.child_list  # type: ignore[attr-defined]  # set by selectors.assignment_detail
    visible_units = evidence_selectors.earlier_units_visible(
        user=user,
        submissions=[*reports, *(child.current_submission for child in children)],
    )
    _flags_for(reports, visible_units)
    with_actions(grants, [assignment, *children])
    latest = reports[0] if reports else None
    return {
        "assignment": assignment,
        "task": assignment.task,
        "attachments": list(assignment.task.attachments.all()),
        "reports": reports,
        "returned_report": latest
        if assignment.status == Status.RETURNED and latest and latest.decision == Submission.Decision.RETURN
        else None,
        "children": children,
        "missing_children": [child for child in children if child.status != Status.APPROVED],
        "overdue_children": [child for child in children if child.is_overdue and "urge" in child.actions],
        "rollup": assignment.rollup,  # type: ignore[attr-defined]
        "events": list(selectors.assignment_events(user=user, assignment=assignment)),
    }


def assignment_page(
    request: HttpRequest, assignment_id: int, *, slot_error: str = "", status: int = 200
) -> HttpResponse:
    context = {**assignment_context(request, assignment_id), "slot_error": slot_error}
    return render_page(request, "web/assignment.html", context, active="home", status=status)


@page
def assignment_detail(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return assignment_page(request, assignment_id)
