"""The access rule, written once.

A user sees the subtrees of the units of their memberships and nothing else. An action needs a
membership whose role allows it on an ancestor-or-self of the target unit. Everything outside the
visible subtrees is answered 404 by the selectors, so existence never leaks.

Every check is one SQL query (an EXISTS over the tree's lft/rght ranges), never Python recursion.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import connection
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


def refused_units(user: User, action: Action, units: Iterable[OrgUnit]) -> list[OrgUnit]:
    """The units of `units` on which `user` may NOT do `action` (empty list = all allowed). One query."""
    units = list(units)
    if not units:
        return []
    allowed = set(units_for(user, action).filter(pk__in=[u.pk for u in units]).values_list("pk", flat=True))
    return [unit for unit in units if unit.pk not in allowed]


# The same rule, answered in Python --------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One membership with its unit's place in the tree."""

    role: str
    unit_id: int
    tree_id: int
    lft: int
    rght: int

    def covers(self, unit: OrgUnit, *, strictly: bool = False) -> bool:
        """Is `unit` this membership's unit or below it (strictly below with `strictly`)?"""
        if unit.tree_id != self.tree_id:
            return False
        if strictly:
            return self.lft < unit.lft and unit.rght < self.rght
        return self.lft <= unit.lft and unit.rght <= self.rght


_GRANTS_SQL = (
    f"SELECT m.role, m.unit_id, u.tree_id, u.lft, u.rght FROM {Membership._meta.db_table} m "  # noqa: S608
    f"JOIN {OrgUnit._meta.db_table} u ON u.id = m.unit_id WHERE m.user_id = %s"
)


class Grants:
    """What one user may do where, loaded once (one query) and then asked about any number of units.

    The same rule as `units_for` / `unit_condition` (ROLE_ACTIONS over ancestor-or-self ranges), for
    objects already in memory: the `actions` of a page of fifty rows cost no query per row. Build
    it once per request or service call; it does not see memberships changed after it was loaded.
    """

    def __init__(self, user: User, grants: Iterable[Grant] = ()):
        self.user = user
        self.active = bool(user.is_authenticated and user.is_active)
        self.superuser = self.active and bool(user.is_superuser)
        self.grants = tuple(grants) if self.active else ()
        self._qualified: dict[Action, list[Grant]] = {}  # asked for every row of a page

    @classmethod
    def of(cls, user: User) -> "Grants":
        if not user.is_authenticated or not user.is_active or user.is_superuser:
            return cls(user)
        # Written out: every request of every page and API call loads it, and the ORM's compiler
        # cost more than the statement.
        with connection.cursor() as cursor:
            cursor.execute(_GRANTS_SQL, [user.pk])
            return cls(user, (Grant(*row) for row in cursor.fetchall()))

    @classmethod
    def of_request(cls, request: Any) -> "Grants":
        """The grants of the request's user, loaded once per request (a request's user and memberships
        do not change while it is served)."""
        grants = getattr(request, "_grants", None)
        if grants is None or grants.user is not request.user:
            grants = cls.of(request.user)
            request._grants = grants
        return grants

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.active else None

    def _qualifying(self, action: Action) -> list[Grant]:
        if action not in self._qualified:
            self._qualified[action] = [
                grant for grant in self.grants if action in ROLE_ACTIONS.get(grant.role, ())
            ]
        return self._qualified[action]

    def can(self, action: Action, unit: OrgUnit | None) -> bool:
        """May the user do `action` on `unit` (a membership on it or above it allows it)?"""
        if unit is None or not self.active:
            return False
        return self.superuser or any(grant.covers(unit) for grant in self._qualifying(action))

    def can_above(self, action: Action, unit: OrgUnit) -> bool:
        """Does a membership strictly above `unit` allow `action` (the unit above reviews and urges)?"""
        if not self.active:
            return False
        return self.superuser or any(grant.covers(unit, strictly=True) for grant in self._qualifying(action))

    def below_the_top(self, action: Action = Action.VIEW) -> bool:
        """Does every membership allowing `action` sit below a tree's top (a street or a community, not
        a district)? Such a reader acts on a part of each district, never a whole one."""
        return not self.superuser and all(grant.lft > 1 for grant in self._qualifying(action))

    def unit_q(self, action: Action = Action.VIEW, prefix: str = "unit") -> Q:
        """A filter for rows whose `prefix` unit the user may act on: one tree range per membership.

        Literal ranges let PostgreSQL seek the tree index to the few units of a worker instead of
        testing every row of a large table against a correlated EXISTS.
        """
        if self.superuser:
            return Q()
        condition = Q(pk__in=[])
        for grant in self._qualifying(action):
            # Below a unit, lft runs from its lft to its rght: bounding lft on both sides keeps the
            # (tree_id, lft, rght) index scan to the subtree instead of the rest of the tree.
            condition |= Q(
                **{
                    f"{prefix}__tree_id": grant.tree_id,
                    f"{prefix}__lft__gte": grant.lft,
                    f"{prefix}__lft__lte": grant.rght,
                    f"{prefix}__rght__lte": grant.rght,
                }
            )
        return condition


# The reverse question -----------------------------------------------------------------------------


def holders(
    action: Action, unit_ids: Iterable[int], *, max_distance: int | None = None
) -> dict[int, dict[int, int]]:
    """Who may do `action` on each of `unit_ids`: {unit id: {user id: levels above the unit}}.

    One query for any number of units, from the same table of roles. `max_distance` keeps only
    memberships at most that many levels above the unit (0: members of the unit itself), so a
    reminder can go to the unit's own people rather than to every officer of the district.
    Superusers hold every action everywhere but are nobody's recipient: they are not listed.
    Inactive accounts are not listed.
    """
    unit_ids = sorted({int(pk) for pk in unit_ids})
    if not unit_ids:
        return {}
    roles = roles_for(action)
    units = OrgUnit._meta.db_table
    sql = (
        f"SELECT t.id, m.user_id, MIN(t.level - mu.level) FROM {units} t "  # noqa: S608
        f"JOIN {units} mu ON mu.tree_id = t.tree_id AND mu.lft <= t.lft AND mu.rght >= t.rght "
        f"JOIN {Membership._meta.db_table} m ON m.unit_id = mu.id AND m.role = ANY(%s) "
        f"JOIN {User._meta.db_table} u ON u.id = m.user_id AND u.is_active "
        f"WHERE t.id = ANY(%s) AND (%s::int IS NULL OR t.level - mu.level <= %s::int) "
        f"GROUP BY t.id, m.user_id"
    )
    found: dict[int, dict[int, int]] = {pk: {} for pk in unit_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, [roles, unit_ids, max_distance, max_distance])
        for unit_id, user_id, distance in cursor.fetchall():
            found[unit_id][user_id] = distance
    return found
