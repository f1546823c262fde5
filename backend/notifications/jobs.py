"""Celery jobs of the notifications queue (CELERY_TASK_ROUTES sends `notifications.*` there).

Each fetches nothing but what the database says now and is safe to run twice, at once too:
the notifications and pushes they make are unique in the database, and deliveries are claimed with
SKIP LOCKED. A database that is briefly unreachable is retried with exponential back-off and
jitter (at most 5 minutes, far below the broker's visibility timeout); anything else fails loudly
and the next beat run tries again.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from notifications import deliveries, digest, reminders

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="notifications.scan", soft_time_limit=240, time_limit=300, **RETRY)
def scan() -> dict[str, int]:
    """Every reminder, escalation and review reminder due now (beat, every few minutes)."""
    made = reminders.reminders_scan()
    logger.info("Reminder scan: %s notifications, %s pushes", made.notifications, made.pushes)
    return {"notifications": made.notifications, "pushes": made.pushes}


@shared_task(name="notifications.send_deliveries", soft_time_limit=240, time_limit=300, **RETRY)
def send_deliveries() -> dict[str, int]:
    """Push what is due (after new notifications, and every minute from beat for retries and the
    end of quiet hours)."""
    result = deliveries.deliveries_send()
    if any(result.values()):
        logger.info("Deliveries: %s", result)
    return result


@shared_task(name="notifications.send_digests", soft_time_limit=240, time_limit=300, **RETRY)
def send_digests() -> dict[str, int]:
    """The officers' daily digest (beat, NOTIFICATIONS_DIGEST_TIME)."""
    made = digest.digests_send()
    logger.info("Daily digest: %s officers", made.notifications)
    return {"notifications": made.notifications, "pushes": made.pushes}
