"""Units and people: browse the tree from one's own units down, a unit's sub-units and members."""

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from orgs import selectors as org_selectors
from orgs.scope import Action, Grants
from web.views.base import page, paginate, render_page, request_workspaces


@page
def unit_index(request: HttpRequest) -> HttpResponse:
    """The units pages start at the person's highest unit."""
    workspaces = request_workspaces(request)
    if workspaces:
        return redirect("web:unit_detail", unit_id=workspaces[0].unit.pk)
    return redirect("web:account")


@page
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    user = request.user
    unit = org_selectors.unit_get(user=user, unit_id=unit_id)  # type: ignore[arg-type]
    grants = Grants.of_request(request)
    visible = org_selectors.unit_list(user=user)  # type: ignore[arg-type]
    # The path down to this unit, as far as the person may see it.
    ancestors = list(visible.filter(tree_id=unit.tree_id, lft__lt=unit.lft, rght__gt=unit.rght))
    children = visible.filter(parent=unit).annotate(
        member_count=Count("memberships__user", distinct=True), child_count=Count("children", distinct=True)
    )
    members = org_selectors.membership_list(user=user).filter(unit=unit)  # type: ignore[arg-type]
    context = {
        "unit": unit,
        "ancestors": ancestors,
        "children_page": paginate(request, children, per_page=50, param="units"),
        "members_page": paginate(request, members, per_page=50, param="people"),
        # Navigation only: orgs.services and orgs.imports refuse with their own message.
        "can_manage_people": grants.can(Action.MANAGE_PEOPLE, unit),
        "can_import": grants.can(Action.MANAGE_PEOPLE, unit) or grants.can(Action.MANAGE_UNITS, unit),
    }
    return render_page(request, "web/unit.html", context, active="units")
