"""Score lines, one per assignment that counts: removing the lines nothing counts any more, and
merging the scope's lines, each valued under the policy in force in its district and month."""

from datetime import datetime

from scoring.compute.sql import (
    APPROVED,
    LINES,
    A,
    S,
    Scope,
    State,
    T,
    U,
    _closed_month,
    _defaults,
    _merge,
    _month_sql,
    _policy_join,
    _root_join,
    _tz,
)
from scoring.policy import NUMBER_FIELDS
from tasks.models import Assignment

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
