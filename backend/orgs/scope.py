"""The access rule, written once.

A user sees the subtrees of the units of their memberships and nothing else. An action needs a
membership whose role allows it on an ancestor-or-self of the target unit. Everything outside the
visible subtrees is answered 404 by the selectors, so existence never leaks.

Every check is one SQL query (an EXISTS over the tree's lft/rght ranges), never Python recursion.
"""

from collections.abc import Iterable
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from orgs.models import Membership, OrgUnit, Role, User


class Action(StrEnum):
    VIEW = "view"
    MANAGE_UNITS = "manage_units"  # create / update / move units, import divisions
    MANAGE_PEOPLE = "manage_people"  # create accounts and memberships, onboarding import
    DISPATCH = "dispatch"  # create and publish tasks, delegate assignments
    REVIEW = "review"  # review submissions of units below, urge
    WORK = "work"  # accept and submit the unit's own assignments


# role -> the actions it allows, on its unit and everything below it.
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMINISTRATOR: frozenset(
        {Action.VIEW, Action.MANAGE_UNITS, Action.MANAGE_PEOPLE, Action.DISPATCH, Action.REVIEW}
    ),
    Role.OFFICER: frozenset({Action.VIEW, Action.DISPATCH, Action.REVIEW, Action.WORK}),
    Role.WORKER: frozenset({Action.VIEW, Action.WORK}),
    Role.VIEWER: frozenset({Action.VIEW}),
}


def roles_for(action: Action) -> list[str]:
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def _memberships(user: User, action: Action) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user.pk, role__in=roles_for(action))


def units_for(user: User, action: Action = Action.VIEW) -> QuerySet[OrgUnit]:
    """Units on which `user` may perform `action`: the subtrees of their qualifying memberships."""
    if not user.is_authenticated or not user.is_active:
        return OrgUnit.objects.none()
    if user.is_superuser:
        return OrgUnit.objects.all()
    covering = _memberships(user, action).filter(
        unit__tree_id=OuterRef("tree_id"), unit__lft__lte=OuterRef("lft"), unit__rght__gte=OuterRef("rght")
    )
    return OrgUnit.objects.filter(Exists(covering))


def unit_condition(user: User, action: Action = Action.VIEW, prefix: str = "unit") -> Q | Exists:
    """A filter for any model with a unit foreign key: `Model.objects.filter(unit_condition(user))`."""
    if user.is_superuser and user.is_active:
        return Q()
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    covering = _memberships(user, action).filter(
        unit__tree_id=OuterRef(f"{prefix}__tree_id"),
        unit__lft__lte=OuterRef(f"{prefix}__lft"),
        unit__rght__gte=OuterRef(f"{prefix}__rght"),
    )
    return Exists(covering)


def can(user: User, action: Action, unit: OrgUnit) -> bool:
    """May `user` do `action` on `unit`? One query."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        _memberships(user, action)
        .filter(unit__tree_id=unit.tree_id, unit__lft__lte=unit.lft, unit__rght__gte=unit.rght)
        .exists()
    )


def can_all(user: User, action: Action, units: Iterable[OrgUnit]) -> list[OrgUnit]:
    """The units of `units` on which `user` may NOT do `action` (empty list = all allowed). One query."""
    units = list(units)
    if not units:
        return []
    allowed = set(units_for(user, action).filter(pk__in=[u.pk for u in units]).values_list("pk", flat=True))
    return [unit for unit in units if unit.pk not in allowed]
