"""The inbox (scoped by the access rule, filtered, ordered by due time) and live progress per unit."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import ListSerializer

from orgs.scope import Grants
from tasks import inbox, selectors
from tasks.models import Assignment
from tasks.serializers import AssignmentOutputSerializer
from tests.conftest import login
from tests.factories import UserFactory, platform_admin
from tests.tasks.helpers import (
    assignment_of,
    bulk_units,
    category,
    delegate_to_communities,
    published_task,
    review,
    submit,
)

pytestmark = pytest.mark.django_db

EVERY_UNIT_OF_A = ["S1", "S2", "C1", "C2", "C3"]
INBOX = {
    "district_admin": set(EVERY_UNIT_OF_A),
    "district_officer": set(EVERY_UNIT_OF_A),
    "street_admin": {"S1", "C1", "C2"},
    "street_officer": {"S1", "C1", "C2"},
    "street_viewer": {"S1", "C1", "C2"},
    "community_worker": {"C1"},
    "other_admin": set(),
}


@pytest.fixture
def task(world, people):
    return published_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}, {"unit": world["A"].pk, "level": "community"}],
    )


@pytest.mark.parametrize("role", list(INBOX))
def test_the_inbox_follows_the_access_rule(api, world, people, task, role):
    login(api, people[role])
    body = api.get("/api/v1/assignments/").json()
    codes = {row["unit"]["code"] for row in body["results"]}
    assert codes == {world[key].code for key in INBOX[role]}
    assert body["count"] == len(INBOX[role])
    if body["results"]:
        item = body["results"][0]
        assert {"id", "task", "unit", "status", "due_at", "is_overdue", "parent"} <= set(item)
        assert item["task"]["title"] == task.title


def test_someone_without_a_membership_has_an_empty_inbox(api, task):
    login(api, UserFactory())  # an account not yet placed in any unit
    response = api.get("/api/v1/assignments/", {"status": "pending"})
    assert response.status_code == 200
    assert response.json()["count"] == 0 and response.json()["results"] == []


def test_the_inbox_is_ordered_by_due_time_and_filters(api, world, people, task):
    officer = people["district_officer"]
    other = published_task(
        officer,
        world["A"],
        [{"unit": world["C1"].pk}, {"unit": world["C3"].pk}],
        due_at=timezone.now() + timedelta(days=1),
        category=category("theory_lecture"),
    )
    late = assignment_of(task, world["C2"])
    Assignment.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    submit(assignment_of(task, world["C1"]), people["community_worker"])
    login(api, officer)

    def units(**params):
        rows = api.get("/api/v1/assignments/", params).json()["results"]
        return [(row["task"]["id"], row["unit"]["code"]) for row in rows]

    everything = units()
    assert everything[0] == (task.pk, world["C2"].code)  # overdue: due first
    assert set(everything[1:3]) == {(other.pk, world["C1"].code), (other.pk, world["C3"].code)}
    assert len(everything) == 7
    assert units(overdue="true") == [(task.pk, world["C2"].code)]
    assert len(units(overdue="false")) == 6
    assert units(status="submitted") == [(task.pk, world["C1"].code)]
    assert len(units(status=["pending", "submitted"])) == 7
    assert {u for _t, u in units(task=other.pk)} == {world["C1"].code, world["C3"].code}
    assert {t for t, _u in units(unit=world["C1"].pk)} == {task.pk, other.pk}
    assert {t for t, _u in units(category=category("theory_lecture").pk)} == {other.pk}
    assert len(units(due_before=(timezone.now() + timedelta(days=2)).isoformat())) == 3
    assert len(units(due_after=(timezone.now() + timedelta(days=2)).isoformat())) == 4
    assert units(own="true") == []  # the district holds no assignment itself
    login(api, people["street_officer"])
    assert units(own="true") == [(task.pk, world["S1"].code)]


@pytest.mark.parametrize("reader", ["street_officer", "district_officer"])
def test_the_inbox_is_paginated(api, world, people, django_assert_max_num_queries, reader):
    """A street's reader gets the count with the page's rows (one statement fewer); a district's, in
    a statement of its own (their page stops after its rows). Pages, counts and refusals are the
    same either way."""
    bulk_units(world["S1"], 29, "P")
    published_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}])
    login(api, people[reader])
    # memberships, the page (with its count for the street), the count (for the district), the tasks
    with django_assert_max_num_queries(3 if reader == "street_officer" else 4):
        first = api.get("/api/v1/assignments/", {"page_size": 20}).json()
    assert first["count"] == 31 and len(first["results"]) == 20 and first["next"] and not first["previous"]
    second = api.get("/api/v1/assignments/", {"page_size": 20, "page": 2}).json()
    assert second["count"] == 31 and len(second["results"]) == 11 and not second["next"]
    assert api.get("/api/v1/assignments/", {"page_size": 20, "page": "last"}).json() == second
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 31
    assert ids == list(
        Assignment.objects.filter(pk__in=ids).order_by("due_at", "id").values_list("id", flat=True)
    )
    past = api.get("/api/v1/assignments/", {"page_size": 20, "page": 3})
    assert past.status_code == 404 and "第 3 页不存在" in past.json()["message"]
    assert api.get("/api/v1/assignments/", {"page": "abc"}).status_code == 404
    pending = api.get("/api/v1/assignments/", {"page_size": 20, "status": "pending", "page": 2}).json()
    assert pending["count"] == 31 and [row["id"] for row in pending["results"]] == ids[20:]
    none = api.get("/api/v1/assignments/", {"status": "approved"}).json()
    assert none["count"] == 0 and none["results"] == []


def test_the_inbox_shows_each_parents_rollup(api, world, people, task):
    s1 = assignment_of(task, world["S1"])
    # C1 and C2 already hold direct assignments of this task, so use another task.
    other = published_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    parent = assignment_of(other, world["S1"])
    delegate_to_communities(parent, people["street_officer"])
    child = assignment_of(other, world["C1"])
    submit(child, people["community_worker"])
    review(child, people["street_officer"])
    login(api, people["street_officer"])
    rows = {
        row["id"]: row for row in api.get("/api/v1/assignments/", {"unit": world["S1"].pk}).json()["results"]
    }
    assert (rows[parent.pk]["children_total"], rows[parent.pk]["children_approved"]) == (2, 1)
    assert (rows[s1.pk]["children_total"], rows[s1.pk]["children_approved"]) == (0, 0)


def _inbox_queries(api, django_assert_max_num_queries, expected_rows: int) -> int:
    # memberships, count, the page (with its units, delegating assignments, reporters and children's
    # counts), the page's tasks: nothing per row.
    with django_assert_max_num_queries(4) as captured:
        body = api.get("/api/v1/assignments/", {"page_size": 100}).json()
    assert len(body["results"]) == expected_rows
    return len(captured.captured_queries)


def test_the_inbox_runs_a_constant_number_of_queries(api, world, people, django_assert_max_num_queries):
    officer = people["district_officer"]
    first = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    submit(assignment_of(first, world["C1"]), people["community_worker"])
    login(api, officer)
    small = _inbox_queries(api, django_assert_max_num_queries, 3)
    bulk_units(world["S2"], 80, "Q")
    for _ in range(2):
        task = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
        submit(assignment_of(task, world["C2"]), people["street_officer"])
    assert _inbox_queries(api, django_assert_max_num_queries, 100) == small


@pytest.mark.parametrize(
    "role", ["district_officer", "street_officer", "street_viewer", "community_worker", "platform_admin"]
)
def test_the_inbox_writes_its_rows_as_the_declared_serializer_would(rf, people, states, role):
    """The inbox reads its page by hand (tasks.inbox.AssignmentRows) and writes it by hand
    (AssignmentListSerializer). DRF's own walk over the declared AssignmentOutputSerializer, given
    the same assignments read the ORM's way (selectors.assignment_list), writes the same JSON: every
    key, in the same order, with the same value, for every state of the workflow."""
    user = platform_admin() if role == "platform_admin" else people[role]
    request = rf.get("/api/v1/assignments/")
    request.user = user
    context = {"request": request, "grants": Grants.of(user)}
    read_by_the_orm = list(selectors.assignment_list(user=user, grants=context["grants"]))
    generic = ListSerializer(read_by_the_orm, child=AssignmentOutputSerializer(), context=context).data
    rows = inbox.AssignmentRows(
        selectors.assignment_scope(user=user, grants=context["grants"]), context["grants"]
    )
    by_hand = AssignmentOutputSerializer(rows[0:1000], many=True, context=context).data
    assert len(by_hand) == len(generic)
    for mine, declared in zip(by_hand, generic, strict=True):  # as the client reads them: JSON text
        assert JSONRenderer().render(mine).decode() == JSONRenderer().render(declared).decode()
    # The comparison covered what differs between rows: delegated ones, reports, actions.
    assert len(by_hand) >= 10
    assert any(row["parent"] for row in by_hand)
    if role != "community_worker":  # who sees the streets sees their children's counts
        assert any(row["children_total"] for row in by_hand)
    if role != "street_viewer":
        assert any(row["actions"] for row in by_hand)
    assert rows.count() == len(by_hand)


def test_assignment_detail_runs_a_constant_number_of_queries(
    api, world, people, django_assert_max_num_queries
):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["S2"].pk}])
    parent = assignment_of(task, world["S2"])
    bulk_units(world["S2"], 40, "R")
    delegate_to_communities(parent, people["district_officer"])
    login(api, people["district_officer"])
    with django_assert_max_num_queries(3):  # the assignment, its rollup, its children with their reports
        body = api.get(f"/api/v1/assignments/{parent.pk}/").json()
    assert len(body["children"]) == 41


# Progress -----------------------------------------------------------------------------------------


def test_progress_counts_per_unit_with_totals(api, world, people, task):
    c1, c2 = assignment_of(task, world["C1"]), assignment_of(task, world["C2"])
    submit(c1, people["community_worker"])
    review(c1, people["street_officer"])
    submit(c2, people["street_officer"])
    Assignment.objects.filter(pk=assignment_of(task, world["C3"]).pk).update(
        due_at=timezone.now() - timedelta(days=1)
    )
    login(api, people["district_officer"])

    body = api.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": 2}).json()
    rows = {row["code"]: row for row in body["units"]}
    assert [row["code"] for row in body["units"]] == [
        world[k].code for k in ("A", "S2", "C3", "S1", "C1", "C2")
    ]
    a = rows[world["A"].code]
    assert (a["total"], a["pending"], a["submitted"], a["approved"], a["overdue"]) == (5, 3, 1, 1, 1)
    assert a["completion_rate"] == 0.2
    assert body["totals"]["total"] == 5 and body["totals"]["completion_rate"] == 0.2
    s1 = rows[world["S1"].code]
    assert (s1["total"], s1["pending"], s1["submitted"], s1["approved"], s1["own_status"]) == (
        3,
        1,
        1,
        1,
        "pending",
    )
    assert (
        rows[world["C1"].code]["own_status"] == "approved"
        and rows[world["C1"].code]["completion_rate"] == 1.0
    )
    assert rows[world["S2"].code]["overdue"] == 1
    assert a["own_status"] is None

    shallow = api.get(f"/api/v1/tasks/{task.pk}/progress/").json()  # depth 1 by default
    assert [row["code"] for row in shallow["units"]] == [world[k].code for k in ("A", "S2", "S1")]
    only_root = api.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": 0}).json()
    assert len(only_root["units"]) == 1
    assert api.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": 9}).status_code == 400
    assert api.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": "x"}).status_code == 400


def test_progress_for_units_below_the_issuer(api, world, people, task):
    login(api, people["street_officer"])
    own_part = api.get(f"/api/v1/tasks/{task.pk}/progress/")
    assert own_part.status_code == 200  # their street's part, without having to ask for it
    body = own_part.json()
    assert body["root"]["code"] == world["S1"].code
    assert body["root"]["parent"] == {
        "id": world["A"].pk,
        "name": world["A"].name,
        "code": world["A"].code,
        "level": "district",
    }
    assert [row["code"] for row in body["units"]] == [world[k].code for k in ("S1", "C1", "C2")]
    assert body["units"][0]["parent"] == world["A"].pk
    login(api, people["community_worker"])
    assert api.get(f"/api/v1/tasks/{task.pk}/progress/").json()["root"]["code"] == world["C1"].code
    mine = api.get(f"/api/v1/tasks/{task.pk}/progress/", {"unit": world["C1"].pk})
    assert mine.status_code == 200
    assert [row["code"] for row in mine.json()["units"]] == [world["C1"].code]
    assert api.get(f"/api/v1/tasks/{task.pk}/progress/", {"unit": world["C2"].pk}).status_code == 404
    login(api, people["street_viewer"])
    street = api.get(f"/api/v1/tasks/{task.pk}/progress/", {"unit": world["S1"].pk, "depth": 1}).json()
    assert street["totals"]["total"] == 3
    login(api, people["other_admin"])
    assert api.get(f"/api/v1/tasks/{task.pk}/progress/").status_code == 404


def _progress_queries(api, django_assert_max_num_queries, task, expected_units: int) -> dict:
    with django_assert_max_num_queries(3):  # the task, the access check, the aggregate
        body = api.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": 2}).json()
    assert len(body["units"]) == expected_units
    return body


def test_progress_runs_a_constant_number_of_queries(api, world, people, django_assert_max_num_queries):
    officer = people["district_officer"]
    small = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    login(api, officer)
    _progress_queries(api, django_assert_max_num_queries, small, 6)
    bulk_units(world["A"], 20, "W", children_each=10)
    big = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    body = _progress_queries(api, django_assert_max_num_queries, big, 6 + 20 + 200)
    assert body["totals"]["total"] == 203 and body["totals"]["pending"] == 203
