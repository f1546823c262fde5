"""Score lines, period scores and monthly work figures, computed set-based in PostgreSQL.

One path for everything: `refresh(scope)` recomputes the score lines of the assignments in `scope`,
then the period scores and monthly figures of every unit whose figures those lines (as they were
before and as they are now) feed, and of their ancestors, one level at a time from the bottom of
the tree up. An event about one assignment makes the scope that assignment: a bounded number of
statements (the tree is at most three levels deep), whatever the size of the district. The nightly
recompute makes the scope everything (or one district, or one period) and runs the very same
statements; it then also removes rows nothing feeds any more. That is why the incremental result
equals the full one (tests/scoring/test_incremental.py checks it on random trees and outcomes).

Rows inside a closed period (scoring.models.PeriodClosure) are never written: a score line whose
month lies in a closed period of its district, and a period score whose period does.

Concurrency: a refresh holds a transaction-scoped advisory lock per district tree it touches
(sorted, so two refreshes never deadlock), so the units of one district are recomputed one refresh
at a time and a parent is never computed from half-updated children.
"""

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orgs.models import OrgUnit
from scoring.models import MonthlyStats, PeriodClosure, PeriodScore, ScoreLine, ScoringPolicy
from scoring.periods import day_start
from scoring.policy import DEFAULT, NUMBER_FIELDS
from tasks.models import Assignment, PracticeTask, Submission

logger = logging.getLogger(__name__)

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


# Locks ---------------------------------------------------------------------------------------------


def _lock_trees(cursor, tree_ids: Iterable[int]) -> None:
    for tree_id in sorted(set(tree_ids)):
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, tree_id])


def _trees_of(cursor, scope: Scope, extra_units: Sequence[int] = ()) -> list[int]:
    if scope.full and scope.district_id is None:
        cursor.execute(f"SELECT tree_id FROM {U} WHERE lft = 1")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]
    cursor.execute(
        f"SELECT u.tree_id FROM {A} a JOIN {U} u ON u.id = a.unit_id WHERE {scope.assignments} "  # noqa: S608
        f"UNION SELECT u.tree_id FROM {LINES} l JOIN {U} u ON u.id IN (l.unit_id, l.district_id) WHERE {scope.lines} "
        f"UNION SELECT tree_id FROM {U} WHERE id = ANY(%s)",
        [*scope.assignment_params, *scope.line_params, list(extra_units)],
    )
    return [row[0] for row in cursor.fetchall()]


# Score lines ---------------------------------------------------------------------------------------

LINE_COLUMNS = [
    "unit_id",
    "task_id",
    "district_id",
    "policy_id",
    "month",
    "state",
    "points",
    "task_points",
    "rating",
    "factor",
    "days_late",
    "deduction",
    "floor_applied",
    "bonus_participants",
    "bonus_hours",
]


def _delete_stale_lines(cursor, scope: Scope) -> None:
    """Lines of the scope whose assignment is gone, cancelled with its task, or now due in a closed
    period, unless the line itself lies in a closed period."""
    cursor.execute(
        f"DELETE FROM {LINES} l WHERE {scope.lines} AND NOT {_closed_month('l.district_id', 'l.month')} "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {A} a JOIN {U} u ON u.id = a.unit_id {_root_join('u')} "
        f"WHERE a.id = l.assignment_id AND a.status <> %s "
        f"AND NOT {_closed_month('r.id', _month_sql('a.due_at'))})",
        [*scope.line_params, Assignment.Status.CANCELLED, _tz(), _tz()],
    )


def _upsert_lines(cursor, scope: Scope, now: datetime) -> None:
    numbers = NUMBER_FIELDS
    picked = ", ".join(f"pol.{column}" for column in numbers)
    ctes = f"""
WITH src AS (
    SELECT a.id AS assignment_id, a.unit_id, a.task_id, r.id AS district_id, a.status, a.due_at,
           {_month_sql("a.due_at")} AS month, t.points AS task_points,
           CASE WHEN a.status = %s THEN COALESCE(s.created_at, a.settled_at) END AS submitted_at,
           CASE WHEN a.status = %s THEN s.rating END AS rating,
           CASE WHEN a.status = %s THEN COALESCE(s.participants, 0) ELSE 0 END AS participants,
           CASE WHEN a.status = %s THEN COALESCE(s.volunteer_hours, 0) ELSE 0 END AS hours
    FROM {A} a
    JOIN {T} t ON t.id = a.task_id
    JOIN {U} u ON u.id = a.unit_id
    {_root_join("u")}
    LEFT JOIN {S} s ON s.id = a.current_submission_id
    WHERE a.status <> %s AND {scope.assignments}
),
keys AS MATERIALIZED (SELECT DISTINCT district_id, month FROM src),
{_policy_join("keys", "month", numbers)},
judged AS (
    SELECT src.*, pol.policy_id, {picked},
        CASE WHEN src.status = %s THEN
                 CASE WHEN src.submitted_at <= src.due_at THEN %s ELSE %s END
             WHEN src.status = %s THEN %s
             WHEN %s >= ((src.month + interval '1 month')::timestamp AT TIME ZONE %s) THEN %s
             ELSE %s END AS state,
        CASE WHEN src.status = %s THEN
             CASE src.rating WHEN 5 THEN pol.rating_5 WHEN 4 THEN pol.rating_4 WHEN 3 THEN pol.rating_3
                             WHEN 2 THEN pol.rating_2 WHEN 1 THEN pol.rating_1 ELSE pol.rating_none END
        END AS factor,
        CASE WHEN src.status = %s AND src.submitted_at > src.due_at
             THEN CEIL(EXTRACT(EPOCH FROM src.submitted_at - src.due_at) / 86400.0)::int ELSE 0 END AS days_late
    FROM src JOIN pol ON pol.district_id = src.district_id AND pol.month = src.month
),
valued AS (
    SELECT judged.*,
        ROUND(task_points * factor, 2) AS base,
        ROUND(GREATEST(task_points * factor - late_decay_per_day * task_points * days_late,
                       late_floor * task_points * factor), 2) AS after_late,
        task_points * factor - late_decay_per_day * task_points * days_late
            < late_floor * task_points * factor AS under_floor,
        ROUND(LEAST(participants * bonus_per_participant, bonus_participants_cap), 2) AS bonus_p,
        ROUND(LEAST(hours * bonus_per_volunteer_hour, bonus_hours_cap), 2) AS bonus_h
    FROM judged
),
final AS (
    SELECT assignment_id, unit_id, task_id, district_id, policy_id, month, state, task_points,
        CASE WHEN state IN (%s, %s) THEN rating END AS rating,
        factor, days_late,
        CASE WHEN state = %s THEN base - after_late
             WHEN state IN (%s, %s) THEN ROUND(missed_penalty * task_points, 2)
             ELSE 0 END AS deduction,
        state = %s AND under_floor AS floor_applied,
        CASE WHEN state IN (%s, %s) THEN bonus_p ELSE 0 END AS bonus_participants,
        CASE WHEN state IN (%s, %s) THEN bonus_h ELSE 0 END AS bonus_hours,
        CASE WHEN state = %s THEN base + bonus_p + bonus_h
             WHEN state = %s THEN after_late + bonus_p + bonus_h
             WHEN state IN (%s, %s) THEN -ROUND(missed_penalty * task_points, 2)
             ELSE 0 END AS points
    FROM valued
)
"""  # noqa: S608
    sql = _merge(
        LINES,
        ctes,
        "final",
        ["assignment_id"],
        LINE_COLUMNS,
        target_open=f"NOT {_closed_month('x.district_id', 'x.month')}",
        source_open=f"NOT {_closed_month('s.district_id', 's.month')}",
    )
    done = (State.ON_TIME, State.LATE)
    not_done = (State.MISSED, State.CLOSED)
    params = [
        _tz(),
        APPROVED,
        APPROVED,
        APPROVED,
        APPROVED,
        Assignment.Status.CANCELLED,
        *scope.assignment_params,
        *_defaults(numbers),
        APPROVED,
        State.ON_TIME,
        State.LATE,
        Assignment.Status.CLOSED,
        State.CLOSED,
        now,
        _tz(),
        State.MISSED,
        State.OPEN,
        APPROVED,
        APPROVED,
        *done,
        State.LATE,
        *not_done,
        State.LATE,
        *done,
        *done,
        State.ON_TIME,
        State.LATE,
        *not_done,
    ]
    cursor.execute(sql, params)


# Period scores ------------------------------------------------------------------------------------

_PERIODS_OF_MONTH = """CROSS JOIN LATERAL (VALUES
    ('month', {m}, ({m} + interval '1 month')::date),
    ('quarter', date_trunc('quarter', {m})::date, (date_trunc('quarter', {m}) + interval '3 months')::date),
    ('year', date_trunc('year', {m})::date, (date_trunc('year', {m}) + interval '1 year')::date)
) AS p(kind, start, stop)"""


def _create_targets(cursor) -> None:
    """Scratch tables of the (unit, period) and (unit, month) pairs to recompute. Seeding adds
    duplicates freely (no key to check a million times); readers take DISTINCT."""
    cursor.execute(f"DROP TABLE IF EXISTS {TARGETS}")
    cursor.execute(
        f"CREATE TEMP TABLE {TARGETS} (unit_id bigint, level int, kind varchar(7), start date, stop date) "
        f"ON COMMIT DROP"
    )
    cursor.execute(f"DROP TABLE IF EXISTS {STAT_TARGETS}")
    cursor.execute(f"CREATE TEMP TABLE {STAT_TARGETS} (unit_id bigint, level int, month date) ON COMMIT DROP")


def _drop_targets(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {TARGETS}, {STAT_TARGETS}")


def _seed_from_lines(cursor, scope: Scope) -> None:
    """The periods of the scope's lines, for their units (before and after the lines change)."""
    cursor.execute(
        f"INSERT INTO {TARGETS} (unit_id, level, kind, start, stop) "  # noqa: S608
        f"SELECT DISTINCT d.unit_id, u.level, p.kind, p.start, p.stop "
        f"FROM (SELECT DISTINCT l.unit_id, l.month FROM {LINES} l WHERE {scope.lines}) d "
        f"JOIN {U} u ON u.id = d.unit_id {_PERIODS_OF_MONTH.format(m='d.month')}",
        scope.line_params,
    )


def _seed_unit_periods(cursor, unit_ids: Sequence[int], source_unit_ids: Sequence[int]) -> None:
    """Every period in which one of `source_unit_ids` has a score, for each of `unit_ids` (a move)."""
    cursor.execute(
        f"INSERT INTO {TARGETS} (unit_id, level, kind, start, stop) "  # noqa: S608
        f"SELECT DISTINCT u.id, u.level, p.kind, p.start, {_stop_sql('p.kind', 'p.start')} "
        f"FROM {U} u CROSS JOIN (SELECT DISTINCT kind, start FROM {SCORES} WHERE unit_id = ANY(%s)) p "
        f"WHERE u.id = ANY(%s)",
        [list(source_unit_ids), list(unit_ids)],
    )
    cursor.execute(
        f"INSERT INTO {STAT_TARGETS} (unit_id, level, month) "  # noqa: S608
        f"SELECT DISTINCT u.id, u.level, m.month FROM {U} u "
        f"CROSS JOIN (SELECT DISTINCT month FROM {STATS} WHERE unit_id = ANY(%s)) m "
        f"WHERE u.id = ANY(%s)",
        [list(source_unit_ids), list(unit_ids)],
    )


def _add_ancestors(cursor, table: str, columns: str) -> None:
    """Add each target's parent for the same period, level by level up to the districts."""
    cursor.execute(f"SELECT COALESCE(MAX(level), 0) FROM {table}")  # noqa: S608
    deepest = cursor.fetchone()[0]
    for level in range(deepest, 0, -1):
        cursor.execute(
            f"INSERT INTO {table} (unit_id, level, {columns}) "  # noqa: S608
            f"SELECT DISTINCT u.parent_id, %s, {', '.join('t.' + c.strip() for c in columns.split(','))} "
            f"FROM {table} t JOIN {U} u ON u.id = t.unit_id "
            f"WHERE t.level = %s AND u.parent_id IS NOT NULL",
            [level - 1, level],
        )


SCORE_COLUMNS = [
    "level",
    "parent_id",
    "district_id",
    "policy_id",
    "own_points",
    "children_points",
    "children_count",
    "score",
    "assignments",
    "approved",
    "on_time",
    "completion_rate",
    "on_time_rate",
]


def _score_level(cursor, level: int, *, every_unit: bool = False) -> None:
    """Period scores of the targets on one level, from their own lines and their children's rows.

    `every_unit`: every unit with lines is a target (a full run of everything), so the lines are
    read whole rather than looked up unit by unit."""
    rule_columns = ["parent_rule", "own_weight", "children_weight"]
    ctes = f"""
WITH t AS MATERIALIZED (SELECT DISTINCT unit_id, kind, start, stop FROM {TARGETS} WHERE level = %s),
own AS (
    SELECT l.unit_id, p.kind, p.start, SUM(l.points) AS points, COUNT(*) AS n,
           COUNT(*) FILTER (WHERE l.state IN (%s, %s)) AS approved,
           COUNT(*) FILTER (WHERE l.state = %s) AS on_time
    FROM {LINES} l {_PERIODS_OF_MONTH.format(m="l.month")}
    WHERE {"TRUE" if every_unit else "l.unit_id IN (SELECT unit_id FROM t)"}
    GROUP BY l.unit_id, p.kind, p.start
),
kids AS (
    SELECT t.unit_id, t.kind, t.start, COUNT(*) AS n, SUM(c.score) AS total,
           SUM(c.assignments) AS assignments, SUM(c.approved) AS approved, SUM(c.on_time) AS on_time
    FROM t JOIN {U} cu ON cu.parent_id = t.unit_id
    JOIN {SCORES} c ON c.unit_id = cu.id AND c.kind = t.kind AND c.start = t.start AND c.parent_id = t.unit_id
    WHERE c.level = %s
    GROUP BY t.unit_id, t.kind, t.start
),
base AS (
    SELECT t.unit_id, t.kind, t.start, t.stop, u.level, u.parent_id, r.id AS district_id,
           COALESCE(own.points, 0) AS own_points, COALESCE(kids.n, 0) AS children_count,
           COALESCE(kids.total, 0) AS children_total,
           COALESCE(own.n, 0) + COALESCE(kids.assignments, 0) AS assignments,
           COALESCE(own.approved, 0) + COALESCE(kids.approved, 0) AS approved,
           COALESCE(own.on_time, 0) + COALESCE(kids.on_time, 0) AS on_time
    FROM t JOIN {U} u ON u.id = t.unit_id {_root_join("u")}
    LEFT JOIN own ON own.unit_id = t.unit_id AND own.kind = t.kind AND own.start = t.start
    LEFT JOIN kids ON kids.unit_id = t.unit_id AND kids.kind = t.kind AND kids.start = t.start
),
keys AS MATERIALIZED (SELECT DISTINCT district_id, start FROM base),
{_policy_join("keys", "start", rule_columns)},
scored AS (
    SELECT base.*, pol.policy_id, pol.parent_rule, pol.own_weight, pol.children_weight,
        CASE WHEN children_count = 0 THEN 0
             WHEN pol.parent_rule = %s THEN children_total
             ELSE ROUND(children_total / children_count, 2) END AS children_points
    FROM base JOIN pol ON pol.district_id = base.district_id AND pol.start = base.start
),
computed AS (
SELECT unit_id, kind, start, stop, level, parent_id, district_id, policy_id, own_points, children_points,
    children_count,
    CASE WHEN children_count = 0 THEN own_points
         WHEN parent_rule IN (%s, %s) THEN own_points + children_points
         WHEN parent_rule = %s THEN children_points
         ELSE ROUND(own_weight * own_points + children_weight * children_points, 2) END AS score,
    assignments, approved, on_time,
    ROUND(approved::numeric / NULLIF(assignments, 0), 4) AS completion_rate,
    ROUND(on_time::numeric / NULLIF(assignments, 0), 4) AS on_time_rate
FROM scored
)
"""  # noqa: S608
    params = [
        level,
        State.ON_TIME,
        State.LATE,
        State.ON_TIME,
        level + 1,
        *_defaults(rule_columns),
        "own_plus_sum",
        "own_plus_mean",
        "own_plus_sum",
        "children_mean",
    ]
    # A target whose lines and children are all gone has no row any more.
    sql = _merge(
        SCORES,
        ctes,
        "computed",
        ["unit_id", "kind", "start"],
        SCORE_COLUMNS,
        target_open=f"NOT {_closed_period('x.district_id', 'x.start', _stop_sql('x.kind', 'x.start'))}",
        source_open=f"NOT {_closed_period('s.district_id', 's.start', 's.stop')}",
        delete_when="s.assignments = 0",
    )
    cursor.execute(sql, params)


# Monthly work figures ------------------------------------------------------------------------------

STAT_COLUMNS = ["parent_id", "district_id", "activities", "participants", "volunteers", "volunteer_hours"]


def _activity_month(report: str = "s") -> str:
    return _month_sql(f"COALESCE({report}.held_at, {report}.created_at)")


def _counted_reports(condition: str) -> str:
    """Approved reports that count as activities: not one that passes on its delegated units' work."""
    return (
        f"FROM {A} a JOIN {S} s ON s.id = a.current_submission_id JOIN {T} tk ON tk.id = a.task_id "  # noqa: S608
        f"WHERE a.status = %s AND NOT EXISTS (SELECT 1 FROM {A} ch WHERE ch.parent_id = a.id) AND {condition}"
    )


def _seed_stats(cursor, scope: Scope) -> None:
    """Months of the scope's counted reports, and of the reports they were delegated from."""
    month = _activity_month()
    cursor.execute(
        f"INSERT INTO {STAT_TARGETS} (unit_id, level, month) "  # noqa: S608
        f"SELECT DISTINCT d.unit_id, u.level, d.month FROM ("
        f"SELECT a.unit_id, {month} AS month FROM {A} a JOIN {S} s ON s.id = a.current_submission_id "
        f"WHERE a.status = %s AND {scope.assignments} "
        f"UNION SELECT p.unit_id, {_activity_month('ps')} FROM {A} p JOIN {S} ps ON ps.id = p.current_submission_id "
        f"WHERE p.status = %s AND p.id IN (SELECT a.parent_id FROM {A} a WHERE {scope.assignments})"
        f") d JOIN {U} u ON u.id = d.unit_id",
        [_tz(), APPROVED, *scope.assignment_params, _tz(), APPROVED, *scope.assignment_params],
    )


def _stats_level(cursor, level: int, *, every_unit: bool = False) -> None:
    """Monthly figures of the targets on one level (`every_unit` as in `_score_level`)."""
    ctes = f"""
WITH t AS MATERIALIZED (SELECT DISTINCT unit_id, month FROM {STAT_TARGETS} WHERE level = %s),
own AS (
    SELECT a.unit_id, {_activity_month()} AS month, tk.category_id, COUNT(*) AS activities,
           SUM(COALESCE(s.participants, 0)) AS participants, SUM(COALESCE(s.volunteers, 0)) AS volunteers,
           SUM(COALESCE(s.volunteer_hours, 0)) AS volunteer_hours
    {_counted_reports("TRUE" if every_unit else "a.unit_id IN (SELECT unit_id FROM t)")}
    GROUP BY 1, 2, 3
),
own_t AS (
    SELECT own.* FROM own JOIN t ON t.unit_id = own.unit_id AND t.month = own.month
),
kids AS (
    SELECT t.unit_id, t.month, c.category_id, SUM(c.activities) AS activities,
           SUM(c.participants) AS participants, SUM(c.volunteers) AS volunteers,
           SUM(c.volunteer_hours) AS volunteer_hours
    FROM t JOIN {U} cu ON cu.parent_id = t.unit_id AND cu.level = %s
    JOIN {STATS} c ON c.unit_id = cu.id AND c.month = t.month
    GROUP BY t.unit_id, t.month, c.category_id
),
combined AS (
    SELECT x.unit_id, x.month, x.category_id, u.parent_id, r.id AS district_id,
           SUM(x.activities) AS activities, SUM(x.participants) AS participants,
           SUM(x.volunteers) AS volunteers, SUM(x.volunteer_hours) AS volunteer_hours
    FROM (SELECT * FROM own_t UNION ALL SELECT * FROM kids) x
    JOIN {U} u ON u.id = x.unit_id {_root_join("u")}
    GROUP BY x.unit_id, x.month, x.category_id, u.parent_id, r.id
),
gone AS (
    DELETE FROM {STATS} m USING t
    WHERE m.unit_id = t.unit_id AND m.month = t.month AND NOT EXISTS (
        SELECT 1 FROM combined c WHERE c.unit_id = m.unit_id AND c.month = m.month AND c.category_id = m.category_id)
)"""  # noqa: S608
    sql = _merge(STATS, ctes, "combined", ["unit_id", "month", "category_id"], STAT_COLUMNS)
    cursor.execute(sql, [level, _tz(), APPROVED, level + 1])


# Full runs: remove what nothing feeds any more ------------------------------------------------------


def _seed_all_stats(cursor, scope: Scope) -> None:
    cursor.execute(
        f"INSERT INTO {STAT_TARGETS} (unit_id, level, month) "  # noqa: S608
        f"SELECT DISTINCT d.unit_id, u.level, d.month FROM (SELECT a.unit_id, {_activity_month()} AS month "
        f"{_counted_reports(scope.reports)}) d JOIN {U} u ON u.id = d.unit_id",
        [_tz(), APPROVED, *scope.report_params],
    )


def _remove_unfed(cursor, scope: Scope, *, scores: bool = True, figures: bool = True) -> None:
    """Period rows and monthly figures of the scope that no target was computed for this time
    (only periods wholly inside the scope's months: a year reaching outside them is a target
    whenever one of its lines in the scope changed)."""
    where: list[str] = ["TRUE"]
    stat_where: list[str] = ["TRUE"]
    params: list[Any] = []
    stat_params: list[Any] = []
    if scope.district_id is not None:
        where.append("p.district_id = %s")
        params.append(scope.district_id)
        stat_where.append("m.district_id = %s")
        stat_params.append(scope.district_id)
    if scope.since is not None:
        where.append("p.start >= %s")
        params.append(scope.since)
        stat_where.append("m.month >= %s")
        stat_params.append(scope.since)
    if scope.until is not None:
        where.append(f"{_stop_sql('p.kind', 'p.start')} <= %s")
        params.append(scope.until)
        stat_where.append("m.month < %s")
        stat_params.append(scope.until)
    if scores:
        cursor.execute(
            f"DELETE FROM {SCORES} p WHERE {' AND '.join(where)} "  # noqa: S608
            f"AND NOT {_closed_period('p.district_id', 'p.start', _stop_sql('p.kind', 'p.start'))} "
            f"AND NOT EXISTS (SELECT 1 FROM {TARGETS} t WHERE t.unit_id = p.unit_id AND t.kind = p.kind AND t.start = p.start)",
            params,
        )
    if figures:
        cursor.execute(
            f"DELETE FROM {STATS} m WHERE {' AND '.join(stat_where)} "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {STAT_TARGETS} t WHERE t.unit_id = m.unit_id AND t.month = m.month)",
            stat_params,
        )


# Filling empty tables ------------------------------------------------------------------------------


def _is_empty(cursor, table: str) -> bool:
    cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")  # noqa: S608
    return cursor.fetchone()[0]


def _owned(cursor, table: str) -> bool:
    """Whether this connection's role may drop and create `table`'s indexes (it owns the table, as
    the role that ran the migrations does; a deployment may read and write with a lesser one)."""
    cursor.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass", [table]
    )
    return cursor.fetchone()[0]


def _drop_secondary_indexes(cursor, table: str) -> list[str]:
    """Drop the indexes of `table` that back no constraint and return their definitions.

    Filling an empty table (a first run, or after the scores were emptied) writes a million rows:
    inserting each into two ranking indexes costs more than building the indexes afterwards, sorted,
    in one pass each (PostgreSQL's "Populating a Database"). The drop holds the table's exclusive
    lock until the run commits, so readers wait for the run instead of seeing an empty ranking."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


# The one entry point ------------------------------------------------------------------------------


class _Steps:
    """Durations of a full run's steps, logged (the nightly job's log says where the time went)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.last = time.monotonic()
        self.spent: list[str] = []

    def __call__(self, name: str) -> None:
        if self.enabled:
            now = time.monotonic()
            self.spent.append(f"{name} {now - self.last:.1f} s")
            self.last = now

    def log(self) -> None:
        if self.enabled:
            logger.info("Scoring recomputed: %s", ", ".join(self.spent))


def refresh(
    scope: Scope,
    *,
    now: datetime | None = None,
    moved_units: Sequence[int] = (),
    former_parents: Sequence[int] = (),
) -> None:
    """Recompute the score lines of `scope` and every period score and monthly figure they feed.

    `moved_units` / `former_parents` (a unit move): the moved units' rows and their former parents'
    chains are recomputed for every period in which the moved units have figures.
    """
    now = now or timezone.now()
    step = _Steps(scope.full)
    everything = scope.full and scope.district_id is None and scope.since is None and scope.until is None
    with transaction.atomic(), connection.cursor() as cursor:
        if scope.full:
            # Sorts and hashes of a million rows in memory rather than in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        _lock_trees(cursor, _trees_of(cursor, scope, [*moved_units, *former_parents]))
        # A run of everything into empty tables: nothing can be unfed, and the period scores are
        # written without their ranking indexes, which are built after.
        scores_empty = everything and _is_empty(cursor, SCORES)
        figures_empty = everything and _is_empty(cursor, STATS)
        _create_targets(cursor)
        if not (scope.full and scope.since is None and scope.until is None):
            # Where the lines counted before (a full run of everything removes unfed rows instead).
            _seed_from_lines(cursor, scope)
        if moved_units:
            _seed_unit_periods(cursor, [*moved_units, *former_parents], moved_units)
        step("targets before")
        _delete_stale_lines(cursor, scope)
        step("stale lines")
        _upsert_lines(cursor, scope, now)
        step("lines")
        _seed_from_lines(cursor, scope)  # where they count now
        _add_ancestors(cursor, TARGETS, "kind, start, stop")
        cursor.execute(f"ANALYZE {TARGETS}")  # temporary tables are never analysed on their own
        step("targets")
        # In a run of everything the deepest level's targets are every unit that has lines (most
        # of them); the levels above are a few units each, looked up by index.
        levels = _levels(cursor, TARGETS)
        rebuild = _drop_secondary_indexes(cursor, SCORES) if scores_empty and _owned(cursor, SCORES) else []
        for level in levels:
            _score_level(cursor, level, every_unit=everything and level == levels[0])
            step(f"scores of level {level}")
        if rebuild:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in rebuild:
                cursor.execute(definition)
            step("ranking indexes")
        if scope.full:
            _seed_all_stats(cursor, scope)
        else:
            _seed_stats(cursor, scope)
        _add_ancestors(cursor, STAT_TARGETS, "month")
        cursor.execute(f"ANALYZE {STAT_TARGETS}")
        step("figure targets")
        levels = _levels(cursor, STAT_TARGETS)
        for level in levels:
            _stats_level(cursor, level, every_unit=everything and level == levels[0])
            step(f"figures of level {level}")
        if scope.full:
            _remove_unfed(cursor, scope, scores=not scores_empty, figures=not figures_empty)
            step("unfed rows")
        _drop_targets(cursor)
    step.log()


def _levels(cursor, table: str) -> list[int]:
    cursor.execute(f"SELECT COALESCE(MAX(level), -1) FROM {table}")  # noqa: S608
    return list(range(cursor.fetchone()[0], -1, -1))
