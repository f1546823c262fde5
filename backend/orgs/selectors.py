"""Reads of the organisation. Every selector takes the acting user and applies the access rule."""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from orgs.models import Membership, OrgUnit, User, level_key
from orgs.scope import Action, unit_condition, units_for


def unit_list(*, user: User) -> QuerySet[OrgUnit]:
    return units_for(user, Action.VIEW).select_related("parent").order_by("tree_id", "lft")


def unit_get(*, user: User, unit_id: int | str) -> OrgUnit:
    try:
        return unit_list(user=user).get(pk=int(unit_id))
    except (OrgUnit.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("Unit not found, or you do not have access to it.")) from exc


def unit_subtree(*, user: User, unit_id: int | str) -> list[dict]:
    """The nested subtree under a unit with member counts: two queries whatever the size."""
    root = unit_get(user=user, unit_id=unit_id)
    rows = list(
        OrgUnit.objects.filter(tree_id=root.tree_id, lft__gte=root.lft, rght__lte=root.rght)
        .annotate(member_count=Count("memberships__user", distinct=True))
        .order_by("lft")
        .values(
            "id",
            "parent_id",
            "name",
            "code",
            "level",
            "station_name",
            "is_active",
            "member_count",
        )
    )
    by_id: dict[int, dict] = {}
    top: list[dict] = []
    for row in rows:
        node = {**row, "level": level_key(row["level"]), "children": []}
        by_id[row["id"]] = node
        parent = by_id.get(row["parent_id"])
        if parent is None or row["id"] == root.pk:
            top.append(node)
        else:
            parent["children"].append(node)
    return top


def _visible_memberships(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(unit_condition(user, Action.VIEW, prefix="unit"))


def user_list(*, user: User) -> QuerySet[User]:
    """People holding at least one membership inside the user's visible subtrees (and the user)."""
    visible = _visible_memberships(user).filter(user_id=OuterRef("pk"))
    qs = User.objects.all()
    if not user.is_superuser:
        qs = qs.filter(Exists(visible) | Q(pk=user.pk))
    memberships = _visible_memberships(user).select_related("unit").order_by("unit__tree_id", "unit__lft")
    return qs.prefetch_related(
        Prefetch("memberships", queryset=memberships, to_attr="visible_memberships")
    ).order_by("username")


def user_get(*, user: User, user_id: int | str) -> User:
    try:
        return user_list(user=user).get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("User not found, or you do not have access to them.")) from exc


def membership_list(*, user: User) -> QuerySet[Membership]:
    return (
        _visible_memberships(user).select_related("user", "unit").order_by("unit__tree_id", "unit__lft", "id")
    )


def membership_get(*, user: User, membership_id: int | str) -> Membership:
    try:
        return membership_list(user=user).get(pk=int(membership_id))
    except (Membership.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("Membership not found, or you do not have access to it.")) from exc


def me_memberships(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user_id=user.pk)
        .select_related("unit")
        .order_by("unit__tree_id", "unit__lft")
    )
