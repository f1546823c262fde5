"""Two officers acting on one assignment at the same moment: exactly one wins, the other gets 409."""

import threading

import pytest
from django.db import close_old_connections, connection

from common.exceptions import Conflict
from orgs.models import Role
from tasks import services
from tasks.models import Assignment, AssignmentEvent, Submission
from tests.factories import make_member
from tests.tasks.helpers import assignment_of, published_task, submit

ROUNDS = 5


def _race(actions) -> list:
    """Run the callables at once (released together by a barrier); each returns its outcome."""
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = action()
        except Exception as exc:  # the outcome under test, not swallowed: asserted below
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    return outcomes


def _fresh(assignment_id: int) -> Assignment:
    return Assignment.objects.select_related("unit__parent", "task", "current_submission").get(
        pk=assignment_id
    )


@pytest.mark.django_db(transaction=True)
def test_two_officers_reviewing_at_once_exactly_one_wins(world, people):
    second = make_member(world["S1"], Role.OFFICER, "second_street_officer")
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}]
    )
    target = assignment_of(task, world["C1"])
    for round_number in range(ROUNDS):
        submit(target, people["community_worker"])
        # Both read the submitted assignment before either writes, as two browsers would.
        seen_by_first, seen_by_second = _fresh(target.pk), _fresh(target.pk)
        outcomes = _race(
            [
                lambda a=seen_by_first, n=round_number: services.assignment_review(
                    actor=people["street_officer"], assignment=a, decision="return", comment=f"第{n}轮退回"
                ),
                lambda a=seen_by_second, n=round_number: services.assignment_review(
                    actor=second, assignment=a, decision="return", comment=f"第{n}轮也退回"
                ),
            ]
        )
        conflicts = [o for o in outcomes if isinstance(o, Conflict)]
        wins = [o for o in outcomes if isinstance(o, Assignment)]
        assert (len(wins), len(conflicts)) == (1, 1), outcomes
        assert conflicts[0].extra["status"] == "returned"
        assert "已退回" in conflicts[0].message  # "returned", in the default language
        assert _fresh(target.pk).status == "returned"
        assert AssignmentEvent.objects.filter(assignment=target, verb="return").count() == round_number + 1
    assert Submission.objects.filter(assignment=target).exclude(decision="").count() == ROUNDS


@pytest.mark.django_db(transaction=True)
def test_approve_and_return_at_once_leave_one_decision(world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    target = assignment_of(task, world["C1"])
    submit(target, people["community_worker"])
    first, second = _fresh(target.pk), _fresh(target.pk)
    outcomes = _race(
        [
            lambda: services.assignment_review(
                actor=people["street_officer"], assignment=first, decision="approve"
            ),
            lambda: services.assignment_review(
                actor=people["district_officer"], assignment=second, decision="return", comment="请补充"
            ),
        ]
    )
    assert sum(isinstance(o, Assignment) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    final = _fresh(target.pk)
    events = list(AssignmentEvent.objects.filter(assignment=target).exclude(verb="submit"))
    assert len(events) == 1 and events[0].to_status == final.status
    assert final.current_submission.decision == events[0].verb


@pytest.mark.django_db(transaction=True)
def test_cancelling_while_a_unit_submits_leaves_a_consistent_trail(world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    target = assignment_of(task, world["C1"])
    values = {"summary": "完成", "participants": 10, "location_text": "社区", "held_at": task.created_at}
    seen = _fresh(target.pk)
    outcomes = _race(
        [
            lambda: services.assignment_submit(actor=people["community_worker"], assignment=seen, **values),
            lambda: services.task_cancel(actor=people["district_officer"], task=task),
        ]
    )
    assert not any(isinstance(o, Exception) and not isinstance(o, Conflict) for o in outcomes), outcomes
    final = _fresh(target.pk)
    assert final.status == "cancelled"
    trail = list(
        AssignmentEvent.objects.filter(assignment=target)
        .order_by("id")
        .values_list("from_status", "to_status")
    )
    # Either the report landed first and was then cancelled, or the cancel won and the report got a 409.
    assert trail in ([("pending", "submitted"), ("submitted", "cancelled")], [("pending", "cancelled")])
