"""Units and people, the writes: add a person to a unit (orgs.services.user_create), import units or
people from a sheet (orgs.imports) with every bad row shown. The services decide who may."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from common.exceptions import ApplicationError, PayloadTooLarge, ValidationFailed
from common.uploads import MULTIPART_OVERHEAD, refuse_declared_length
from orgs import imports, services
from orgs import selectors as org_selectors
from orgs.models import OrgUnit, Role, User
from orgs.scope import Action
from web.views.base import done, page, render_form

KINDS = {
    "units": (Action.MANAGE_UNITS, imports.units_import, imports.units_refusal),
    "people": (Action.MANAGE_PEOPLE, imports.users_import, imports.people_refusal),
}


def _unit(request: HttpRequest, unit_id: int) -> OrgUnit:
    return org_selectors.unit_get(user=request.user, unit_id=unit_id)  # type: ignore[arg-type]


@page
def person_new(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = _unit(request, unit_id)
    template, partial = "web/person_form.html", "web/partials/person_form.html"
    context: dict[str, Any] = {"unit": unit, "roles": Role.choices}
    if request.method != "POST":
        return render_form(request, template, partial, context, active="units")
    post = request.POST
    try:
        errors = {
            name: [_("This field is required.")]
            for name in ("username", "real_name", "role")
            if not (post.get(name) or "").strip()
        }
        if errors:
            raise ValidationFailed(_("The account could not be created."), errors)
        person = services.user_create(
            actor=request.user,  # type: ignore[arg-type]
            username=post["username"].strip(),
            real_name=post["real_name"].strip(),
            unit=unit,
            role=post["role"],
            mobile=(post.get("mobile") or "").strip() or None,
            password=post.get("password") or None,
        )
    except DjangoValidationError as exc:  # the account's own fields (a mobile number's form)
        failed = ValidationFailed(_("The account could not be created."), exc.message_dict)
        return render_form(request, template, partial, context, exc=failed, active="units")
    except ApplicationError as exc:
        return render_form(request, template, partial, context, exc=exc, active="units")
    return done(
        request,
        reverse("web:unit_detail", args=[unit.pk]),
        _("%(name)s has been added to %(unit)s.")
        % {"name": person.real_name or person.username, "unit": unit.name},
    )


def _too_large(_length: int = 0) -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The file is larger than %(size)s MB; split it into several files.")
        % {"size": f"{settings.IMPORT_MAX_BYTES / (1024 * 1024):g}"}
    )


@page
def import_sheet(request: HttpRequest, unit_id: int) -> HttpResponse:
    """导入: units (the division list) or people (the onboarding sheet); all rows or none, each bad row
    named with its problems."""
    unit = _unit(request, unit_id)
    template, partial = "web/import.html", "web/partials/import_form.html"
    kind = request.POST.get("kind") or request.GET.get("kind") or "people"
    if kind not in KINDS:
        kind = "people"
    context: dict[str, Any] = {"unit": unit, "kind": kind, "rows": []}
    if request.method != "POST":
        return render_form(request, template, partial, context, active="units")
    action, run, refusal = KINDS[kind]
    user: User = request.user  # type: ignore[assignment]
    try:
        imports.require_role_somewhere(user, action, refusal())
        refuse_declared_length(
            request, limit=settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD, refusal=_too_large
        )
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(_("Choose a CSV or XLSX file."), {"file": [_("No file was sent.")]})
        result = run(actor=user, file=upload, filename=upload.name or "")
    except ApplicationError as exc:
        context["rows"] = [
            {**row, "entry": row.get("code") or row.get("username") or "—"}
            for row in (exc.extra or {}).get("rows", [])
        ]
        return render_form(request, template, partial, context, exc=exc, active="units")
    message = _("Imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.") % {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }
    return done(request, reverse("web:unit_detail", args=[unit.pk]), message)
