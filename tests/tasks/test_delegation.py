"""Delegation 区 → 街道 → 社区: children, deadlines, rollup, and reporting upward once children are approved."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks import services
from tasks.models import Assignment, AssignmentEvent
from tests.conftest import login
from tests.tasks.helpers import assignment_of, delegate_to_communities, published_task, review, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(world, people):
    return published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )


@pytest.fixture
def s1(task, world):
    return assignment_of(task, world["S1"])


def _delegate(api, assignment, targets, due_at):
    return api.post(
        f"/api/v1/assignments/{assignment.pk}/delegate/",
        {"targets": targets, "due_at": due_at.isoformat()},
        format="json",
    )


def test_two_levels_deep_from_district_to_community_and_back_up(api, world, people, task, s1):
    """The district dispatches to streets; S1 delegates to its communities; reports flow back up."""
    child_due = task.due_at - timedelta(days=2)
    login(api, people["street_officer"])
    response = _delegate(api, s1, [{"unit": world["S1"].pk, "level": "community"}], child_due)
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 2
    parent = response.json()["assignment"]
    assert parent["status"] == "accepted"  # delegating signs for the assignment
    assert parent["rollup"]["total"] == 2 and parent["rollup"]["pending"] == 2
    children = Assignment.objects.filter(parent_id=s1.pk)
    assert {c.unit_id for c in children} == {world["C1"].pk, world["C2"].pk}
    assert {c.due_at for c in children} == {child_due}
    event = AssignmentEvent.objects.get(assignment=s1, verb="delegate")
    assert (event.from_status, event.to_status, event.data["created"]) == ("pending", "accepted", 2)

    # The street cannot report upward while its communities are still working.
    early = api.post(f"/api/v1/assignments/{s1.pk}/submissions/", {"summary": "已完成"}, format="json")
    assert early.status_code == 409
    assert "2" in early.json()["message"]

    # Communities report; the street reviews them.
    c1, c2 = assignment_of(task, world["C1"]), assignment_of(task, world["C2"])
    submit(c1, people["community_worker"], participants=100, volunteers=10)
    submit(c2, people["street_officer"], participants=30, volunteers=5)
    review(c1, people["street_officer"], rating=4)
    review(c2, people["district_officer"])  # any officer above may review; not the one who submitted

    # Now the street reports upward with a summary; its numbers are its children's sums.
    login(api, people["street_officer"])
    up = api.post(
        f"/api/v1/assignments/{s1.pk}/submissions/", {"summary": "两个社区均已完成。"}, format="json"
    )
    assert up.status_code == 201, up.json()
    assert (up.json()["participants"], up.json()["volunteers"]) == (130, 15)

    # The district sees the street's report and, below it, each community's report.
    login(api, people["district_officer"])
    detail = api.get(f"/api/v1/assignments/{s1.pk}/").json()
    assert detail["status"] == "submitted"
    assert detail["rollup"]["approved"] == 2 and detail["rollup"]["completion_rate"] == 1.0
    assert {c["unit"]["code"]: c["current_submission"]["participants"] for c in detail["children"]} == {
        world["C1"].code: 100,
        world["C2"].code: 30,
    }
    approved = api.post(f"/api/v1/assignments/{s1.pk}/review/", {"decision": "approve"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"


def test_a_delegation_deadline_after_the_parents_is_refused(api, world, people, task, s1):
    login(api, people["street_officer"])
    response = _delegate(api, s1, [{"unit": world["C1"].pk}], s1.due_at + timedelta(minutes=1))
    assert response.status_code == 400
    assert "due_at" in response.json()["errors"]
    response = _delegate(api, s1, [{"unit": world["C1"].pk}], timezone.now() - timedelta(hours=1))
    assert response.status_code == 400
    assert not Assignment.objects.filter(parent_id=s1.pk).exists()
    assert Assignment.objects.get(pk=s1.pk).status == "pending"


def test_delegation_targets_must_be_inside_the_holders_subtree(api, world, people, task, s1):
    login(api, people["street_officer"])
    response = _delegate(api, s1, [{"unit": world["C1"].pk}, {"unit": world["C3"].pk}], s1.due_at)
    assert response.status_code == 400
    assert f"#{world['C3'].pk}" in response.json()["message"]
    response = _delegate(api, s1, [{"unit": world["S1"].pk}], s1.due_at)  # itself
    assert response.status_code == 400
    assert not Assignment.objects.filter(parent_id=s1.pk).exists()


@pytest.mark.parametrize(
    ("role", "expected"), [("community_worker", 404), ("street_viewer", 403), ("street_admin", 200)]
)
def test_who_may_delegate(api, world, people, task, s1, role, expected):
    login(api, people[role])
    response = _delegate(api, s1, [{"unit": world["C1"].pk}], s1.due_at)
    assert response.status_code == expected, response.json()
    assert Assignment.objects.filter(parent_id=s1.pk).exists() == (expected == 200)


def test_delegating_again_adds_only_new_units(api, world, people, task, s1):
    login(api, people["street_officer"])
    assert _delegate(api, s1, [{"unit": world["C1"].pk}], s1.due_at).json()["created"] == 1
    again = _delegate(api, s1, [{"unit": world["S1"].pk, "level": "community"}], s1.due_at)
    assert again.json()["created"] == 1
    nothing = _delegate(api, s1, [{"unit": world["C1"].pk}], s1.due_at)
    assert nothing.status_code == 200 and nothing.json()["created"] == 0
    assert Assignment.objects.filter(parent_id=s1.pk).count() == 2
    assert AssignmentEvent.objects.filter(assignment=s1, verb="delegate").count() == 2


def test_a_unit_that_already_holds_the_task_is_skipped(world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk}, {"unit": world["C1"].pk}]
    )
    s1 = assignment_of(task, world["S1"])
    result = delegate_to_communities(s1, people["street_officer"])
    assert result.created == 1
    assert assignment_of(task, world["C1"]).parent_id is None  # still the district's direct assignment
    assert assignment_of(task, world["C2"]).parent_id == s1.pk


def test_a_returned_child_blocks_the_parent_until_approved(api, world, people, task, s1):
    services.assignment_delegate(
        actor=people["street_officer"], assignment=s1, targets=[{"unit": world["C1"].pk}], due_at=s1.due_at
    )
    c1 = assignment_of(task, world["C1"])
    submit(c1, people["community_worker"])
    review(c1, people["street_officer"], decision="return", comment="缺少活动时间")
    login(api, people["street_officer"])
    assert (
        api.post(f"/api/v1/assignments/{s1.pk}/submissions/", {"summary": "完成"}, format="json").status_code
        == 409
    )
    submit(c1, people["community_worker"])
    review(c1, people["street_officer"])
    assert (
        api.post(f"/api/v1/assignments/{s1.pk}/submissions/", {"summary": "完成"}, format="json").status_code
        == 201
    )


def test_children_of_a_cancelled_task_end_too_and_no_more_delegation(api, world, people, task, s1):
    delegate_to_communities(s1, people["street_officer"])
    services.task_cancel(actor=people["district_officer"], task=task)
    assert set(Assignment.objects.filter(task=task).values_list("status", flat=True)) == {"cancelled"}
    login(api, people["street_officer"])
    response = _delegate(api, assignment_of(task, world["S2"]), [{"unit": world["C3"].pk}], s1.due_at)
    assert response.status_code == 404  # S2 is outside the street officer's subtree
    login(api, people["district_officer"])
    response = _delegate(api, assignment_of(task, world["S2"]), [{"unit": world["C3"].pk}], s1.due_at)
    assert response.status_code == 409


def test_the_child_sees_the_parent_task_but_not_the_parents_siblings(api, world, people, task, s1):
    services.assignment_delegate(
        actor=people["street_officer"], assignment=s1, targets=[{"unit": world["C1"].pk}], due_at=s1.due_at
    )
    login(api, people["community_worker"])
    rows = api.get("/api/v1/assignments/").json()["results"]
    assert [(r["unit"]["code"], r["parent"]) for r in rows] == [(world["C1"].code, s1.pk)]
    assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    assert api.get(f"/api/v1/assignments/{s1.pk}/").status_code == 404


def test_after_a_move_the_old_street_no_longer_reads_the_communitys_reports(api, world, people, task, s1):
    login(api, people["street_officer"])
    due = task.due_at - timedelta(days=1)
    assert _delegate(api, s1, [{"unit": world["S1"].pk, "level": "community"}], due).status_code == 200
    c2 = assignment_of(task, world["C2"])
    submit(c2, people["street_officer"], summary="杜康社区：宣讲一场，居民 30 人")
    before = api.get(f"/api/v1/assignments/{s1.pk}/").json()
    assert "杜康社区：宣讲一场" in str(before["children"])

    from orgs import services as org_services

    org_services.unit_move(actor=people["district_admin"], unit=world["C2"], new_parent=world["S2"])

    after = api.get(f"/api/v1/assignments/{s1.pk}/")
    assert after.status_code == 200
    assert "杜康社区：宣讲一场" not in str(after.json()["children"])
    assert [child["unit"]["code"] for child in after.json()["children"]] == [world["C1"].code]
    assert api.get(f"/api/v1/assignments/{c2.pk}/").status_code == 404
