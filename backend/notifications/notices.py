"""Set-based making of notifications: one SQL statement turns "notices" into notifications and pushes.

A notice is a row (kind, subject, occasion, task, assignment, unit, audience unit, roles, data,
only_user) produced by a SELECT (the scan's due times, a domain event, the digest's counts). One
statement then, for any number of notices:

1. finds the recipients: the members of the audience unit whose role is among `roles` (the people
   orgs.scope.holders names at distance 0), active accounts only, or just `only_user`;
2. inserts one Notification per (recipient, kind, subject, occasion), ON CONFLICT DO NOTHING: the
   uniqueness constraint makes a second scan, a second beat or a redelivered job add nothing;
3. inserts the pushes of the notifications it just made: email / SMS per the person's choices (or
   the defaults) where they have an address, and a robot post per active robot of the audience unit
   that posts this kind, each also unique. During quiet hours they are made `held` until morning.

The number of statements never depends on the number of assignments or people.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notifications import schedule
from notifications.models import (
    DEFAULT_CHANNELS,
    PERSONAL_CHANNELS,
    ChannelPreference,
    Delivery,
    Notification,
    Robot,
)
from orgs.models import Membership, User

NOTICE_COLUMNS = (
    "kind, subject, occasion, task_id, assignment_id, unit_id, audience_id, roles, data, only_user"
)


@dataclass
class Made:
    notifications: int = 0
    personal: int = 0
    robots: int = 0

    def __iadd__(self, other: "Made") -> "Made":
        self.notifications += other.notifications
        self.personal += other.personal
        self.robots += other.robots
        return self

    @property
    def pushes(self) -> int:
        return self.personal + self.robots


def push_channels() -> list[str]:
    """The personal push channels this deployment can use."""
    channels = []
    if settings.NOTIFICATIONS_EMAIL:
        channels.append("email")
    if settings.NOTIFICATIONS_SMS_BACKEND:
        channels.append("sms")
    return [channel for channel in channels if channel in PERSONAL_CHANNELS]


def default_pairs() -> list[str]:
    return [f"{kind}:{channel}" for channel, kinds in DEFAULT_CHANNELS.items() for kind in kinds]


def notify(notices_sql: str, params: dict[str, Any], *, now: datetime | None = None) -> Made:
    """Make the notifications and pushes of the notices `notices_sql` selects (see the module doc).

    `notices_sql` selects NOTICE_COLUMNS and may use %(now)s and its own named parameters.
    """
    now = now or timezone.now()
    held_until = schedule.quiet_until(now)
    sql = f"""
WITH notice AS ({notices_sql}),
recipient AS (
    SELECT DISTINCT ON (m.user_id, n.kind, n.subject, n.occasion)
           m.user_id, n.kind, n.subject, n.occasion, n.task_id, n.assignment_id, n.unit_id,
           n.audience_id, n.data
    FROM notice n
    JOIN {Membership._meta.db_table} m ON m.unit_id = n.audience_id AND m.role = ANY(n.roles)
    JOIN {User._meta.db_table} u ON u.id = m.user_id AND u.is_active
    WHERE n.only_user IS NULL OR m.user_id = n.only_user
),
made AS (
    INSERT INTO {Notification._meta.db_table}
        (recipient_id, kind, subject, occasion, task_id, assignment_id, unit_id, data, created_at)
    SELECT user_id, kind, subject, occasion, task_id, assignment_id, unit_id, data, %(now)s
    FROM recipient
    ON CONFLICT DO NOTHING
    RETURNING recipient_id, kind, subject, occasion
),
personal AS (
    INSERT INTO {Delivery._meta.db_table}
        (channel, status, recipient_id, robot_id, kind, subject, occasion, unit_id, task_id,
         assignment_id, data, attempts, next_attempt_at, created_at, error)
    SELECT ch.channel, %(status)s, r.user_id, NULL, r.kind, r.subject, r.occasion, r.audience_id,
           r.task_id, r.assignment_id, r.data, 0, %(next_attempt_at)s, %(now)s, ''
    FROM made
    JOIN recipient r ON r.user_id = made.recipient_id AND r.kind = made.kind
                    AND r.subject = made.subject AND r.occasion = made.occasion
    JOIN {User._meta.db_table} u ON u.id = r.user_id
    CROSS JOIN unnest(%(channels)s::text[]) AS ch(channel)
    LEFT JOIN {ChannelPreference._meta.db_table} p
           ON p.user_id = r.user_id AND p.kind = r.kind AND p.channel = ch.channel
    WHERE COALESCE(p.enabled, (r.kind || ':' || ch.channel) = ANY(%(defaults)s::text[]))
      AND ((ch.channel = 'email' AND u.email <> '') OR (ch.channel = 'sms' AND COALESCE(u.mobile, '') <> ''))
    ON CONFLICT DO NOTHING
    RETURNING 1
),
robots AS (
    INSERT INTO {Delivery._meta.db_table}
        (channel, status, recipient_id, robot_id, kind, subject, occasion, unit_id, task_id,
         assignment_id, data, attempts, next_attempt_at, created_at, error)
    SELECT 'robot', %(status)s, NULL, rb.id, n.kind, n.subject, n.occasion, n.audience_id,
           n.task_id, n.assignment_id, n.data, 0, %(next_attempt_at)s, %(now)s, ''
    FROM notice n
    JOIN {Robot._meta.db_table} rb ON rb.unit_id = n.audience_id AND rb.is_active AND rb.kinds ? n.kind::text
    WHERE n.only_user IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM made), (SELECT count(*) FROM personal), (SELECT count(*) FROM robots)
"""  # noqa: S608  (table names from the models; values are parameters)
    values = {
        **params,
        "now": now,
        "status": Delivery.Status.HELD if held_until else Delivery.Status.PENDING,
        "next_attempt_at": held_until or now,
        "channels": push_channels(),
        "defaults": default_pairs(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        notifications, personal, robots = cursor.fetchone()
    made = Made(notifications=notifications, personal=personal, robots=robots)
    if made.pushes and not held_until:
        transaction.on_commit(enqueue_sending, robust=True)
    return made


def enqueue_sending() -> None:
    """Send the new pushes now rather than at the next beat run (which would send them anyway)."""
    from notifications.jobs import send_deliveries

    send_deliveries.delay()
