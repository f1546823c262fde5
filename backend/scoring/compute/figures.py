"""Monthly work figures: which reports count as activities, the months whose figures a refresh
recomputes (those of the scope's reports, or of every counted report in a full run), and the one
statement per level that computes and merges the figures of that level's targets."""

from scoring.compute.sql import (
    APPROVED,
    STAT_TARGETS,
    STATS,
    A,
    S,
    Scope,
    T,
    U,
    _merge,
    _month_sql,
    _root_join,
    _tz,
)

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


def _seed_all_stats(cursor, scope: Scope) -> None:
    cursor.execute(
        f"INSERT INTO {STAT_TARGETS} (unit_id, level, month) "  # noqa: S608
        f"SELECT DISTINCT d.unit_id, u.level, d.month FROM (SELECT a.unit_id, {_activity_month()} AS month "
        f"{_counted_reports(scope.reports)}) d JOIN {U} u ON u.id = d.unit_id",
        [_tz(), APPROVED, *scope.report_params],
    )
