"""Writes of scoring: policy versions, closing and reopening periods, and the recomputations."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from orgs.models import OrgUnit, User
from orgs.scope import Action, Grants
from scoring import compute
from scoring.compute import SCORING_LOCK, Scope
from scoring.models import PeriodClosure, PeriodEvent, ScoringPolicy
from scoring.periods import Period, month_of
from scoring.policy import Rules, policy_in_force, rules_errors, rules_with


def require_district_admin(actor: User, district: OrgUnit) -> None:
    """Administrators of the district (or superusers) set its policy and close its periods."""
    grants = Grants.of(actor)
    if not grants.can(Action.VIEW, district):
        raise NotFound(_("Unit not found, or you do not have access to it."))
    if not grants.can(Action.MANAGE_UNITS, district):
        raise Forbidden(
            _("Only an administrator of %(district)s may change its scoring.") % {"district": district.name}
        )


def _lock_district(district: OrgUnit) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, district.tree_id])


# Recomputations -----------------------------------------------------------------------------------


def scores_refresh(*, scope: Scope, now: datetime | None = None) -> None:
    compute.refresh(scope, now=now)


def scores_refresh_after_move(
    *, unit_id: int, former_parent_id: int | None, now: datetime | None = None
) -> None:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return
    subtree = list(
        OrgUnit.objects.filter(tree_id=unit.tree_id, lft__gte=unit.lft, rght__lte=unit.rght).values_list(
            "id", flat=True
        )
    )
    compute.refresh(
        Scope.of_units(subtree),
        now=now,
        moved_units=[unit.pk],
        former_parents=[former_parent_id] if former_parent_id else [],
    )


def scores_refresh_trees(*, tree_ids: list[int], now: datetime | None = None) -> None:
    for district in OrgUnit.objects.filter(tree_id__in=tree_ids, lft=1).order_by("tree_id"):
        compute.refresh(Scope.everything(district=district), now=now)


def scores_recompute(
    *, district: OrgUnit | None = None, period: Period | None = None, now: datetime | None = None
) -> None:
    """Everything (or one district, or one period) from scratch: the nightly job and the command."""
    compute.refresh(
        Scope.everything(
            district=district,
            since=period.start if period else None,
            until=period.stop if period else None,
        ),
        now=now,
    )


def scores_recompute_district(*, district_id: int, since: str | date | None = None) -> None:
    district = OrgUnit.objects.filter(pk=district_id).first()
    if district is None:
        return
    start = date.fromisoformat(since) if isinstance(since, str) else since
    compute.refresh(Scope.everything(district=district, since=start))


def scores_settle_ended_months(*, now: datetime | None = None) -> None:
    now = now or timezone.now()
    compute.refresh(Scope.open_before(month_of(now)), now=now)


# Policies -----------------------------------------------------------------------------------------


@transaction.atomic
def policy_create(
    *, actor: User, district: OrgUnit, effective_from: Period, changes: dict[str, Any], note: str = ""
) -> ScoringPolicy:
    """A new version of the district's rules from `effective_from` on: the version then in force
    (or the default) with `changes` applied. Periods already closed keep the scores they have."""
    require_district_admin(actor, district)
    if district.parent_id is not None:
        message = _("Scoring policies belong to a district; %(unit)s is not one.") % {"unit": district.name}
        raise ValidationFailed(message, {"district": [message]})
    _lock_district(district)
    month = effective_from.start
    rules = rules_with(Rules.of(policy_in_force(district.pk, month)), changes)
    errors = rules_errors(rules)
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(
            _("The policy cannot be used: %(problem)s") % {"problem": first},
            {k: v for k, v in errors.items()},
        )
    version = (ScoringPolicy.objects.filter(district=district).aggregate(m=Max("version"))["m"] or 0) + 1
    values: dict[str, Any] = {
        name: (Decimal(str(value)) if isinstance(value, float) else value)
        for name, value in vars(rules).items()
    }
    policy = ScoringPolicy.objects.create(
        district=district,
        version=version,
        effective_from=month,
        note=note,
        created_by=actor,
        **values,
    )
    transaction.on_commit(lambda: _enqueue_district(district.pk, month), robust=True)
    return policy


def _enqueue_district(district_id: int, since: date) -> None:
    from scoring.jobs import recompute_district

    recompute_district.delay(district_id, since.isoformat())


# Closing periods ----------------------------------------------------------------------------------


@transaction.atomic
def period_close(
    *, actor: User, district: OrgUnit, period: Period, note: str = "", now: datetime | None = None
) -> PeriodClosure:
    """Freeze the district's scores of `period` (and of the periods and score lines inside it) as
    they stand after one last recomputation. Recorded with who and when."""
    require_district_admin(actor, district)
    now = now or timezone.now()
    if not period.has_ended(now):
        message = _("%(period)s has not ended yet; it can be closed from %(day)s.") % {
            "period": period.label,
            "day": period.stop.isoformat(),
        }
        raise ValidationFailed(message, {"period": [message]})
    _lock_district(district)
    if PeriodClosure.objects.filter(district=district, kind=period.kind, start=period.start).exists():
        raise Conflict(_("%(period)s is already closed.") % {"period": period.label})
    compute.refresh(Scope.everything(district=district, since=period.start, until=period.stop), now=now)
    closure = PeriodClosure.objects.create(
        district=district,
        kind=period.kind,
        start=period.start,
        stop=period.stop,
        closed_by=actor,
        closed_at=now,
        note=note,
    )
    PeriodEvent.objects.create(
        district=district,
        kind=period.kind,
        start=period.start,
        verb=PeriodEvent.Verb.CLOSED,
        actor=actor,
        note=note,
        created_at=now,
    )
    return closure


@transaction.atomic
def period_reopen(
    *, actor: User, district: OrgUnit, period: Period, note: str = "", now: datetime | None = None
) -> None:
    """Unfreeze the period: its scores follow the assignments, policies and tree again at once."""
    require_district_admin(actor, district)
    now = now or timezone.now()
    _lock_district(district)
    deleted, _rows = PeriodClosure.objects.filter(
        district=district, kind=period.kind, start=period.start
    ).delete()
    if not deleted:
        raise Conflict(_("%(period)s is not closed.") % {"period": period.label})
    PeriodEvent.objects.create(
        district=district,
        kind=period.kind,
        start=period.start,
        verb=PeriodEvent.Verb.REOPENED,
        actor=actor,
        note=note,
        created_at=now,
    )
    compute.refresh(Scope.everything(district=district, since=period.start, until=period.stop), now=now)
