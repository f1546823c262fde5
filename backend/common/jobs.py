"""Dispatching the domain events (common.events) after their transactions commit."""

import logging

from celery import shared_task

from common import events

logger = logging.getLogger(__name__)


@shared_task(name="common.dispatch_events", soft_time_limit=240, time_limit=300)
def dispatch_events() -> int:
    """Hand every pending event to its subscribers; enqueued after each commit that emits one, and run
    every minute by beat for any whose job was lost. Idempotent: dispatched events are not seen again."""
    total = 0
    while True:
        seen = events.dispatch_pending()
        total += seen
        if seen < events.BATCH:
            return total
