"""What a newcomer to the API meets: every problem named at once, dates read as people mean them,
refusals in Chinese, enums with their text beside them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from orgs import services as org_services
from tests.conftest import login
from tests.factories import platform_admin
from tests.tasks.helpers import assignment_of, category, delegate_to_communities, published_task, submit

pytestmark = pytest.mark.django_db


def test_a_create_with_four_mistakes_names_all_four(api, world, people):
    login(api, people["district_officer"])
    response = api.post(
        "/api/v1/tasks/",
        {
            "issuer_unit": world["A"].pk,
            "title": "   ",  # blank after trimming: the service's rule
            "category": 99999,  # unknown: a type error
            "due_at": (timezone.now() - timedelta(days=1)).isoformat(),  # in the past: the service's rule
            "points": 5000,  # out of range: a type error
            "targets": [{"unit": world["D1"].pk}],  # outside the issuer: the service's rule
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"title", "category", "due_at", "points", "targets"} <= set(errors)


def test_unreadable_and_unknown_fields_are_named_with_the_rules_of_the_rest(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )
    s1 = assignment_of(task, world["S1"])
    login(api, people["street_officer"])
    response = api.post(
        f"/api/v1/assignments/{s1.pk}/delegate/",
        {"due_at": "not a time", "targets": [{"unit": world["C3"].pk}], "status": "approved"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"due_at", "targets", "status"}
    review = api.post(
        f"/api/v1/assignments/{s1.pk}/review/", {"decision": "return", "rating": 9}, format="json"
    )
    assert review.status_code == 400
    assert set(review.json()["errors"]) == {"comment", "rating"}


def test_a_date_alone_means_the_end_of_that_day_in_shanghai(api, world, people):
    login(api, people["district_officer"])
    day = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = api.post(
        "/api/v1/tasks/",
        {"issuer_unit": world["A"].pk, "title": "月底前完成", "category": category().pk, "due_at": day},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["due_at"] == f"{day}T23:59:59+08:00"


def test_times_in_messages_are_as_precise_as_the_sentence_needs(api, world, people):
    login(api, people["district_officer"])
    start = (timezone.now() + timedelta(days=3)).replace(second=45, microsecond=0)
    due = start.replace(second=12)
    response = api.post(
        "/api/v1/tasks/",
        {
            "issuer_unit": world["A"].pk,
            "title": "时间测试",
            "category": category().pk,
            "starts_at": start.isoformat(),
            "due_at": due.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    message = response.json()["errors"]["due_at"][0]
    local = timezone.localtime(due)
    assert local.strftime("%H:%M:12") in message and local.strftime("%H:%M:45") in message


def test_malformed_filters_and_pages_past_the_end_are_refused_with_a_reason(api, world, people):
    login(api, people["district_officer"])
    assert api.get("/api/v1/assignments/", {"overdue": "yes"}).status_code == 400
    assert api.get("/api/v1/assignments/", {"status": "done"}).status_code == 400
    assert api.get("/api/v1/assignments/", {"overdue": "true"}).status_code == 200
    past = api.get("/api/v1/assignments/", {"page": 7})
    assert past.status_code == 404
    assert "第 7 页不存在" in past.json()["message"]


def test_every_enum_has_its_text_beside_it(api, world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    c1 = assignment_of(task, world["C1"])
    submit(c1, people["community_worker"])
    login(api, people["street_officer"])
    detail = api.get(f"/api/v1/assignments/{c1.pk}/").json()
    assert detail["status_display"] == "已上报"
    assert detail["task"]["status_display"] == "已发布"
    assert api.get(f"/api/v1/tasks/{task.pk}/").json()["status_display"] == "已发布"
    events = api.get(f"/api/v1/assignments/{c1.pk}/events/").json()
    assert events[-1]["verb_display"] and events[-1]["to_status_display"] == "已上报"
    api.post(
        f"/api/v1/assignments/{c1.pk}/review/", {"decision": "return", "comment": "请补充"}, format="json"
    )
    history = api.get(f"/api/v1/assignments/{c1.pk}/submissions/").json()
    assert history[0]["decision_display"] == "退回"
    task_events = api.get(f"/api/v1/tasks/{task.pk}/events/").json()
    assert task_events[0]["verb_display"]


def test_the_schema_documents_actions_and_display_texts(api, people):
    login(api, people["district_officer"])
    schema = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("TaskOutput", "AssignmentOutput", "AssignmentDetail", "SubmissionOutput"):
        assert "actions" in schema[name]["properties"], name
        assert schema[name]["properties"]["actions"]["type"] == "array"
    ref = schema["AssignmentOutput"]["properties"]["actions"]["items"]["$ref"].rsplit("/", 1)[1]
    assert ref == "AssignmentActionEnum"
    assert schema[ref]["enum"] == [
        "accept",
        "submit",
        "delegate",
        "review",
        "urge",
    ]
    assert "status_display" in schema["AssignmentOutput"]["properties"]
    assert "decision_display" in schema["SubmissionOutput"]["properties"]
    assert "verb_display" in schema["AssignmentEvent"]["properties"]


def test_refusals_a_client_meets_read_in_chinese(world, people):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="district_officer", password="pass-12345")
    csrf = client.post("/api/v1/tasks/", {}, format="json")
    assert csrf.status_code == 403
    assert "安全校验" in csrf.json()["message"]
    token = APIClient().get("/api/v1/assignments/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert token.status_code == 401
    assert "重新登录" in token.json()["message"]


def test_the_browsable_api_login_lands_on_the_persons_home(client, people):
    login_page = client.get("/api-auth/login/")
    response = client.post(
        "/api-auth/login/",
        {
            "username": "district_officer",
            "password": "pass-12345",
            "csrfmiddlewaretoken": login_page.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/", follow=True).status_code == 200  # not Django's /accounts/profile/ 404


def test_after_a_move_only_someone_above_both_streets_reviews_the_old_delegation(api, world, people):
    """A community moved to another street keeps its delegated assignment, which still belongs to
    the old street's delegation: neither street alone may review it, the district may, and each
    street's rollup counts the children it lists."""
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )
    s1 = assignment_of(task, world["S1"])

    delegate_to_communities(s1, people["street_officer"])
    c1_child = assignment_of(task, world["C1"])
    submit(c1_child, people["community_worker"])
    org_services.unit_move(actor=platform_admin(), unit=world["C1"], new_parent=world["S2"])
    from orgs.models import Role
    from tests.factories import make_member

    other_street = make_member(world["S2"], Role.OFFICER, "s2_officer")

    login(api, people["street_officer"])  # the old street no longer sees C1
    assert api.get(f"/api/v1/assignments/{c1_child.pk}/").status_code == 404
    rollup = api.get(f"/api/v1/assignments/{s1.pk}/").json()
    assert rollup["rollup"]["total"] == len(rollup["children"]) == 1

    login(api, other_street)  # the new street sees it but the delegation is not theirs
    detail = api.get(f"/api/v1/assignments/{c1_child.pk}/").json()
    assert "review" not in detail["actions"]
    refused = api.post(f"/api/v1/assignments/{c1_child.pk}/review/", {"decision": "approve"}, format="json")
    assert refused.status_code == 403

    login(api, people["district_officer"])  # above both streets
    assert "review" in api.get(f"/api/v1/assignments/{c1_child.pk}/").json()["actions"]
    approved = api.post(f"/api/v1/assignments/{c1_child.pk}/review/", {"decision": "approve"}, format="json")
    assert approved.status_code == 200
    settled = parse_datetime(approved.json()["settled_at"])
    assert settled is not None and approved.json()["settled_at"].endswith("+08:00")
