"""The scan: reminders before and at the due time, overdue reminders, escalation, review reminders.

Run every few minutes by beat (`notifications.scan`) and by `manage.py send_reminders`. Each run asks
"what stage is each open assignment in now?" in SQL and makes the notification of that stage once
(notifications.notices). So:

- an assignment is in at most one due-time stage at a time: the latest offset before the due time
  that has passed, then "due", then "overdue"; a scan that comes late (a worker was down for a day)
  sends the stage it finds, one reminder, not one per missed offset;
- stages follow the assignment's current due time, so reminders follow an edited due time; a stage
  already sent (same kind and offset) is never sent again;
- only pending, accepted and returned assignments of published tasks are reminded: approved,
  cancelled and closed ones never; a submitted one waits for its reviewers, who get review reminders.

Three statements per scan (the largest plan offset, due times, reports waiting), whatever the number
of assignments.
"""

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications import schedule
from notifications.models import ReminderPlan
from notifications.notices import Made, notify
from orgs.models import OrgUnit
from orgs.scope import Action, roles_for
from tasks.models import Assignment, PracticeTask, Submission

ACTING = [Assignment.Status.PENDING, Assignment.Status.ACCEPTED, Assignment.Status.RETURNED]

A, T, U, S = (
    Assignment._meta.db_table,
    PracticeTask._meta.db_table,
    OrgUnit._meta.db_table,
    Submission._meta.db_table,
)
PLAN = ReminderPlan._meta.db_table


def _largest_offset(defaults: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(o::int) FROM {PLAN}, jsonb_array_elements_text(offsets) AS o")  # noqa: S608
        planned = cursor.fetchone()[0]
    return max([*defaults, planned or 0, 0])


def _minutes(hours: float) -> timedelta:
    return timedelta(minutes=round(hours * 60))


DUE_NOTICES = f"""
SELECT k.kind, 'assignment:' || c.id AS subject, k.occasion, c.task_id, c.id AS assignment_id,
       c.unit_id, k.audience_id, k.roles,
       jsonb_build_object(
           'task_title', c.title, 'unit_name', c.unit_name, 'parent_name', c.parent_name,
           'due_at', c.due_at,
           'minutes_left', GREATEST(0, floor(extract(epoch FROM c.due_at - %(now)s) / 60))::int,
           'minutes_late', GREATEST(0, floor(extract(epoch FROM %(now)s - c.due_at) / 60))::int
       ) AS data,
       NULL::bigint AS only_user
FROM (
    SELECT a.id, a.task_id, a.unit_id, a.due_at, t.title, u.name AS unit_name, u.parent_id,
           pu.name AS parent_name,
           (SELECT min(o::int) FROM jsonb_array_elements_text(COALESCE(p.offsets, %(offsets)s::jsonb)) AS o
             WHERE a.due_at - make_interval(mins => o::int) <= %(now)s) AS stage
    FROM {A} a
    JOIN {T} t ON t.id = a.task_id AND t.status = 'published'
    JOIN {U} u ON u.id = a.unit_id
    LEFT JOIN {U} pu ON pu.id = u.parent_id
    LEFT JOIN {PLAN} p ON p.task_id = a.task_id
    WHERE a.due_at > %(since)s AND a.due_at <= %(until)s AND a.status = ANY(%(acting)s)
) c
CROSS JOIN LATERAL (VALUES
    (CASE WHEN c.due_at > %(now)s THEN CASE WHEN c.stage IS NOT NULL THEN 'due_soon' END
          WHEN c.due_at > %(overdue_at)s THEN 'due'
          ELSE 'overdue' END,
     CASE WHEN c.due_at > %(now)s THEN 'before:' || c.stage
          WHEN c.due_at > %(overdue_at)s THEN 'due'
          ELSE 'overdue' END,
     c.unit_id, %(work_roles)s::text[]),
    (CASE WHEN c.due_at <= %(escalate_at)s THEN 'escalation' END, 'escalation', c.parent_id,
     %(review_roles)s::text[])
) AS k(kind, occasion, audience_id, roles)
WHERE k.kind IS NOT NULL AND k.audience_id IS NOT NULL
"""  # noqa: S608

REVIEW_NOTICES = f"""
SELECT k.kind, 'report:' || c.submission_id AS subject, k.occasion, c.task_id, c.id AS assignment_id,
       c.unit_id, k.audience_id, %(review_roles)s::text[] AS roles,
       jsonb_build_object(
           'task_title', c.title, 'unit_name', c.unit_name, 'reviewer_name', c.reviewer_name,
           'above_name', c.above_name, 'due_at', c.due_at, 'submitted_at', c.submitted_at,
           'minutes_waited', GREATEST(0, floor(extract(epoch FROM %(now)s - c.submitted_at) / 60))::int
       ) AS data,
       NULL::bigint AS only_user
FROM (
    SELECT a.id, a.task_id, a.unit_id, a.due_at, t.title, u.name AS unit_name, s.id AS submission_id,
           s.created_at AS submitted_at, ru.id AS reviewer_id, ru.name AS reviewer_name,
           ru.parent_id AS above_id, au.name AS above_name
    FROM {A} a
    JOIN {S} s ON s.id = a.current_submission_id
    JOIN {T} t ON t.id = a.task_id AND t.status = 'published'
    JOIN {U} u ON u.id = a.unit_id
    LEFT JOIN {A} pa ON pa.id = a.parent_id
    JOIN {U} ru ON ru.id = COALESCE(pa.unit_id, u.parent_id)
    LEFT JOIN {U} au ON au.id = ru.parent_id
    WHERE a.status = 'submitted' AND s.created_at <= %(review_at)s AND s.created_at > %(since)s
) c
CROSS JOIN LATERAL (VALUES
    ('review_waiting', 'review', c.reviewer_id),
    (CASE WHEN c.submitted_at <= %(review_escalate_at)s THEN 'review_escalation' END, 'escalation', c.above_id)
) AS k(kind, occasion, audience_id)
WHERE k.kind IS NOT NULL AND k.audience_id IS NOT NULL
"""  # noqa: S608


def _roles() -> dict[str, list[str]]:
    """Who is reminded, from the one role table (orgs.scope): the people who may work on the unit,
    and for escalation and reviews the people who may review below their unit."""
    return {"work_roles": roles_for(Action.WORK), "review_roles": roles_for(Action.REVIEW)}


@transaction.atomic
def reminders_scan(*, now: datetime | None = None) -> Made:
    """One scan: every reminder, escalation and review reminder due at `now`, each made once."""
    now = now or timezone.now()
    offsets = schedule.default_offsets()
    since = now - schedule.lookback()
    made = notify(
        DUE_NOTICES,
        {
            **_roles(),
            "offsets": json.dumps(offsets),
            "since": since,
            "until": now + timedelta(minutes=_largest_offset(offsets)),
            "acting": ACTING,
            "overdue_at": now - _minutes(settings.NOTIFICATIONS_OVERDUE_HOURS),
            "escalate_at": now - _minutes(settings.NOTIFICATIONS_ESCALATION_HOURS),
        },
        now=now,
    )
    made += notify(
        REVIEW_NOTICES,
        {
            **_roles(),
            "since": since,
            "review_at": now - _minutes(settings.NOTIFICATIONS_REVIEW_HOURS),
            "review_escalate_at": now - _minutes(settings.NOTIFICATIONS_REVIEW_ESCALATION_HOURS),
        },
        now=now,
    )
    return made
