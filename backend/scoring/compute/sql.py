"""What every step of a refresh shares: the advisory lock class, the tables' names, the SQL fragments
that find a month, a period's end, a closed month or period, a unit's district and the policy in
force, `_merge` (how every derived row is written), and `Scope`, the assignments a refresh
recomputes."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings

from orgs.models import OrgUnit
from scoring.models import MonthlyStats, PeriodClosure, PeriodScore, ScoreLine, ScoringPolicy
from scoring.periods import day_start
from scoring.policy import DEFAULT
from tasks.models import Assignment, PracticeTask, Submission

SCORING_LOCK = 410111  # advisory lock class of scoring refreshes (orgs uses 410102 for tree writes)

A = Assignment._meta.db_table
T = PracticeTask._meta.db_table
S = Submission._meta.db_table
U = OrgUnit._meta.db_table
LINES = ScoreLine._meta.db_table
SCORES = PeriodScore._meta.db_table
STATS = MonthlyStats._meta.db_table
CLOSURES = PeriodClosure._meta.db_table
POLICIES = ScoringPolicy._meta.db_table
TARGETS = "scoring_score_targets"
STAT_TARGETS = "scoring_stat_targets"

APPROVED = Assignment.Status.APPROVED
State = ScoreLine.State


def _tz() -> str:
    return settings.TIME_ZONE


def _month_sql(moment: str) -> str:
    return f"date_trunc('month', {moment} AT TIME ZONE %s)::date"


def _stop_sql(kind: str, start: str) -> str:
    return (
        f"({start} + CASE {kind} WHEN 'month' THEN interval '1 month' "
        f"WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)::date"
    )


def _closed_month(district: str, month: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {CLOSURES} c WHERE c.district_id = {district} "  # noqa: S608
        f"AND c.start <= {month} AND {month} < c.stop)"
    )


def _closed_period(district: str, start: str, stop: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {CLOSURES} c WHERE c.district_id = {district} "  # noqa: S608
        f"AND c.start <= {start} AND {stop} <= c.stop)"
    )


def _root_join(unit_alias: str, root_alias: str = "r") -> str:
    # A root has lft = 1 (orgs.tree keeps that invariant): one probe of the tree index.
    return f"JOIN {U} {root_alias} ON {root_alias}.tree_id = {unit_alias}.tree_id AND {root_alias}.lft = 1"


def _policy_join(keys: str, date_column: str, columns: Sequence[str]) -> str:
    """`pol`: for each (district_id, <date_column>) of `keys`, the version in force then, with the
    default's numbers where the district has none (the defaults are parameters, in `columns` order)."""
    picked = ", ".join(f"COALESCE(p.{column}, %s) AS {column}" for column in columns)
    return (
        f"pol AS MATERIALIZED (SELECT k.district_id, k.{date_column}, p.id AS policy_id, {picked} FROM {keys} k "  # noqa: S608
        f"LEFT JOIN LATERAL (SELECT * FROM {POLICIES} p WHERE p.district_id = k.district_id "
        f"AND p.effective_from <= k.{date_column} ORDER BY p.effective_from DESC, p.version DESC LIMIT 1) p ON TRUE)"
    )


def _defaults(columns: Sequence[str]) -> list[Any]:
    return [getattr(DEFAULT, column) for column in columns]


def _merge(
    table: str,
    ctes: str,
    source: str,
    keys: Sequence[str],
    columns: Sequence[str],
    *,
    target_open: str = "TRUE",
    source_open: str = "TRUE",
    delete_when: str | None = None,
) -> str:
    """MERGE the rows of `source`, one of the common table expressions `ctes` (`WITH ...`), into
    `table` (alias `x`; the source's alias is `s`) by `keys`: insert the new
    ones, update those whose `columns` differ and, with `delete_when`, delete the matched rows it
    holds for (and insert none of those). `target_open` / `source_open` leave rows of closed periods
    as they are.

    Rather than INSERT ... ON CONFLICT: a merge joins the source to the table once instead of one
    speculative insertion per row, and leaves an unchanged row alone where ON CONFLICT ... WHERE
    still locks (writes) it, so a nightly run that changes nothing writes nothing. A merge is not
    safe against a concurrent insert of the same key: every writer of these tables holds its
    district's advisory lock (`_lock_trees`) first.
    """
    on = " AND ".join(f"x.{key} = s.{key}" for key in keys)
    current = ", ".join(f"x.{column}" for column in columns)
    incoming = ", ".join(f"s.{column}" for column in columns)
    every = [*keys, *columns]
    deleting, inserting = "", source_open
    if delete_when:
        deleting = f"WHEN MATCHED AND {delete_when} AND {target_open} THEN DELETE\n"
        inserting = f"{source_open} AND NOT {delete_when}"
    return (
        f"{ctes}\nMERGE INTO {table} x USING {source} s ON {on}\n{deleting}"  # noqa: S608
        f"WHEN MATCHED AND {target_open} AND {source_open} AND ({current}) IS DISTINCT FROM ({incoming}) "
        f"THEN UPDATE SET {', '.join(f'{column} = s.{column}' for column in columns)}\n"
        f"WHEN NOT MATCHED AND {inserting} "
        f"THEN INSERT ({', '.join(every)}) VALUES ({', '.join('s.' + column for column in every)})"
    )


@dataclass
class Scope:
    """The assignments a refresh recomputes: a condition on assignments (alias `a`) and the same set
    as a condition on score lines (alias `l`, which also finds lines whose assignment is gone)."""

    assignments: str
    assignment_params: list[Any]
    lines: str
    line_params: list[Any]
    # A whole district or everything: also remove period rows and figures nothing feeds any more.
    district_id: int | None = None
    full: bool = False
    since: date | None = None
    until: date | None = None
    # Full runs: the reports whose monthly figures are rebuilt (alias `a` and `s`, by activity time).
    reports: str = "TRUE"
    report_params: list[Any] = field(default_factory=list)

    @classmethod
    def of_assignments(cls, ids: Iterable[int]) -> "Scope":
        ids = sorted(set(ids))
        return cls("a.id = ANY(%s)", [ids], "l.assignment_id = ANY(%s)", [ids])

    @classmethod
    def of_task(cls, task_id: int) -> "Scope":
        return cls("a.task_id = %s", [task_id], "l.task_id = %s", [task_id])

    @classmethod
    def of_units(cls, unit_ids: Iterable[int]) -> "Scope":
        ids = sorted(set(unit_ids))
        return cls("a.unit_id = ANY(%s)", [ids], "l.unit_id = ANY(%s)", [ids])

    @classmethod
    def open_before(cls, month: date) -> "Scope":
        """Assignments still open in a month that has ended: they now count as not completed."""
        return cls(
            f"a.id IN (SELECT assignment_id FROM {LINES} WHERE state = %s AND month < %s)",  # noqa: S608
            [State.OPEN, month],
            "l.state = %s AND l.month < %s",
            [State.OPEN, month],
        )

    @classmethod
    def of_delegation(cls, assignment_id: int) -> "Scope":
        """An assignment and the assignments it was delegated to."""
        return cls(
            "(a.id = %s OR a.parent_id = %s)",
            [assignment_id, assignment_id],
            f"(l.assignment_id = %s OR l.assignment_id IN (SELECT id FROM {A} WHERE parent_id = %s))",  # noqa: S608
            [assignment_id, assignment_id],
        )

    @classmethod
    def everything(
        cls, *, district: OrgUnit | None = None, since: date | None = None, until: date | None = None
    ) -> "Scope":
        """All assignments (of one district's tree), optionally only those due in the months
        [since, until): the nightly recompute, `manage.py recompute_scores`, a new policy version."""
        assignments, assignment_params, lines, line_params = ["TRUE"], [], ["TRUE"], []
        reports, report_params = ["TRUE"], []
        if district is not None:
            in_tree = f"a.unit_id IN (SELECT id FROM {U} WHERE tree_id = %s)"  # noqa: S608
            assignments.append(in_tree)
            assignment_params.append(district.tree_id)
            reports.append(in_tree)
            report_params.append(district.tree_id)
            lines.append(f"(l.district_id = %s OR l.unit_id IN (SELECT id FROM {U} WHERE tree_id = %s))")  # noqa: S608
            line_params.extend([district.pk, district.tree_id])
        for bound, operator in ((since, ">="), (until, "<")):
            if bound is None:
                continue
            assignments.append(
                f"(a.due_at {operator} %s OR a.id IN (SELECT assignment_id FROM {LINES} WHERE month {operator} %s))"  # noqa: S608
            )
            assignment_params.extend([day_start(bound), bound])
            lines.append(f"l.month {operator} %s")
            line_params.append(bound)
            reports.append(f"COALESCE(s.held_at, s.created_at) {operator} %s")
            report_params.append(day_start(bound))
        return cls(
            " AND ".join(assignments),
            assignment_params,
            " AND ".join(lines),
            line_params,
            district_id=district.pk if district is not None else None,
            full=True,
            since=since,
            until=until,
            reports=" AND ".join(reports),
            report_params=report_params,
        )
