"""Scoring scenarios run the real services at chosen times (time-machine moves the clock the services
read), then let the domain events be dispatched as the worker would."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from common.events import dispatch_pending
from orgs.models import OrgUnit, Role
from tasks.models import Assignment, PracticeTask
from tests.factories import make_member
from tests.tasks import helpers as task_helpers

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """`2026-03-20 18:00` in Asia/Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@contextmanager
def at(text: str) -> Iterator[None]:
    with time_machine.travel(local(text), tick=False):
        yield


def deliver() -> int:
    """Dispatch every pending domain event (what the after-commit job does)."""
    total = 0
    while handled := dispatch_pending():
        total += handled
    return total


def publish(
    officer, issuer: OrgUnit, units: list[OrgUnit], *, when: str, due: str, points: int = 10, **fields
):
    with at(when):
        task = task_helpers.published_task(
            officer, issuer, [{"unit": unit.pk} for unit in units], due_at=local(due), points=points, **fields
        )
        deliver()
    return task


def report(task: PracticeTask, unit: OrgUnit, *, when: str, worker=None, **fields) -> Assignment:
    assignment = task_helpers.assignment_of(task, unit)
    with at(when):
        task_helpers.submit(assignment, worker or make_member(unit, Role.WORKER), **fields)
        deliver()
    return assignment


def approve(
    task: PracticeTask, unit: OrgUnit, reviewer, *, when: str, rating: int | None = None
) -> Assignment:
    assignment = task_helpers.assignment_of(task, unit)
    with at(when):
        task_helpers.review(assignment, reviewer, rating=rating)
        deliver()
    return assignment


def complete(task, unit, reviewer, *, submitted: str, approved: str, rating: int | None = None, **fields):
    report(task, unit, when=submitted, **fields)
    return approve(task, unit, reviewer, when=approved, rating=rating)
