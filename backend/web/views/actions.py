"""The workflow forms of an assignment: 签收, 下派, 提交 / 上报, 催办 (one, or every overdue one below).

Each view parses its form, asks the same service as the API view with the same input shape
(tasks.serializers), and shows a refusal in place with the service's message, the form kept.
Which buttons exist is read from the object's `actions` (tasks.policies), never decided here.
"""

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from common import idempotency
from common.exceptions import ApplicationError, Forbidden, PayloadTooLarge, ValidationFailed
from orgs import selectors as org_selectors
from orgs.models import User
from orgs.scope import Grants
from tasks import policies, requirements, selectors, services, uploads
from tasks.serializers import DelegateInputSerializer, UrgeInputSerializer
from tasks.services.shared import merge_errors
from web.views.base import done, is_htmx, moment_field, page, render_form, render_page
from web.views.work import assignment_context, assignment_page

Action = policies.AssignmentAction


def _assignment(request: HttpRequest, assignment_id: int):
    assignment = selectors.assignment_get(
        user=request.user,  # type: ignore[arg-type]
        assignment_id=assignment_id,
        grants=Grants.of_request(request),
    )
    assignment.actions = policies.assignment_actions(Grants.of_request(request), assignment)  # type: ignore[attr-defined]
    return assignment


def _page_url(assignment) -> str:
    return reverse("web:assignment_detail", args=[assignment.pk])


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version") or ""
    return int(raw) if raw.isdigit() else None


def _slot_refused(request: HttpRequest, assignment_id: int, exc: ApplicationError) -> HttpResponse:
    """A one-button form refused: the buttons again (as they stand now) with the message beside them."""
    assignment = _assignment(request, assignment_id)
    context = {"object": assignment, "kind": "assignment", "error": str(exc.message)}
    if is_htmx(request):
        return render_page(
            request,
            "web/partials/action_slot.html",
            context,
            partial="web/partials/action_slot.html",
            status=exc.status_code,
        )
    # The whole page, with the refusal at its buttons.
    return assignment_page(request, assignment_id, slot_error=str(exc.message), status=exc.status_code)


@require_POST
@page
def accept(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """签收."""
    assignment = _assignment(request, assignment_id)
    try:
        services.assignment_accept(
            actor=request.user,  # type: ignore[arg-type]
            assignment=assignment,
            expected_version=_version(request),
        )
    except ApplicationError as exc:
        return _slot_refused(request, assignment_id, exc)
    return done(request, _page_url(assignment), _("Accepted: %(task)s") % {"task": assignment.task.title})


@require_POST
@page
def urge(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """催办 one unit; back to where the button was."""
    assignment = _assignment(request, assignment_id)
    back = _safe_next(request) or _page_url(assignment)
    try:
        values, errors = UrgeInputSerializer.parse({"comment": request.POST.get("comment", "")})
        if errors:
            raise ValidationFailed(_("The note could not be read."), errors)
        services.assignment_urge(actor=request.user, assignment=assignment, **values)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return _slot_refused(request, assignment_id, exc)
    return done(request, back, _("%(unit)s has been urged.") % {"unit": assignment.unit.name})


@require_POST
@page
def urge_overdue(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """催办 every overdue unit this assignment was delegated to that the reader may urge."""
    user: User = request.user  # type: ignore[assignment]
    assignment = selectors.assignment_detail(
        user=user, assignment_id=assignment_id, grants=Grants.of_request(request)
    )
    grants = Grants.of_request(request)
    overdue = [
        child
        for child in assignment.child_list  # type: ignore[attr-defined]
        if child.is_overdue and policies.assignment_urge_refusal(grants, child) is None
    ]
    for child in overdue:  # one event each: every unit hears about its own urging
        services.assignment_urge(actor=user, assignment=child)
    message = ngettext("%(count)s overdue unit urged.", "%(count)s overdue units urged.", len(overdue)) % {
        "count": len(overdue)
    }
    return done(request, _page_url(assignment), message)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else ""


# 下派 ----------------------------------------------------------------------------------------------


def _delegation_context(request: HttpRequest, assignment) -> dict[str, Any]:
    """The units below the assignment's unit the person may pick (the communities of a street)."""
    candidates = list(
        org_selectors.unit_list(user=request.user)  # type: ignore[arg-type]
        .filter(parent=assignment.unit, is_active=True)
        .order_by("lft")
    )
    holding = set(
        selectors.assignment_list(user=request.user, grants=Grants.of_request(request))  # type: ignore[arg-type]
        .filter(parent=assignment)
        .values_list("unit_id", flat=True)
    )
    chosen = (
        {int(pk) for pk in request.POST.getlist("units") if pk.isdigit()}
        if request.method == "POST"
        else set()
    )
    return {
        "assignment": assignment,
        "task": assignment.task,
        "candidates": candidates,
        "holding": holding,
        "chosen": chosen,
    }


@page
def delegate(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """下派: chosen units below, each receiving the task with its own due time (no later than ours)."""
    assignment = _assignment(request, assignment_id)
    template, partial = "web/delegate.html", "web/partials/delegate_form.html"
    if request.method != "POST":  # no form that cannot succeed: the service's reason instead
        policies.require(policies.assignment_delegate_refusal(Grants.of_request(request), assignment))
        return render_form(
            request, template, partial, _delegation_context(request, assignment), active="home"
        )
    data = {
        "targets": [{"unit": int(pk)} for pk in request.POST.getlist("units") if pk.isdigit()],
        "due_at": moment_field(request.POST, "due"),
        "version": _version(request),
    }
    try:
        values, errors = DelegateInputSerializer.parse(data)
        if errors:
            merge_errors(
                errors,
                services.delegation_errors(
                    actor=request.user,  # type: ignore[arg-type]
                    assignment=assignment,
                    targets=values.get("targets"),
                    due_at=values.get("due_at"),
                )[1],
            )
            raise services.invalid(_("The assignment could not be delegated"), errors)
        if not values["targets"]:
            raise ValidationFailed(
                _("Choose at least one unit to delegate to."), {"units": [_("Choose at least one unit.")]}
            )
        result = services.assignment_delegate(
            actor=request.user,  # type: ignore[arg-type]
            assignment=assignment,
            targets=values["targets"],
            due_at=values["due_at"],
            expected_version=values["version"],
        )
    except ApplicationError as exc:
        return render_form(
            request, template, partial, _delegation_context(request, assignment), exc=exc, active="home"
        )
    message = ngettext("Delegated to %(count)s unit.", "Delegated to %(count)s units.", result.created) % {
        "count": result.created
    }
    return done(request, _page_url(assignment), message)


# 提交 / 上报 ----------------------------------------------------------------------------------------

REPORT_TRANSPORT_FIELDS = ("csrfmiddlewaretoken", "idempotency_key")


def _report_fields(request: HttpRequest) -> QueryDict:
    """The report's own fields: what the transport adds (the CSRF token, the key of a form sent
    without script) is not part of the report."""
    fields = request.POST.copy()
    for name in REPORT_TRANSPORT_FIELDS:
        fields.pop(name, None)
    return fields


def _wants_json(request: HttpRequest) -> bool:
    """The report page's script sends with fetch and reads JSON; a form sent without script gets pages."""
    return "application/json" in request.headers.get("Accept", "")


def report_context(request: HttpRequest, assignment) -> dict[str, Any]:
    context = assignment_context(request, assignment.pk)
    station = context["assignment"].unit
    required = requirements.requirements_of(context["task"])
    delegated = bool(context["rollup"]["total"])
    return {
        **context,
        "requirements": required,
        "max_photos": 0 if delegated else min(required["max_photos"], requirements.max_photos_limit()),
        # Made when the form opens: a retry of this form (a dropped connection, the phone's outbox)
        # carries the same key, so the report is made once.
        "idempotency_key": request.POST.get("idempotency_key") or str(uuid.uuid4()),
        "default_location": station.address or station.station_name or station.name,
        "now_input": f"{timezone.localtime():%Y-%m-%dT%H:%M}",
    }


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF check, asked by the view itself: the middleware would read (and spool to disk) the
    whole body looking for the token before the view could refuse an oversized report."""
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    return check.process_view(request, _not_exempt, (), {})


def _not_exempt(request: HttpRequest) -> HttpResponse:  # what the check is told the view is
    return HttpResponse()


@csrf_exempt  # checked in the view, right after the declared size (_csrf_refusal)
@page
def report(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """提交 (a community's report with photos) or 上报 (a street's, once its communities are done).

    The same path as the API (tasks.apis.AssignmentSubmissionsApi): who may report is asked before
    the body is read, then tasks.services.submission_create parses, checks the requirements and
    every photo, stores and enqueues, once per Idempotency-Key."""
    assignment = _assignment(request, assignment_id)
    template, partial = "web/report.html", "web/partials/report_form.html"
    if request.method != "POST":
        policies.require(policies.assignment_submit_refusal(Grants.of_request(request), assignment))
        return render_page(request, template, report_context(request, assignment), active="home")
    try:
        # As the API: the declared size and who may report are known before the body is read.
        uploads.refuse_oversized_body(request)
        services.assignment_submit_precheck(actor=request.user, assignment=assignment)  # type: ignore[arg-type]
        refused = _csrf_refusal(request)
        if refused is not None:
            return refused
        # The API's reading of the body (form fields and the files of "photos"), on this request.
        payload = uploads.photo_request(Request(request, parsers=[MultiPartParser(), FormParser()]))
        outcome = services.submission_create(
            actor=request.user,  # type: ignore[arg-type]
            assignment=assignment,
            fields=_report_fields(request),
            uploads=payload.uploads,
            request_errors=payload.errors,
            idempotency_key=request.headers.get(idempotency.HEADER) or request.POST.get("idempotency_key"),
            endpoint=request.path,
        )
    except ApplicationError as exc:
        if _wants_json(request):
            return JsonResponse(
                {"message": str(exc.message), "errors": _jsonable(exc.extra)}, status=exc.status_code
            )
        if isinstance(exc, PayloadTooLarge | Forbidden):  # an error page: the body stays unread
            raise
        context = report_context(request, assignment)
        return render_form(request, template, partial, context, exc=exc, active="home")
    url = _page_url(assignment)
    message = (
        _("Your report has been sent.") if not outcome.replayed else _("Your report had already arrived.")
    )
    if _wants_json(request):
        messages.success(request, message)
        response = JsonResponse({"redirect": url, "submission": outcome.submission_id}, status=201)
        if outcome.replayed:
            response[idempotency.REPLAYED_HEADER] = "true"
        return response
    return done(request, url, message)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)
