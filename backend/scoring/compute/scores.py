"""Period scores, and the targets a refresh recomputes: the scratch tables of (unit, period) and
(unit, month) pairs, seeded from the lines before and after they change, from a move, and from
every target's ancestors; then one statement per level computes and merges the period scores of
that level's targets."""

from collections.abc import Sequence

from scoring.compute.sql import (
    LINES,
    SCORES,
    STAT_TARGETS,
    STATS,
    TARGETS,
    Scope,
    State,
    U,
    _closed_period,
    _defaults,
    _merge,
    _policy_join,
    _root_join,
    _stop_sql,
)

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
