"""Fixtures shared by the tests of tasks: the workflow's states, made through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.models import Role
from tasks import services
from tasks.models import Assignment
from tests.factories import make_member
from tests.tasks.helpers import (
    assignment_of,
    delegate_to_communities,
    make_task,
    published_task,
    review,
    submit,
)


@pytest.fixture
def states(world, people):
    """Tasks and assignments of district A in every state the workflow has."""
    officer = people["district_officer"]
    every_level = [{"unit": world["A"].pk, "level": "street"}, {"unit": world["A"].pk, "level": "community"}]
    draft = make_task(officer, world["A"], every_level)
    published = published_task(officer, world["A"], every_level)
    closed = published_task(officer, world["A"], every_level)
    cancelled = published_task(officer, world["A"], every_level)
    worker = people["community_worker"]

    def c1_of():
        return assignment_of(published_task(officer, world["A"], every_level), world["C1"])

    pending = c1_of()
    accepted = c1_of()
    services.assignment_accept(actor=worker, assignment=accepted)
    submitted = c1_of()
    submit(submitted, worker)
    returned = c1_of()
    submit(returned, worker)
    review(returned, people["street_officer"], decision="return", comment="照片不清楚")
    approved = c1_of()
    submit(approved, worker)
    review(approved, people["street_officer"], rating=4)
    by_street_officer = c1_of()  # a report the street officer made for the community themselves
    submit(by_street_officer, people["street_officer"])
    overdue = c1_of()
    Assignment.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(hours=2))

    s1_pending = assignment_of(published, world["S1"])
    # A street that delegated to its communities: one approved, one still pending.
    delegating_task = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "street"}])
    s1_delegated = assignment_of(delegating_task, world["S1"])
    delegate_to_communities(s1_delegated, people["street_officer"])
    child_c1 = Assignment.objects.get(task=delegating_task, unit=world["C1"])
    submit(child_c1, worker)
    review(child_c1, people["street_officer"], rating=5)
    child_c2 = Assignment.objects.get(task=delegating_task, unit=world["C2"])
    submit(child_c2, make_member(world["C2"], Role.WORKER))
    # The same, on a task that waits for every delegated unit.
    strict_task = published_task(
        officer,
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}],
        evidence_requirements={"min_photos": 0, "all_delegated_required": True},
    )
    s1_strict = assignment_of(strict_task, world["S1"])
    delegate_to_communities(s1_strict, people["street_officer"])
    strict_child = Assignment.objects.get(task=strict_task, unit=world["C1"])
    submit(strict_child, worker)
    review(strict_child, people["street_officer"])

    services.task_close(actor=officer, task=closed)
    services.task_cancel(actor=officer, task=cancelled)
    closed_c1 = assignment_of(closed, world["C1"])
    cancelled_c1 = assignment_of(cancelled, world["C1"])
    return {
        "tasks": {"draft": draft, "published": published, "closed": closed, "cancelled": cancelled},
        "assignments": {
            "pending": pending,
            "accepted": accepted,
            "submitted": submitted,
            "returned": returned,
            "approved": approved,
            "submitted by the street officer": by_street_officer,
            "overdue": overdue,
            "closed": closed_c1,
            "cancelled": cancelled_c1,
            "street pending": s1_pending,
            "street delegated, one of two approved": s1_delegated,
            "street delegated, waiting for all": s1_strict,
            "delegated child submitted": child_c2,
            "delegated child approved": child_c1,
        },
    }
