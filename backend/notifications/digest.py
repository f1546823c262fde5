"""The officers' daily digest: what in their subtree is due within 48 hours, overdue, or waiting for
review, with counts per child unit. Nothing is sent to an officer with nothing to say.

One statement counts for every officer at once (tree ranges, GROUP BY), one statement makes the
notifications (notifications.notices), keyed by the local (Asia/Shanghai) date: a second run on
the same day adds nothing, the first run after midnight makes the next day's.
"""

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from notifications import schedule
from notifications.notices import Made, notify
from orgs.models import Membership, OrgUnit, Role, User
from tasks.models import Assignment, PracticeTask

A, T, U = Assignment._meta.db_table, PracticeTask._meta.db_table, OrgUnit._meta.db_table
M, P = Membership._meta.db_table, User._meta.db_table
SOON = timedelta(hours=48)
ACTING = [Assignment.Status.PENDING, Assignment.Status.ACCEPTED, Assignment.Status.RETURNED]

COUNTS = f"""
SELECT m.user_id, mu.id, mu.name, COALESCE(c.id, mu.id), COALESCE(c.name, mu.name),
       count(*) FILTER (WHERE a.status = ANY(%(acting)s) AND a.due_at >= %(now)s AND a.due_at < %(soon)s),
       count(*) FILTER (WHERE a.status = ANY(%(acting)s) AND a.due_at < %(now)s),
       count(*) FILTER (WHERE a.status = 'submitted' AND a.unit_id <> mu.id)
FROM {M} m
JOIN {P} p ON p.id = m.user_id AND p.is_active
JOIN {U} mu ON mu.id = m.unit_id
JOIN {U} au ON au.tree_id = mu.tree_id AND au.lft >= mu.lft AND au.rght <= mu.rght
JOIN {A} a ON a.unit_id = au.id
JOIN {T} t ON t.id = a.task_id AND t.status = 'published'
LEFT JOIN {U} c ON c.parent_id = mu.id AND au.lft >= c.lft AND au.rght <= c.rght
WHERE m.role = %(role)s
  AND (a.status = 'submitted' OR (a.status = ANY(%(acting)s) AND a.due_at < %(soon)s))
  AND (%(user)s::bigint IS NULL OR m.user_id = %(user)s::bigint)
GROUP BY m.user_id, mu.id, mu.name, mu.lft, COALESCE(c.id, mu.id), COALESCE(c.name, mu.name), COALESCE(c.lft, mu.lft)
ORDER BY m.user_id, mu.lft, COALESCE(c.lft, mu.lft)
"""  # noqa: S608

DIGEST_NOTICES = """
SELECT 'digest' AS kind, 'digest' AS subject, %(date)s AS occasion, NULL::bigint AS task_id,
       NULL::bigint AS assignment_id, x.unit_id, x.unit_id AS audience_id, %(roles)s::text[] AS roles,
       x.data, x.user_id AS only_user
FROM jsonb_to_recordset(%(rows)s::jsonb) AS x(user_id bigint, unit_id bigint, data jsonb)
"""


def digest_contents(*, now: datetime, user_id: int | None = None) -> dict[int, dict[str, Any]]:
    """{officer id: digest details} for the officers with something to say."""
    found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            COUNTS,
            {"acting": ACTING, "now": now, "soon": now + SOON, "role": Role.OFFICER, "user": user_id},
        )
        for user, root_id, root_name, _unit_id, name, due_soon, overdue, waiting in cursor.fetchall():
            if not (due_soon or overdue or waiting):
                continue
            section = found[user].setdefault(
                root_id,
                {
                    "unit_id": root_id,
                    "unit": root_name,
                    "due_soon": 0,
                    "overdue": 0,
                    "waiting": 0,
                    "rows": [],
                },
            )
            section["due_soon"] += due_soon
            section["overdue"] += overdue
            section["waiting"] += waiting
            section["rows"].append(
                {"name": name, "due_soon": due_soon, "overdue": overdue, "waiting": waiting}
            )
    return {
        user: {"date": schedule.local_date(now).isoformat(), "sections": list(sections.values())}
        for user, sections in found.items()
    }


@transaction.atomic
def digests_send(*, now: datetime | None = None, user_id: int | None = None) -> Made:
    """Today's digest for every officer (or one), once per local date."""
    now = now or timezone.now()
    contents = digest_contents(now=now, user_id=user_id)
    if not contents:
        return Made()
    rows = [
        {"user_id": user, "unit_id": data["sections"][0]["unit_id"], "data": data}
        for user, data in contents.items()
    ]
    return notify(
        DIGEST_NOTICES,
        {
            "date": schedule.local_date(now).isoformat(),
            "roles": [Role.OFFICER],
            "rows": json.dumps(rows),
        },
        now=now,
    )
