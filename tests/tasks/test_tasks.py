"""Tasks: create, validate, publish (idempotent fan-out), edit after publishing, cancel and close."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import Assignment, AssignmentEvent, PracticeTask, TaskCategory, TaskEvent
from tests.conftest import login
from tests.tasks.helpers import NO_PHOTOS, assignment_of, category, make_task, published_task, submit

pytestmark = pytest.mark.django_db


def _body(world, **overrides):
    body = {
        "issuer_unit": world["A"].pk,
        "title": "理论宣讲进社区",
        "description": "各社区组织一次党的创新理论宣讲。",
        "category": category("theory_lecture").pk,
        "due_at": (timezone.now() + timedelta(days=10)).isoformat(),
        "points": 20,
        "targets": [{"unit": world["A"].pk, "level": "community"}],
    }
    body.update(overrides)
    return body


def test_seeded_categories_are_listed(api, people):
    login(api, people["community_worker"])
    names = [row["name"] for row in api.get("/api/v1/task-categories/").json()]
    assert names == ["理论宣讲", "志愿服务", "文化惠民", "移风易俗", "文明创建", "其他"]


def test_only_a_platform_administrator_extends_categories(api, people):
    from tests.factories import platform_admin

    login(api, people["district_admin"])
    assert (
        api.post(
            "/api/v1/task-categories/", {"code": "safety", "name": "安全宣传"}, format="json"
        ).status_code
        == 403
    )
    login(api, platform_admin())
    created = api.post("/api/v1/task-categories/", {"code": "safety", "name": "安全宣传"}, format="json")
    assert created.status_code == 201, created.json()
    retired = api.patch(
        f"/api/v1/task-categories/{created.json()['id']}/", {"is_active": False}, format="json"
    )
    assert retired.json()["is_active"] is False
    login(api, people["district_admin"])
    assert "安全宣传" not in [row["name"] for row in api.get("/api/v1/task-categories/").json()]


def test_officer_creates_a_draft_with_default_requirements(api, world, people):
    login(api, people["district_officer"])
    response = api.post("/api/v1/tasks/", _body(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["issuer_unit"]["code"] == world["A"].code
    assert body["author"]["username"] == "district_officer"
    assert body["category"]["name"] == "理论宣讲"
    assert body["evidence_requirements"] == {
        "min_photos": 1,
        "max_photos": 9,
        "participants_required": True,
        "volunteers_required": False,
        "volunteer_hours_required": False,
        "all_delegated_required": False,
        "held_at_required": True,
        "location_required": True,
    }
    assert not Assignment.objects.exists()  # a draft reaches nobody
    assert TaskEvent.objects.filter(task_id=body["id"], verb="created").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_at": "2020-01-01T00:00:00+08:00"}, "due_at"),
        ({"starts_at": "2099-01-02T00:00:00+08:00", "due_at": "2099-01-01T00:00:00+08:00"}, "due_at"),
        ({"category": 999999}, "category"),
        ({"status": "published"}, "status"),
        ({"author": 1}, "author"),
        ({"evidence_requirements": {"min_photos": 5, "max_photos": 2}}, "evidence_requirements"),
        ({"evidence_requirements": {"selfies": True}}, "evidence_requirements"),
        ({"evidence_requirements": {"location_required": "yes"}}, "evidence_requirements"),
        ({"targets": [{"unit": "x"}]}, "targets"),
        ({"targets": [{"unit": 1, "level": "province"}]}, "targets"),
        ({"targets": {"unit": 1}}, "targets"),
        ({"points": -1}, "points"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_task_input_is_a_400_naming_the_field_and_writes_nothing(api, world, people, overrides, field):
    login(api, people["district_officer"])
    response = api.post("/api/v1/tasks/", _body(world, **overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert response.json()["message"]
    assert not PracticeTask.objects.exists()


def test_a_retired_category_is_refused(api, world, people):
    retired = TaskCategory.objects.create(code="old", name="旧分类", is_active=False)
    login(api, people["district_officer"])
    response = api.post("/api/v1/tasks/", _body(world, category=retired.pk), format="json")
    assert response.status_code == 400
    assert "category" in response.json()["errors"]


def test_targets_outside_the_issuer_subtree_are_named(api, world, people):
    login(api, people["street_officer"])
    body = _body(
        world,
        issuer_unit=world["S1"].pk,
        targets=[{"unit": world["C1"].pk}, {"unit": world["C3"].pk}, {"unit": world["D1"].pk}],
    )
    response = api.post("/api/v1/tasks/", body, format="json")
    assert response.status_code == 400
    message = response.json()["message"]
    # The street officer cannot see C3 or D1: they are named by the ids sent, nothing more.
    assert f"#{world['C3'].pk}" in message and f"#{world['D1'].pk}" in message
    assert world["C1"].name not in message
    assert "电新街社区" not in message and "陇西社区" not in message
    assert not PracticeTask.objects.exists()


def test_targets_outside_are_named_when_the_actor_can_see_them(api, world, people):
    login(api, people["district_officer"])
    body = _body(world, issuer_unit=world["S1"].pk, targets=[{"unit": world["C3"].pk}])
    response = api.post("/api/v1/tasks/", body, format="json")
    assert response.status_code == 400
    assert "电新街社区" in response.json()["message"]


def test_a_target_level_must_lie_below_the_unit(api, world, people):
    login(api, people["district_officer"])
    response = api.post(
        "/api/v1/tasks/", _body(world, targets=[{"unit": world["C1"].pk, "level": "street"}]), format="json"
    )
    assert response.status_code == 400
    assert world["C1"].name in response.json()["message"]


def test_the_issuer_cannot_target_itself(api, world, people):
    login(api, people["district_officer"])
    response = api.post("/api/v1/tasks/", _body(world, targets=[{"unit": world["A"].pk}]), format="json")
    assert response.status_code == 400
    assert world["A"].name in response.json()["message"]


@pytest.mark.parametrize("role", ["community_worker", "street_viewer"])
def test_workers_and_viewers_cannot_create_tasks(api, world, people, role):
    login(api, people[role])
    unit = world["C1"] if role == "community_worker" else world["S1"]
    response = api.post("/api/v1/tasks/", _body(world, issuer_unit=unit.pk, targets=[]), format="json")
    assert response.status_code == 403
    assert not PracticeTask.objects.exists()


@pytest.mark.parametrize("role", ["street_officer", "other_admin"])
def test_an_issuer_outside_ones_memberships_reads_as_unknown(api, world, people, role):
    login(api, people[role])  # district A is above S1 and outside district B: neither sees it
    response = api.post("/api/v1/tasks/", _body(world), format="json")
    assert response.status_code == 400
    assert "issuer_unit" in response.json()["errors"]
    assert world["A"].name not in response.json()["message"]
    assert not PracticeTask.objects.exists()


def test_publish_fans_out_one_assignment_per_target_unit(api, world, people):
    task = make_task(
        people["district_officer"],
        world["A"],
        [
            {"unit": world["A"].pk, "level": "street"},
            {"unit": world["C1"].pk},
            {"unit": world["S1"].pk, "level": "community"},
        ],
    )
    login(api, people["district_officer"])
    response = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 4
    assert response.json()["task"]["status"] == "published"
    units = set(Assignment.objects.filter(task=task).values_list("unit__code", flat=True))
    assert units == {world[k].code for k in ("S1", "S2", "C1", "C2")}
    assert set(Assignment.objects.filter(task=task).values_list("status", "due_at").distinct()) == {
        ("pending", task.due_at)
    }


def test_publishing_twice_creates_nothing_more(api, world, people):
    task = make_task(people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}])
    login(api, people["district_officer"])
    assert api.post(f"/api/v1/tasks/{task.pk}/publish/").json()["created"] == 3
    again = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    assert again.status_code == 200
    assert again.json()["created"] == 0
    assert Assignment.objects.filter(task=task).count() == 3
    assert TaskEvent.objects.filter(task=task, verb="published").count() == 1


def test_publishing_again_reaches_units_created_since(api, world, people):
    from tests.factories import make_unit

    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )
    make_unit(world["S2"], name="新社区", code="410102002009")
    login(api, people["district_officer"])
    assert api.post(f"/api/v1/tasks/{task.pk}/publish/").json()["created"] == 1


def test_inactive_units_receive_nothing(world, people):
    from orgs import services as org_services
    from tests.factories import platform_admin

    org_services.unit_update(actor=platform_admin(), unit=world["C2"], data={"is_active": False})
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}]
    )
    assert list(Assignment.objects.filter(task=task).values_list("unit__code", flat=True)) == [
        world["C1"].code
    ]


def test_publishing_needs_targets_and_a_future_due_time(api, world, people):
    task = make_task(people["district_officer"], world["A"], [])
    login(api, people["district_officer"])
    response = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    assert response.status_code == 400
    assert "targets" in response.json()["errors"]
    PracticeTask.objects.filter(pk=task.pk).update(
        targets=[{"unit": world["C1"].pk}], due_at=timezone.now() - timedelta(minutes=1)
    )
    response = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    assert response.status_code == 400
    assert "due_at" in response.json()["errors"]
    assert not Assignment.objects.exists()
    assert PracticeTask.objects.get(pk=task.pk).status == "draft"


@pytest.mark.parametrize("role", ["community_worker", "street_viewer", "street_officer"])
def test_only_the_issuer_side_publishes(api, world, people, role):
    task = make_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}])
    login(api, people[role])
    response = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    # A draft is visible only on the issuing side: everyone below gets 404, not 403.
    assert response.status_code == 404
    assert PracticeTask.objects.get(pk=task.pk).status == "draft"


@pytest.mark.parametrize("role", ["community_worker", "street_viewer", "street_officer"])
def test_units_below_see_a_published_task_but_cannot_manage_it(api, world, people, role):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}]
    )
    login(api, people[role])
    assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    for action in ("publish", "cancel", "close"):
        assert api.post(f"/api/v1/tasks/{task.pk}/{action}/").status_code == 403
    assert api.patch(f"/api/v1/tasks/{task.pk}/", {"title": "改"}, format="json").status_code == 403
    assert PracticeTask.objects.get(pk=task.pk).status == "published"


def test_a_unit_without_an_assignment_cannot_see_the_task(api, world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["C2"].pk}])
    login(api, people["community_worker"])  # C1
    assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert api.get("/api/v1/tasks/").json()["count"] == 0
    login(api, people["other_admin"])
    assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 404


def test_a_published_tasks_targets_are_frozen_but_text_and_due_time_change(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}]
    )
    login(api, people["district_officer"])
    frozen = api.patch(f"/api/v1/tasks/{task.pk}/", {"targets": [{"unit": world["C3"].pk}]}, format="json")
    assert frozen.status_code == 409
    assert "targets" in frozen.json()["message"]
    frozen = api.patch(
        f"/api/v1/tasks/{task.pk}/", {"evidence_requirements": {"min_photos": 3}}, format="json"
    )
    assert frozen.status_code == 409
    same_targets = api.patch(
        f"/api/v1/tasks/{task.pk}/", {"targets": task.targets, "title": "新标题"}, format="json"
    )
    assert same_targets.status_code == 200, same_targets.json()

    new_due = timezone.now() + timedelta(days=20)
    response = api.patch(
        f"/api/v1/tasks/{task.pk}/", {"description": "补充说明", "due_at": new_due.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert set(Assignment.objects.filter(task=task).values_list("due_at", flat=True)) == {new_due}
    changes = TaskEvent.objects.filter(task=task, verb="updated").last().data["changes"]
    assert set(changes) == {"description", "due_at"}
    assert changes["description"] == ["", "补充说明"]


def test_a_shorter_task_due_time_clamps_delegated_children(world, people):
    from tasks import services

    task = published_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    parent = assignment_of(task, world["S1"])
    child_due = task.due_at - timedelta(days=2)
    services.assignment_delegate(
        actor=people["street_officer"],
        assignment=parent,
        targets=[{"unit": world["C1"].pk}],
        due_at=child_due,
    )
    services.task_update(
        actor=people["district_officer"], task=task, data={"due_at": task.due_at - timedelta(days=5)}
    )
    child = assignment_of(task, world["C1"])
    assert child.due_at == task.due_at - timedelta(days=5)
    assert assignment_of(task, world["S1"]).due_at == task.due_at - timedelta(days=5)


def test_a_draft_is_fully_editable(api, world, people):
    task = make_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    login(api, people["district_officer"])
    response = api.patch(
        f"/api/v1/tasks/{task.pk}/",
        {
            "targets": [{"unit": world["S2"].pk, "level": "community"}],
            "evidence_requirements": {"min_photos": 2},
            "points": 5,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["targets"] == [{"unit": world["S2"].pk, "level": "community"}]
    assert response.json()["evidence_requirements"]["min_photos"] == 2
    bad = api.patch(f"/api/v1/tasks/{task.pk}/", {"targets": [{"unit": world["D1"].pk}]}, format="json")
    assert bad.status_code == 400
    assert api.patch(f"/api/v1/tasks/{task.pk}/", {"status": "closed"}, format="json").status_code == 400


def test_cancelling_ends_open_assignments_and_keeps_approved_ones(api, world, people):
    from tests.tasks.helpers import review

    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )
    done = assignment_of(task, world["C1"])
    submit(done, people["community_worker"])
    review(done, people["street_officer"])
    login(api, people["district_officer"])
    response = api.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "上级通知取消"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["ended"] == 2
    assert response.json()["task"]["status"] == "cancelled"
    statuses = dict(Assignment.objects.filter(task=task).values_list("unit__code", "status"))
    assert statuses == {
        world["C1"].code: "approved",
        world["C2"].code: "cancelled",
        world["C3"].code: "cancelled",
    }
    events = AssignmentEvent.objects.filter(assignment__task=task, verb="cancel")
    assert events.count() == 2
    assert {e.from_status for e in events} == {"pending"}
    assert {e.comment for e in events} == {"上级通知取消"}
    assert api.post(f"/api/v1/tasks/{task.pk}/close/").status_code == 409
    assert api.post(f"/api/v1/tasks/{task.pk}/publish/").status_code == 409
    assert api.patch(f"/api/v1/tasks/{task.pk}/", {"title": "x"}, format="json").status_code == 409


def test_closing_ends_open_assignments_as_closed(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk, "level": "community"}]
    )
    submit(assignment_of(task, world["C1"]), people["community_worker"])
    login(api, people["district_admin"])
    response = api.post(f"/api/v1/tasks/{task.pk}/close/")
    assert response.status_code == 200
    assert response.json()["ended"] == 2
    assert set(Assignment.objects.filter(task=task).values_list("status", flat=True)) == {"closed"}
    assert set(AssignmentEvent.objects.filter(verb="close").values_list("from_status", flat=True)) == {
        "submitted",
        "pending",
    }
    # an ended assignment is not overdue, and cannot move any more
    PracticeTask.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(days=1))
    login(api, people["community_worker"])
    row = api.get("/api/v1/assignments/").json()["results"][0]
    assert row["is_overdue"] is False
    assert api.post(f"/api/v1/assignments/{row['id']}/accept/").status_code == 409


def test_a_draft_can_be_cancelled_but_not_closed(api, world, people):
    task = make_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    login(api, people["district_officer"])
    assert api.post(f"/api/v1/tasks/{task.pk}/close/").status_code == 409
    assert api.post(f"/api/v1/tasks/{task.pk}/cancel/").status_code == 200


def test_task_list_filters(api, world, people):
    officer = people["district_officer"]
    soon = published_task(
        officer, world["A"], [{"unit": world["C1"].pk}], due_at=timezone.now() + timedelta(days=2)
    )
    later = make_task(
        officer,
        world["A"],
        [],
        due_at=timezone.now() + timedelta(days=30),
        category=category("theory_lecture"),
    )
    street = make_task(people["street_officer"], world["S1"], [{"unit": world["C1"].pk}])
    login(api, officer)

    def ids(**params):
        return {row["id"] for row in api.get("/api/v1/tasks/", params).json()["results"]}

    assert ids() == {soon.pk, later.pk, street.pk}
    assert ids(status="published") == {soon.pk}
    assert ids(status=["draft", "published"]) == {soon.pk, later.pk, street.pk}
    assert ids(category=category("theory_lecture").pk) == {later.pk}
    assert ids(issuer_unit=world["S1"].pk) == {street.pk}
    assert ids(due_before=(timezone.now() + timedelta(days=5)).isoformat()) == {soon.pk}
    assert ids(due_after=(timezone.now() + timedelta(days=20)).isoformat()) == {later.pk}


def test_task_history_is_recorded(api, world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    login(api, people["district_officer"])
    api.patch(f"/api/v1/tasks/{task.pk}/", {"title": "新标题"}, format="json")
    api.post(f"/api/v1/tasks/{task.pk}/close/")
    verbs = [row["verb"] for row in api.get(f"/api/v1/tasks/{task.pk}/events/").json()]
    assert verbs == ["created", "published", "updated", "closed"]


def test_defaults_for_requirements_when_omitted(world, people):
    task = make_task(
        people["district_officer"], world["A"], [], evidence_requirements={"volunteers_required": True}
    )
    assert task.evidence_requirements["volunteers_required"] is True
    assert task.evidence_requirements["min_photos"] == 1
    assert NO_PHOTOS["min_photos"] == 0


def test_one_400_lists_read_only_and_invalid_fields_together(api, world, people):
    login(api, people["district_officer"])
    response = api.post(
        "/api/v1/tasks/", _body(world, status="published", title="", category=999999), format="json"
    )
    assert response.status_code == 400
    assert {"status", "title", "category"} <= set(response.json()["errors"])
    assert not PracticeTask.objects.exists()
