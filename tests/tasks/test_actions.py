"""`actions` tell the truth: for every role and every state of a task, an assignment and a report,
an action is listed exactly when the request for it succeeds.

Each check runs in a savepoint that is rolled back, so every action is tried on the same state: the
object is read (its `actions`), the request is made with a valid body, and the two must agree.
"""

import pytest
from django.db import transaction

from tasks.models import Assignment
from tests.conftest import login
from tests.factories import platform_admin
from tests.tasks.helpers import assignment_of, published_task, report, submit

pytestmark = pytest.mark.django_db

ROLES = [
    "district_admin",
    "district_officer",
    "street_admin",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
    "platform_admin",
]


class Rollback(Exception):
    pass


def _attempt(fn):
    """Run `fn` in a savepoint that is always rolled back; return what it returned."""
    result = {}
    try:
        with transaction.atomic():
            result["value"] = fn()
            raise Rollback
    except Rollback:
        pass
    return result["value"]


def _task_requests(api, task):
    return {
        "edit": lambda: api.patch(f"/api/v1/tasks/{task.pk}/", {"title": "新标题"}, format="json"),
        "publish": lambda: api.post(f"/api/v1/tasks/{task.pk}/publish/", {}, format="json"),
        "cancel": lambda: api.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "测试"}, format="json"),
        "close": lambda: api.post(f"/api/v1/tasks/{task.pk}/close/", {}, format="json"),
    }


def _assignment_requests(api, assignment):
    base = f"/api/v1/assignments/{assignment.pk}"
    below = assignment.unit
    return {
        "accept": lambda: api.post(f"{base}/accept/", {}, format="json"),
        "submit": lambda: api.post(f"{base}/submissions/", report(), format="json"),
        "delegate": lambda: api.post(
            f"{base}/delegate/",
            {"targets": [{"unit": below.pk, "level": "community"}], "due_at": assignment.due_at.isoformat()},
            format="json",
        ),
        "review": lambda: api.post(f"{base}/review/", {"decision": "approve", "rating": 5}, format="json"),
        "urge": lambda: api.post(f"{base}/urge/", {"comment": "请尽快完成"}, format="json"),
    }


def _who(people, role):
    return platform_admin() if role == "platform_admin" else people[role]


@pytest.mark.parametrize("role", ROLES)
def test_task_actions_are_listed_exactly_when_they_succeed(api, people, states, role):
    login(api, _who(people, role))
    checked = 0
    for state, task in states["tasks"].items():
        detail = api.get(f"/api/v1/tasks/{task.pk}/")
        for action, request in _task_requests(api, task).items():
            response = _attempt(request)
            if detail.status_code == 404:
                assert response.status_code == 404, (state, action)
                continue
            listed = action in detail.json()["actions"]
            succeeded = 200 <= response.status_code < 300
            assert listed == succeeded, (state, action, response.status_code, response.json())
            checked += 1
    assert checked or role == "other_admin"


@pytest.mark.parametrize("role", ROLES)
def test_assignment_and_report_actions_are_listed_exactly_when_they_succeed(api, people, states, role):
    login(api, _who(people, role))
    listed_anywhere: set[str] = set()
    for state, assignment in states["assignments"].items():
        detail = api.get(f"/api/v1/assignments/{assignment.pk}/")
        requests = _assignment_requests(api, assignment)
        for action, request in requests.items():
            response = _attempt(request)
            if detail.status_code == 404:
                assert response.status_code == 404, (state, action, response.status_code)
                continue
            body = detail.json()
            listed = action in body["actions"]
            succeeded = 200 <= response.status_code < 300
            assert listed == succeeded, (state, action, response.status_code, response.json())
            if action == "review":
                # The report under review says the same.
                report_listed = (
                    body["current_submission"] is not None
                    and "review" in (body["current_submission"]["actions"])
                )
                assert report_listed == succeeded, (state, "report review")
            if listed:
                listed_anywhere.add(action)
            # A refusal of something not listed says why, in Chinese.
            if not listed and response.status_code in (403, 409):
                assert response.json()["message"]
    if role == "street_officer":
        assert listed_anywhere == {"accept", "submit", "delegate", "review", "urge"}
    if role == "community_worker":
        assert listed_anywhere == {"accept", "submit"}
    if role == "street_viewer":
        assert listed_anywhere == set()


def test_lists_carry_the_same_actions_as_the_detail(api, people, states):
    for role in ("street_officer", "district_officer", "community_worker"):
        login(api, people[role])
        rows = api.get("/api/v1/assignments/", {"page_size": 500}).json()["results"]
        assert rows
        for row in rows:
            assert row["actions"] == api.get(f"/api/v1/assignments/{row['id']}/").json()["actions"], role
        tasks = api.get("/api/v1/tasks/", {"page_size": 500}).json()["results"]
        for task in tasks:
            assert task["actions"] == api.get(f"/api/v1/tasks/{task['id']}/").json()["actions"], role


def test_the_street_report_names_the_communities_still_open(api, people, world, states):
    street = states["assignments"]["street delegated, one of two approved"]
    login(api, people["street_officer"])
    response = api.post(
        f"/api/v1/assignments/{street.pk}/submissions/", report(participants=None), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [unit["name"] for unit in body["missing_units"]] == [world["C2"].name]
    assert body["missing_units"][0]["status"] == "submitted"
    # The numbers default to the approved community's report; the open one stays open on its own.
    assert body["participants"] == 120
    assert Assignment.objects.get(task=street.task, unit=world["C2"]).status == "submitted"


def test_a_task_that_waits_for_every_community_refuses_the_street_report(api, people, states):
    strict = states["assignments"]["street delegated, waiting for all"]
    login(api, people["street_officer"])
    response = api.post(f"/api/v1/assignments/{strict.pk}/submissions/", report(), format="json")
    assert response.status_code == 409
    assert response.json()["errors"] == {"status": "accepted", "children_total": 2, "children_approved": 1}
    assert "全部通过" in response.json()["message"]


def test_nobody_reviews_their_own_report_not_even_a_superuser(api, world, people):
    officer = people["district_officer"]
    admin = platform_admin()
    task = published_task(officer, world["A"], [{"unit": world["C1"].pk}])
    c1 = assignment_of(task, world["C1"])
    submit(c1, admin)
    login(api, admin)
    detail = api.get(f"/api/v1/assignments/{c1.pk}/").json()
    assert "review" not in detail["actions"]
    response = api.post(f"/api/v1/assignments/{c1.pk}/review/", {"decision": "approve"}, format="json")
    assert response.status_code == 403
    assert "本人" in response.json()["message"]
