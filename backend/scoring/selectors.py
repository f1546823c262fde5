"""Reads of scoring, every one scoped by the access rule (orgs.scope): out of scope is 404.

Rankings and work figures are answered from the stored rows (scoring.compute keeps them current);
a ranking's places are computed by PostgreSQL's RANK() over the stored scores, ties sharing a place
(1, 2, 2, 4), listed by score, then on-time rate, then unit code.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import Forbidden, NotFound, ValidationFailed
from orgs.models import LEVEL_BY_KEY, LEVEL_KEYS, Level, Membership, OrgUnit, User
from orgs.rollup import Aggregate, subtree_rollup
from orgs.scope import Action, Grants, units_for
from scoring.explain import line_reason, score_reason
from scoring.models import (
    MonthlyStats,
    PeriodClosure,
    PeriodEvent,
    PeriodScore,
    ScoreLine,
    ScoringPolicy,
)
from scoring.periods import Period, add_months, day_start, local_date, parse_day
from scoring.policy import Rules, policy_in_force
from scoring.summary import range_label, sentence
from tasks.models import Assignment, PracticeTask, Submission, TaskCategory


def _not_found() -> NotFound:
    return NotFound(_("Unit not found, or you do not have access to it."))


def parse_level(value: Any) -> int:
    text = str(value or "").strip()
    if text not in LEVEL_BY_KEY:
        choices = "、".join(LEVEL_KEYS.values())
        message = (
            _("“%(value)s” is not a level: choose %(choices)s.") % {"value": text, "choices": choices}
            if text
            else _("Say which level to rank: %(choices)s.") % {"choices": choices}
        )
        raise ValidationFailed(message, {"level": [message]})
    return int(LEVEL_BY_KEY[text])


def _unit(unit_id: Any) -> OrgUnit:
    try:
        return OrgUnit.objects.get(pk=int(unit_id))
    except (OrgUnit.DoesNotExist, TypeError, ValueError) as exc:
        raise _not_found() from exc


def visible_unit(*, user: User, unit_id: Any) -> OrgUnit:
    unit = _unit(unit_id)
    if not Grants.of(user).can(Action.VIEW, unit):
        raise _not_found()
    return unit


def top_unit(user: User) -> OrgUnit:
    """The highest unit of the user's memberships: the default of `?unit=`."""
    membership = (
        Membership.objects.filter(user_id=user.pk)
        .select_related("unit")
        .order_by("unit__level", "unit__lft")
        .first()
    )
    if membership is None:
        message = _("Say which unit: add ?unit= with the unit's id.")
        raise ValidationFailed(message, {"unit": [message]})
    return membership.unit


def district_of(unit: OrgUnit) -> OrgUnit:
    if unit.parent_id is None:
        return unit
    return OrgUnit.objects.get(tree_id=unit.tree_id, lft=1)


def closure_of(district_id: int, period: Period) -> PeriodClosure | None:
    """The closure freezing `period` of the district: its own, or a larger closed period around it."""
    return (
        PeriodClosure.objects.filter(district_id=district_id, start__lte=period.start, stop__gte=period.stop)
        .select_related("closed_by")
        .order_by("start", "-stop")
        .first()
    )


# Rankings -----------------------------------------------------------------------------------------


class RankingRows:
    """The ranked rows of one leaderboard, fetched a page at a time (Django's paginator slices it)."""

    def where(self, alias: str) -> str:
        return f"{alias}.kind = %s AND {alias}.start = %s AND {alias}.level = %s AND {alias}.{self.by} = %s"

    def __init__(self, *, by: str, params: list[Any], previous_params: list[Any]):
        self.by = by  # parent_id or district_id
        self.params = params
        self.previous_params = previous_params
        self._count: int | None = None

    def _execute(self, cursor, sql: str, params: list[Any]) -> None:
        # A ranking is a short read: PostgreSQL's JIT would spend a second compiling it.
        with transaction.atomic():
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, params)

    def count(self) -> int:
        if self._count is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT COUNT(*) FROM {PeriodScore._meta.db_table} p WHERE {self.where('p')}",  # noqa: S608
                    self.params,
                )
                self._count = cursor.fetchone()[0]
        return self._count

    def __len__(self) -> int:
        return self.count()

    def _fetch(self, offset: int, limit: int | None) -> list[dict[str, Any]]:
        """One page in ranking order, each unit's place (RANK() over the whole ranking, streamed from
        the ranking index until the page is full) and its place and score in the previous period."""
        scores, units = PeriodScore._meta.db_table, OrgUnit._meta.db_table
        limit_sql = " LIMIT %s" if limit is not None else ""
        sql = (
            f"WITH page AS (SELECT p.unit_id, p.score, p.own_points, p.children_points, p.assignments, "  # noqa: S608
            f"p.approved, p.on_time, p.completion_rate, p.on_time_rate, u.name, u.code, "
            f"RANK() OVER (ORDER BY p.score DESC) AS rank "
            f"FROM {scores} p JOIN {units} u ON u.id = p.unit_id WHERE {self.where('p')} "
            f"ORDER BY p.score DESC, p.on_time_rate DESC, u.code OFFSET %s{limit_sql}), "
            f"prev AS (SELECT q.unit_id, q.score, RANK() OVER (ORDER BY q.score DESC) AS rank "
            f"FROM {scores} q WHERE {self.where('q')}) "
            f"SELECT page.rank, page.unit_id, page.name, page.code, page.score, page.own_points, "
            f"page.children_points, page.assignments, page.approved, page.on_time, page.completion_rate, "
            f"page.on_time_rate, prev.rank, prev.score FROM page LEFT JOIN prev ON prev.unit_id = page.unit_id "
            f"ORDER BY page.score DESC, page.on_time_rate DESC, page.code"
        )
        params = [*self.params, offset, *([limit] if limit is not None else []), *self.previous_params]
        with connection.cursor() as cursor:
            self._execute(cursor, sql, params)
            rows = cursor.fetchall()
        return [_ranked(row) for row in rows]

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        if not isinstance(index, slice):
            raise TypeError("RankingRows are read in pages")
        start = index.start or 0
        limit = None if index.stop is None else max(index.stop - start, 0)
        return self._fetch(start, limit)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        offset, size = 0, 2000
        while page := self._fetch(offset, size):
            yield from page
            offset += size


def _ranked(row: tuple) -> dict[str, Any]:
    (
        rank,
        unit_id,
        name,
        code,
        score,
        own,
        children,
        assignments,
        approved,
        on_time,
        completion,
        on_time_rate,
    ) = row[:12]
    previous_rank, previous_score = row[12], row[13]
    return {
        "rank": rank,
        "unit": unit_id,
        "unit_name": name,
        "unit_code": code,
        "score": score,
        "own_points": own,
        "children_points": children,
        "assignments": assignments,
        "approved": approved,
        "on_time": on_time,
        "completion_rate": completion,
        "on_time_rate": on_time_rate,
        "previous_rank": previous_rank,
        "previous_score": previous_score,
        "rank_change": previous_rank - rank if previous_rank is not None else None,
        "score_change": score - previous_score if previous_score is not None else None,
    }


@dataclass
class Leaderboard:
    ancestor: OrgUnit
    level: int
    period: Period
    rows: RankingRows
    closure: PeriodClosure | None
    policy: ScoringPolicy | None
    peers_only: bool = False


def _ancestor_at(unit: OrgUnit, level: int) -> OrgUnit | None:
    return OrgUnit.objects.filter(
        tree_id=unit.tree_id, lft__lte=unit.lft, rght__gte=unit.rght, level=level
    ).first()


def leaderboard(*, user: User, level: Any, period: Period, unit_id: Any = None) -> Leaderboard:
    """The units of `level` under one ancestor (`unit_id`, else the reader's own part of the tree),
    ranked for `period`, with each unit's place and score in the previous period.

    A reader sees the rankings inside the units they see. Where the district's policy for the period
    lets units see their place among their peers, a member of a ranked unit also sees its ranking
    (a street officer the ranking of the streets).
    """
    rank_level = parse_level(level)
    grants = Grants.of(user)
    if unit_id not in (None, ""):
        ancestor = _unit(unit_id)
    else:
        top = top_unit(user)
        ancestor = top if top.level < rank_level else (_ancestor_at(top, rank_level - 1) or top)
    if rank_level <= ancestor.level:
        message = _("%(unit)s is not above the %(level)s level: choose a lower level or a higher unit.") % {
            "unit": ancestor.name,
            "level": Level(rank_level).label,
        }
        raise ValidationFailed(message, {"level": [message]})
    district = district_of(ancestor)
    policy = policy_in_force(district.pk, period.start)
    peers_only = False
    if not grants.can(Action.VIEW, ancestor):
        member_below = Membership.objects.filter(
            user_id=user.pk,
            unit__tree_id=ancestor.tree_id,
            unit__lft__gt=ancestor.lft,
            unit__rght__lt=ancestor.rght,
            unit__level=rank_level,
        ).exists()
        if not (member_below and Rules.of(policy).peer_ranking_visible and user.is_active):
            raise NotFound(_("This ranking is not open to you (the district has not opened peer rankings)."))
        peers_only = True
    previous = period.previous()
    return Leaderboard(
        ancestor=ancestor,
        level=rank_level,
        period=period,
        rows=RankingRows(
            by="parent_id" if rank_level == ancestor.level + 1 else "district_id",
            params=[period.kind, period.start, rank_level, ancestor.pk],
            previous_params=[previous.kind, previous.start, rank_level, ancestor.pk],
        ),
        closure=closure_of(district.pk, period),
        policy=policy,
        peers_only=peers_only,
    )


# A unit's score -----------------------------------------------------------------------------------


def unit_score(*, user: User, unit_id: Any, period: Period) -> dict[str, Any]:
    """A unit's score for the period with the lines of its own assignments and the scores of the
    units below it that make up the rest: everything needed to check the score by hand."""
    unit = visible_unit(user=user, unit_id=unit_id)
    score = (
        PeriodScore.objects.filter(unit_id=unit.pk, kind=period.kind, start=period.start)
        .select_related("policy")
        .first()
    )
    district = district_of(unit)
    # The version the stored score was computed with (a closed period keeps it).
    policy = policy_in_force(district.pk, period.start) if score is None else score.policy
    rules = Rules.of(policy)
    lines = list(
        ScoreLine.objects.filter(unit_id=unit.pk, month__gte=period.start, month__lt=period.stop)
        .exclude(state=ScoreLine.State.OPEN)
        .select_related("assignment__task__category", "assignment__current_submission")
        .order_by("assignment__due_at", "assignment_id")
    )
    open_count = ScoreLine.objects.filter(
        unit_id=unit.pk, month__gte=period.start, month__lt=period.stop, state=ScoreLine.State.OPEN
    ).count()
    children = list(
        PeriodScore.objects.filter(parent_id=unit.pk, kind=period.kind, start=period.start)
        .select_related("unit")
        .order_by("-score", "-on_time_rate", "unit__code")
    )
    return {
        "unit": unit,
        "period": period,
        "score": score,
        "policy": policy,
        "rules": rules,
        "reason": score_reason(score, rules.parent_rule, (rules.own_weight, rules.children_weight)),
        "closure": closure_of(district.pk, period),
        "lines": [_line(line) for line in lines],
        "open_assignments": open_count,
        "children": children,
    }


def _line(line: ScoreLine) -> dict[str, Any]:
    assignment = line.assignment
    submission = assignment.current_submission
    return {
        "assignment": assignment.pk,
        "task": assignment.task_id,
        "task_title": assignment.task.title,
        "category": assignment.task.category.name,
        "due_at": assignment.due_at,
        "submitted_at": submission.created_at
        if submission is not None and line.state in ("on_time", "late")
        else None,
        "state": line.state,
        "state_display": line.get_state_display(),
        "points": line.points,
        "rating": line.rating,
        "days_late": line.days_late,
        "reason": line_reason(line),
    }


# Work statistics ----------------------------------------------------------------------------------

FIGURES = ("activities", "participants", "volunteers", "volunteer_hours")


@dataclass
class StatsQuery:
    unit: OrgUnit
    first_day: date
    last_day: date  # inclusive
    label: str
    period: Period | None = None
    category: TaskCategory | None = None
    totals: dict[str, Any] = field(default_factory=dict)


def category_get(value: Any) -> TaskCategory | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    found = TaskCategory.objects.filter(
        Q(code=text) | Q(pk=int(text)) if text.isdigit() else Q(code=text)
    ).first()
    if found is None:
        message = _("“%(value)s” is not a task category.") % {"value": text}
        raise ValidationFailed(message, {"category": [message]})
    return found


def stats_range(*, period: Period | None, first: Any, last: Any) -> tuple[date, date, str, Period | None]:
    """The days [first, last] of a request: a period, or `from` and `to` dates."""
    today = local_date(timezone.now())
    if period is not None:
        if first not in (None, "") or last not in (None, ""):
            message = _("Give either a period or from/to dates, not both.")
            raise ValidationFailed(message, {"period": [message]})
        return period.start, period.stop - timedelta(days=1), period.label, period
    if first in (None, "") or last in (None, ""):
        message = _("Give a period (2026-11, 2026-Q4, 2026) or both from and to dates.")
        raise ValidationFailed(message, {"period": [message]})
    start, end = parse_day(first, field="from"), parse_day(last, field="to")
    if end < start:
        message = _("The end date %(to)s is before the start date %(from)s.") % {"to": end, "from": start}
        raise ValidationFailed(message, {"to": [message]})
    if start > today:
        message = _("%(from)s is in the future (today is %(today)s).") % {"from": start, "today": today}
        raise ValidationFailed(message, {"from": [message]})
    return start, end, range_label(start, end), None


def _empty() -> dict[str, Any]:
    return {"activities": 0, "participants": 0, "volunteers": 0, "volunteer_hours": Decimal("0.0")}


def _add(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key in FIGURES:
        into[key] += values.get(key) or 0


def work_stats(
    *,
    user: User,
    unit_id: Any = None,
    period: Period | None = None,
    first: Any = None,
    last: Any = None,
    category: Any = None,
) -> dict[str, Any]:
    """Activities (approved reports), people served, volunteers and volunteer hours of a unit's
    subtree, in total, by category and by the units right below it, and the sentence for reports.

    Whole months come from the stored monthly figures; the days of a partial month at either end
    of a date range are counted from the reports themselves (one statement each way).
    """
    unit = visible_unit(user=user, unit_id=unit_id) if unit_id not in (None, "") else top_unit(user)
    chosen = category_get(category)
    start, end, label, period = stats_range(period=period, first=first, last=last)
    stop = end + timedelta(days=1)
    first_month = start if start.day == 1 else add_months(start.replace(day=1), 1)
    stop_month = stop.replace(day=1)
    by_category: dict[int, dict[str, Any]] = {}
    by_child: dict[int, dict[str, Any]] = {}
    children = list(OrgUnit.objects.filter(parent_id=unit.pk).order_by("lft").values("id", "name", "code"))
    for child in children:
        by_child[child["id"]] = {
            **_empty(),
            "unit": child["id"],
            "unit_name": child["name"],
            "unit_code": child["code"],
        }
    if first_month < stop_month:
        stored = MonthlyStats.objects.filter(month__gte=first_month, month__lt=stop_month)
        if chosen is not None:
            stored = stored.filter(category_id=chosen.pk)
        for row in stored.filter(unit_id=unit.pk).values("category_id", *FIGURES):
            _add(by_category.setdefault(row["category_id"], _empty()), row)
        for row in stored.filter(unit_id__in=list(by_child)).values("unit_id", *FIGURES):
            _add(by_child[row["unit_id"]], row)
    edges = []
    if start < min(first_month, stop):
        edges.append((start, min(first_month, stop)))
    if max(stop_month, first_month) < stop and stop_month >= first_month:
        edges.append((max(stop_month, start), stop))
    for edge_start, edge_stop in edges:
        _count_live(unit, edge_start, edge_stop, chosen, by_category, by_child)
    categories = {c.pk: c for c in TaskCategory.objects.filter(pk__in=list(by_category))}
    totals = _empty()
    for values in by_category.values():
        _add(totals, values)
    category_rows = [
        {"category": pk, "code": categories[pk].code, "name": categories[pk].name, **values}
        for pk, values in sorted(
            by_category.items(), key=lambda item: (categories[item[0]].sort_order, item[0])
        )
    ]
    return {
        "unit": unit,
        "period": period,
        "from": start,
        "to": end,
        "label": label,
        "category": chosen,
        "totals": totals,
        "by_category": category_rows,
        "by_child": list(by_child.values()),
        "summary": sentence(
            when=label,
            unit_name=unit.name,
            category_name=chosen.name if chosen else None,
            activities=totals["activities"],
            participants=totals["participants"],
            volunteers=totals["volunteers"],
            volunteer_hours=totals["volunteer_hours"],
        ),
    }


def _count_live(
    unit: OrgUnit,
    start: date,
    stop: date,
    category: TaskCategory | None,
    by_category: dict[int, dict[str, Any]],
    by_child: dict[int, dict[str, Any]],
) -> None:
    """Figures of the reports with their activity in [start, stop) below `unit`, counted directly."""
    a, s, t = Assignment._meta.db_table, Submission._meta.db_table, PracticeTask._meta.db_table
    reports = (
        f"SELECT a.unit_id, tk.category_id, COALESCE(s.participants, 0) AS participants, "  # noqa: S608
        f"COALESCE(s.volunteers, 0) AS volunteers, COALESCE(s.volunteer_hours, 0) AS volunteer_hours "
        f"FROM {a} a JOIN {s} s ON s.id = a.current_submission_id JOIN {t} tk ON tk.id = a.task_id "
        f"WHERE a.status = %s AND NOT EXISTS (SELECT 1 FROM {a} ch WHERE ch.parent_id = a.id) "
        f"AND COALESCE(s.held_at, s.created_at) >= %s AND COALESCE(s.held_at, s.created_at) < %s "
        f"AND (%s::bigint IS NULL OR tk.category_id = %s::bigint)"
    )
    category_id = category.pk if category else None
    params: list[Any] = [
        Assignment.Status.APPROVED,
        day_start(start),
        day_start(stop),
        category_id,
        category_id,
    ]
    units = OrgUnit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.category_id, COUNT(*), SUM(r.participants), SUM(r.volunteers), SUM(r.volunteer_hours) "  # noqa: S608
            f"FROM ({reports}) r JOIN {units} d ON d.id = r.unit_id "
            f"WHERE d.tree_id = %s AND d.lft >= %s AND d.rght <= %s GROUP BY r.category_id",
            [*params, unit.tree_id, unit.lft, unit.rght],
        )
        for category_pk, *values in cursor.fetchall():
            _add(by_category.setdefault(category_pk, _empty()), dict(zip(FIGURES, values, strict=True)))
    if not by_child:
        return
    rows = subtree_rollup(
        root=unit,
        depth=1,
        rows_sql=reports,
        rows_params=params,
        aggregates=[
            Aggregate("activities", "COUNT(r.unit_id)"),
            Aggregate("participants", "COALESCE(SUM(r.participants), 0)"),
            Aggregate("volunteers", "COALESCE(SUM(r.volunteers), 0)"),
            Aggregate("volunteer_hours", "COALESCE(SUM(r.volunteer_hours), 0)"),
        ],
    )
    for row in rows:
        if row["id"] in by_child:
            _add(by_child[row["id"]], row)


# Policies and periods -----------------------------------------------------------------------------


def policy_list(*, user: User) -> QuerySet[ScoringPolicy]:
    """The versions of the districts the user administers."""
    districts = units_for(user, Action.MANAGE_UNITS).filter(parent__isnull=True)
    return ScoringPolicy.objects.filter(district__in=districts).select_related("district", "created_by")


def policy_get(*, user: User, policy_id: Any) -> ScoringPolicy:
    try:
        return policy_list(user=user).get(pk=int(policy_id))
    except (ScoringPolicy.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFound(_("Policy not found, or you do not have access to it.")) from exc


def administered_district(*, user: User, district_id: Any = None) -> OrgUnit:
    """The district a policy or a closing is about: the one given (it must be visible), or the only
    district the user administers."""
    if district_id not in (None, ""):
        district = visible_unit(user=user, unit_id=district_id)
        if district.parent_id is not None:
            message = _("%(unit)s is not a district.") % {"unit": district.name}
            raise ValidationFailed(message, {"district": [message]})
        return district
    districts = list(units_for(user, Action.MANAGE_UNITS).filter(parent__isnull=True)[:2])
    if len(districts) == 1:
        return districts[0]
    if not districts:
        raise Forbidden(_("Only an administrator of a district can do this."))
    message = _("Say which district: add its id as “district”.")
    raise ValidationFailed(message, {"district": [message]})


def policy_effective(*, user: User, unit_id: Any, period: Period) -> tuple[OrgUnit, ScoringPolicy | None]:
    unit = visible_unit(user=user, unit_id=unit_id) if unit_id not in (None, "") else top_unit(user)
    district = district_of(unit)
    return district, policy_in_force(district.pk, period.start)


def period_events(*, user: User, district: OrgUnit) -> QuerySet[PeriodEvent]:
    if not Grants.of(user).can(Action.VIEW, district):
        raise _not_found()
    return (
        PeriodEvent.objects.filter(district=district).select_related("actor").order_by("-created_at", "-id")
    )


def closed_periods(*, district: OrgUnit) -> QuerySet[PeriodClosure]:
    return (
        PeriodClosure.objects.filter(district=district).select_related("closed_by").order_by("-start", "kind")
    )


# The ledger of a task -----------------------------------------------------------------------------


def task_ledger(*, user: User, task_id: Any) -> tuple[PracticeTask, QuerySet[Assignment]]:
    """Every assignment of the task the reader sees, in tree order, with its latest report, its
    reviewer and its score line."""
    from tasks import selectors as task_selectors

    task = task_selectors.task_get(user=user, task_id=task_id)
    grants = Grants.of(user)
    assignments = (
        Assignment.objects.filter(task=task)
        .filter(grants.unit_q(Action.VIEW, "unit"))
        .order_by("unit__tree_id", "unit__lft", "id")
    )
    return task, assignments


def ledger_most_photos(assignments: QuerySet[Assignment]) -> int:
    """The most photos one report of the ledger has: the number of photo columns."""
    from evidence.models import Photo

    counts = (
        Photo.objects.filter(submission_id__in=assignments.order_by().values("current_submission_id"))
        .values("submission_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return counts.aggregate(most=Max("n"))["most"] or 0


def ledger_widths(assignments: QuerySet[Assignment]) -> dict[str, int]:
    """Widths of the name columns that fit their longest text (CJK characters count twice)."""
    found = assignments.order_by().aggregate(
        unit=Max(Length("unit__name")),
        parent=Max(Length("parent__unit__name")),
        reviewer=Max(Length("current_submission__reviewed_by__real_name")),
    )
    return {key: 2 * (value or 4) for key, value in found.items()}
