"""Arrange notifications through the real services: publish, scan, dispatch, as users and beat do."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from common import events
from notifications.models import Notification
from notifications.reminders import reminders_scan
from tests.tasks.helpers import published_task

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """A moment in Asia/Shanghai: local("2026-11-29 18:30")."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def at(moment: datetime):
    """The clock stands still at `moment` (services, scans and deliveries read timezone.now())."""
    return time_machine.travel(moment, tick=False)


def dispatch() -> None:
    """Hand the pending domain events to their handlers, as the dispatch job does after commit."""
    while events.dispatch_pending():
        pass


def scan_at(moment: datetime):
    with at(moment):
        return reminders_scan()


def to_communities(actor, district, **fields):
    """A task from the district to every community below it."""
    return published_task(actor, district, [{"unit": district.pk, "level": "community"}], **fields)


def kinds_of(user) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(recipient=user)
        .order_by("created_at", "id")
        .values_list("kind", "occasion")
    )


def in_minutes(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)
