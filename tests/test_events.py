"""Domain events after commit (common.events): every state change is announced once its transaction
commits, set-based changes once in all, and a consumer that fails is retried without holding up the
others."""

import pytest
from django.db import transaction

from common import events
from common.jobs import dispatch_events
from common.models import DomainEvent
from tasks import services
from tasks.models import Assignment
from tests.tasks.helpers import (
    assignment_of,
    delegate_to_communities,
    make_task,
    published_task,
    review,
    submit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Everything dispatched, by name, through a subscriber of every event."""
    received: list[DomainEvent] = []

    def listen(event: DomainEvent) -> None:
        received.append(event)

    events.subscribe("*", listen)
    yield received
    events.unsubscribe("*", listen)


def _names(rows) -> list[str]:
    return [row.name for row in rows]


def test_the_workflow_announces_each_change_once(world, people, heard):
    officer, worker = people["district_officer"], people["community_worker"]
    task = make_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    services.task_publish(actor=officer, task=task)
    c1 = assignment_of(task, world["C1"])
    services.assignment_accept(actor=worker, assignment=c1)
    submit(c1, worker)
    review(c1, people["street_officer"], decision="return", comment="请补充照片")
    submit(c1, worker)
    review(c1, people["street_officer"], rating=4)
    c2 = assignment_of(task, world["C2"])
    services.assignment_urge(actor=people["street_officer"], assignment=c2, comment="明天截止")
    services.task_close(actor=officer, task=task, reason="到期")

    dispatch_events()
    assert _names(heard) == [
        "task.created",
        "task.published",
        "assignment.accepted",
        "assignment.submitted",
        "assignment.returned",
        "assignment.submitted",
        "assignment.approved",
        "assignment.urged",
        "task.closed",
    ]
    published = heard[1]
    assert published.data["created"] == 3 and published.task_id == task.pk
    approved = heard[6]
    settled = Assignment.objects.get(pk=c1.pk).settled_at
    assert approved.assignment_id == c1.pk and approved.unit_id == world["C1"].pk
    assert approved.data["rating"] == 4 and settled is not None
    closed = heard[-1]
    assert closed.data["ended_assignments"] == 2  # C2 and C3, once for the whole task
    assert set(
        Assignment.objects.filter(task=task, status="closed").values_list("settled_at", flat=True)
    ) != {None}
    assert not DomainEvent.objects.filter(dispatched_at__isnull=True).exists()
    dispatch_events()
    assert len(heard) == 9  # dispatched events are not handed out again


def test_new_assignments_are_found_from_the_announcement(world, people, heard):
    officer = people["district_officer"]
    task = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "street"}])
    s1 = assignment_of(task, world["S1"])
    delegate_to_communities(s1, people["street_officer"])
    dispatch_events()
    delegated = next(event for event in heard if event.name == "assignment.delegated")
    from django.utils.dateparse import parse_datetime

    new = Assignment.objects.filter(
        task_id=delegated.task_id,
        parent_id=delegated.assignment_id,
        created_at=parse_datetime(delegated.data["stamp"]),
    )
    assert {row.unit_id for row in new} == {world["C1"].pk, world["C2"].pk}


def test_a_rolled_back_change_announces_nothing(world, people):
    officer = people["district_officer"]
    before = DomainEvent.objects.count()

    def failing_request():
        with transaction.atomic():
            make_task(officer, world["A"], [{"unit": world["C1"].pk}])
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        failing_request()
    assert DomainEvent.objects.count() == before


def test_dispatch_is_enqueued_only_after_commit(
    world, people, dispatch_enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        make_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    assert dispatch_enqueued == []
    for callback in callbacks:
        callback()
    assert dispatch_enqueued == [True]


def test_a_failing_consumer_is_retried_and_does_not_hold_up_the_others(world, people, heard, caplog):
    calls = {"n": 0}

    def flaky(event: DomainEvent) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMS gateway timed out")

    events.subscribe("task.created", flaky)
    try:
        make_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
        make_task(people["district_officer"], world["A"], [{"unit": world["C2"].pk}])
        dispatch_events()
        first, second = DomainEvent.objects.filter(name="task.created").order_by("id")
        assert first.dispatched_at is None and first.attempts == 1 and "SMS gateway" in first.error
        assert second.dispatched_at is not None
        dispatch_events()  # the next run (beat, or the next commit's job) retries it
        first.refresh_from_db()
        assert first.dispatched_at is not None and first.error == ""
    finally:
        events.unsubscribe("task.created", flaky)


def test_an_event_that_keeps_failing_is_given_up_and_logged(world, people, caplog):
    def broken(event: DomainEvent) -> None:
        raise ValueError("bad template")

    events.subscribe("task.created", broken)
    try:
        make_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
        for _ in range(events.MAX_ATTEMPTS):
            dispatch_events()
        event = DomainEvent.objects.get(name="task.created")
        assert event.attempts == events.MAX_ATTEMPTS and event.dispatched_at is not None
        assert "given up" in caplog.text
    finally:
        events.unsubscribe("task.created", broken)


def test_unknown_event_names_are_a_programming_error():
    with pytest.raises(ValueError, match="Unknown domain event"):
        events.emit("assignment.teleported")
