"""审核: the queue of reports waiting for the reader, oldest first, one report at a time.

The desk shows the report with its photos (1280 px previews in a lightbox), when and where each was
taken as far as known, the authenticity flags in words, the earlier reports and decisions; 通过 with
a rating or 退回 with a comment, then straight to the next report. The queue is the 待办 page's
review list (web.views.work.review_queue), so both always agree.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from common.exceptions import ApplicationError
from tasks import services
from tasks.serializers import ReviewInputSerializer
from web import presenters
from web.homes import Home
from web.views.base import done, page, render_form, unit_param
from web.views.work import assignment_context, review_queue

TEMPLATE, PARTIAL = "web/review.html", "web/partials/review_form.html"


def _queue_ids(request: HttpRequest, unit) -> list[int]:
    """The ids of the queue, oldest report first (one query; the queue is a street's handful, a
    district's dozens)."""
    return list(review_queue(request, unit).values_list("pk", flat=True)[:500])


def _queue_url(unit, assignment_id: int | None = None) -> str:
    if assignment_id is None:
        return f"{reverse('web:inbox')}?unit={unit.pk}"
    return f"{reverse('web:review', args=[assignment_id])}?unit={unit.pk}"


@page
def review_start(request: HttpRequest) -> HttpResponse:
    """The oldest report waiting; the 待办 page when there is none."""
    unit = unit_param(request, Home.INBOX)
    ids = _queue_ids(request, unit)
    return redirect(_queue_url(unit, ids[0] if ids else None))


def _context(request: HttpRequest, assignment_id: int, unit) -> dict[str, Any]:
    context = assignment_context(request, assignment_id)
    assignment = context["assignment"]
    ids = _queue_ids(request, unit)
    position = ids.index(assignment.pk) if assignment.pk in ids else None
    following = [pk for pk in ids if pk != assignment.pk]
    next_id = None
    if following:
        later = ids[position + 1 :] if position is not None else []
        next_id = (later or following)[0]
    reports = context["reports"]
    current = reports[0] if reports and not reports[0].decision else None
    station = assignment.unit
    if current is not None:
        for photo in current.photos.all():
            photo.distance_km = presenters.distance_km(photo, station)  # type: ignore[attr-defined]
    return {
        **context,
        "queue_unit": unit,
        "current": current,
        "earlier": [report for report in reports if report is not current],
        "queue_total": len(ids),
        "queue_position": (position + 1) if position is not None else None,
        "next_url": _queue_url(unit, next_id) if next_id else "",
        "ratings": [5, 4, 3, 2, 1],
    }


@page
def review(request: HttpRequest, assignment_id: int) -> HttpResponse:
    unit = unit_param(request, Home.INBOX)
    context = _context(request, assignment_id, unit)
    if request.method != "POST":
        return render_form(request, TEMPLATE, PARTIAL, context, active="home")
    assignment = context["assignment"]
    decision = request.POST.get("decision") or ""
    data = {
        "decision": decision,
        "comment": (request.POST.get("comment") or "").strip(),
        "rating": (request.POST.get("rating") or None) if decision == "approve" else None,
        "version": request.POST.get("version") or None,
    }
    try:
        values, errors = ReviewInputSerializer.parse(data)
        for field, problems in services.review_errors(
            decision=values.get("decision"), comment=values.get("comment"), rating=values.get("rating")
        ).items():
            errors.setdefault(field, problems)
        if errors:
            raise services.invalid(_("The review could not be saved"), errors)
        services.assignment_review(
            actor=request.user,  # type: ignore[arg-type]
            assignment=assignment,
            decision=values["decision"],
            comment=values["comment"],
            rating=values["rating"],
            expected_version=values["version"],
        )
    except ApplicationError as exc:
        return render_form(request, TEMPLATE, PARTIAL, context, exc=exc, active="home")
    if values["decision"] == "approve":
        message = _("Approved: %(unit)s, %(task)s") % {
            "unit": assignment.unit.name,
            "task": assignment.task.title,
        }
    else:
        message = _("Returned to %(unit)s: %(task)s") % {
            "unit": assignment.unit.name,
            "task": assignment.task.title,
        }
    # Straight to the next report: the oldest still waiting (this one has left the queue).
    remaining = _queue_ids(request, unit)
    return done(request, _queue_url(unit, remaining[0] if remaining else None), message)
