"""The assignment state machine: every transition, every illegal one, who may act, and the event trail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.models import Role
from tasks.models import Assignment, AssignmentEvent, Submission
from tests.conftest import login
from tests.factories import make_member
from tests.tasks.helpers import assignment_of, published_task, report, review, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(world, people):
    return published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )


@pytest.fixture
def c1(task, world):
    return assignment_of(task, world["C1"])


def _post(api, assignment, action, body=None):
    return api.post(f"/api/v1/assignments/{assignment.pk}/{action}/", body or {}, format="json")


def _status(assignment) -> str:
    return Assignment.objects.get(pk=assignment.pk).status


# Transitions --------------------------------------------------------------------------------------


def test_accept_moves_pending_to_accepted_once(api, people, c1):
    login(api, people["community_worker"])
    response = _post(api, c1, "accept")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    assert response.json()["version"] == 1
    again = _post(api, c1, "accept")
    assert again.status_code == 409
    assert "已签收" in again.json()["message"]  # the current state, in the default language
    assert again.json()["errors"]["status"] == "accepted"


def test_submit_straight_from_pending_without_accepting(api, people, c1):
    login(api, people["community_worker"])
    response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["participants"] == 120
    assert response.json()["submitted_by"]["username"] == "community_worker"
    assert _status(c1) == "submitted"


def test_the_full_path_accept_submit_return_resubmit_approve(api, people, c1):
    worker, reviewer = people["community_worker"], people["street_officer"]
    login(api, worker)
    assert _post(api, c1, "accept").status_code == 200
    assert api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json").status_code == 201
    login(api, reviewer)
    returned = _post(api, c1, "review", {"decision": "return", "comment": "照片与活动不符，请补充签到表。"})
    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "returned"
    assert returned.json()["current_submission"]["decision"] == "return"
    login(api, worker)
    resubmitted = api.post(
        f"/api/v1/assignments/{c1.pk}/submissions/", report(participants=150), format="json"
    )
    assert resubmitted.status_code == 201
    login(api, reviewer)
    approved = _post(api, c1, "review", {"decision": "approve", "rating": 5, "comment": "很好"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["current_submission"]["participants"] == 150
    assert approved.json()["current_submission"]["rating"] == 5
    assert approved.json()["current_submission"]["reviewed_by"]["username"] == "street_officer"

    history = api.get(f"/api/v1/assignments/{c1.pk}/events/").json()
    assert [(e["verb"], e["from_status"], e["to_status"]) for e in history] == [
        ("accept", "pending", "accepted"),
        ("submit", "accepted", "submitted"),
        ("return", "submitted", "returned"),
        ("submit", "returned", "submitted"),
        ("approve", "submitted", "approved"),
    ]
    assert [e["actor"]["username"] for e in history] == [
        "community_worker",
        "community_worker",
        "street_officer",
        "community_worker",
        "street_officer",
    ]
    assert history[2]["comment"] == "照片与活动不符，请补充签到表。"
    assert all(e["created_at"] for e in history)
    submissions = api.get(f"/api/v1/assignments/{c1.pk}/submissions/").json()
    assert [s["decision"] for s in submissions] == ["approve", "return"]  # newest first


@pytest.mark.parametrize(
    ("state", "action", "body"),
    [
        ("accepted", "accept", {}),
        ("submitted", "accept", {}),
        ("submitted", "submissions", None),
        ("approved", "submissions", None),
        ("approved", "accept", {}),
        ("approved", "review", {"decision": "approve"}),
        ("pending", "review", {"decision": "approve"}),
        ("accepted", "review", {"decision": "return", "comment": "补"}),
        ("returned", "review", {"decision": "approve"}),
        ("returned", "accept", {}),
        ("submitted", "urge", {}),
        ("approved", "urge", {}),
    ],
)
def test_illegal_transitions_are_409_with_the_current_state(api, people, c1, state, action, body):
    worker, reviewer = people["community_worker"], people["district_officer"]
    path = {
        "accepted": ["accept"],
        "submitted": ["submit"],
        "approved": ["submit", "approve"],
        "returned": ["submit", "return"],
        "pending": [],
    }[state]
    for step in path:
        if step == "accept":
            login(api, worker)
            _post(api, c1, "accept")
        elif step == "submit":
            submit(c1, worker)
        else:
            review(c1, people["street_officer"], decision=step, comment="请补充")
    assert _status(c1) == state
    login(api, reviewer if action in ("review", "urge") else worker)
    before = AssignmentEvent.objects.count(), Submission.objects.count()
    if action == "submissions":
        response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json")
    else:
        response = _post(api, c1, action, body)
    assert response.status_code == 409, response.json()
    assert response.json()["errors"]["status"] == state
    assert str(Assignment.Status(state).label) in response.json()["message"]
    assert (AssignmentEvent.objects.count(), Submission.objects.count()) == before
    assert _status(c1) == state


def test_a_stale_version_is_a_409(api, people, c1):
    login(api, people["community_worker"])
    _post(api, c1, "accept")
    response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(version=0), format="json")
    assert response.status_code == 409
    assert "刷新" in response.json()["message"]  # "reload", in the default language
    assert _status(c1) == "accepted"


# Who may act --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("community_worker", 201),
        ("street_officer", 201),  # officers hold WORK on the units below
        ("district_officer", 201),
        ("street_viewer", 403),
        ("district_admin", 403),  # administrators manage; they do not do the work
        ("street_admin", 403),
        ("other_admin", 404),
    ],
)
def test_who_may_submit(api, people, c1, role, expected):
    login(api, people[role])
    response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json")
    assert response.status_code == expected, response.json()
    assert _status(c1) == ("submitted" if expected == 201 else "pending")


def test_a_worker_of_another_community_gets_404(api, world, people, task):
    worker_c2 = make_member(world["C2"], Role.WORKER, "worker_c2")
    login(api, worker_c2)
    c1 = assignment_of(task, world["C1"])
    assert api.get(f"/api/v1/assignments/{c1.pk}/").status_code == 404
    assert _post(api, c1, "accept").status_code == 404
    assert api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json").status_code == 404


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("street_officer", 200),
        ("street_admin", 200),
        ("district_officer", 200),
        ("district_admin", 200),
        ("community_worker", 403),
        ("street_viewer", 403),
        ("other_admin", 404),
    ],
)
def test_who_may_review_a_community(api, people, c1, role, expected):
    submit(c1, people["community_worker"])
    login(api, people[role])
    response = _post(api, c1, "review", {"decision": "approve"})
    assert response.status_code == expected, response.json()
    assert _status(c1) == ("approved" if expected == 200 else "submitted")


def test_a_street_cannot_review_its_own_assignment(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )
    s1 = assignment_of(task, world["S1"])
    submit(s1, people["street_officer"])
    second_officer = make_member(world["S1"], Role.OFFICER, "second_street_officer")
    login(api, second_officer)
    assert _post(api, s1, "review", {"decision": "approve"}).status_code == 403
    login(api, people["district_officer"])
    assert _post(api, s1, "review", {"decision": "approve"}).status_code == 200


def test_nobody_reviews_their_own_report(api, people, c1):
    submit(c1, people["district_officer"])
    login(api, people["district_officer"])
    response = _post(api, c1, "review", {"decision": "approve"})
    assert response.status_code == 403
    assert _status(c1) == "submitted"


def test_returning_needs_a_reason_and_a_rating_goes_with_approval(api, people, c1):
    submit(c1, people["community_worker"])
    login(api, people["street_officer"])
    for body, field in (
        ({"decision": "return"}, "comment"),
        ({"decision": "return", "comment": "  "}, "comment"),
        ({"decision": "return", "comment": "补充", "rating": 3}, "rating"),
        ({"decision": "approve", "rating": 6}, "rating"),
        ({"decision": "maybe"}, "decision"),
    ):
        response = _post(api, c1, "review", body)
        assert response.status_code == 400, body
        assert field in response.json()["errors"]
    assert _status(c1) == "submitted"


# The completion report ----------------------------------------------------------------------------


def test_a_report_lists_every_missing_and_invalid_field(api, world, people):
    task = published_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["C1"].pk}],
        evidence_requirements={
            "min_photos": 0,
            "volunteers_required": True,
            "volunteer_hours_required": True,
        },
    )
    c1 = assignment_of(task, world["C1"])
    login(api, people["community_worker"])
    response = api.post(
        f"/api/v1/assignments/{c1.pk}/submissions/",
        {"summary": "", "participants": "many", "latitude": 34.75, "held_at": "2999-01-01T00:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "summary",
        "participants",
        "volunteers",
        "volunteer_hours",
        "longitude",
        "held_at",
    }
    assert _status(c1) == "pending"
    assert not Submission.objects.exists()


def test_location_by_coordinates_is_enough(api, world, people, c1):
    login(api, people["community_worker"])
    body = report(location_text="", latitude="34.747", longitude="113.625")
    assert api.post(f"/api/v1/assignments/{c1.pk}/submissions/", body, format="json").status_code == 201


def test_a_task_that_requires_photos_is_not_submitted_without_them(api, world, people):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["C1"].pk}], evidence_requirements={}
    )
    c1 = assignment_of(task, world["C1"])
    login(api, people["community_worker"])
    response = api.post(
        f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"photos"}
    problem = response.json()["errors"]["photos"][0]
    assert problem["code"] == "too_few"
    assert "multipart/form-data" in problem["message"]  # says how to attach them
    assert _status(c1) == "pending"


def test_photos_sent_as_json_are_refused_with_how_to_send_them(api, people, c1):
    login(api, people["community_worker"])
    body = report(photos=["https://example.com/a.jpg"])
    response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["photos"][0]["code"] == "not_files"
    assert _status(c1) == "pending"


def test_unknown_report_fields_are_refused(api, people, c1):
    login(api, people["community_worker"])
    response = api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(status="approved"), format="json")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    assert _status(c1) == "pending"


# Urging and overdue -------------------------------------------------------------------------------


def test_urging_is_recorded_by_an_officer_above(api, people, c1):
    login(api, people["community_worker"])
    assert _post(api, c1, "urge").status_code == 403
    login(api, people["street_viewer"])
    assert _post(api, c1, "urge").status_code == 403
    login(api, people["street_officer"])
    response = _post(api, c1, "urge", {"comment": "请于周五前完成上报"})
    assert response.status_code == 201
    assert response.json()["verb"] == "urge"
    event = AssignmentEvent.objects.get(assignment=c1, verb="urge")
    assert (event.from_status, event.to_status, event.comment) == ("pending", "pending", "请于周五前完成上报")
    assert _status(c1) == "pending"


def test_overdue_is_derived_from_the_due_time(api, world, people, c1):
    login(api, people["community_worker"])
    assert api.get(f"/api/v1/assignments/{c1.pk}/").json()["is_overdue"] is False
    Assignment.objects.filter(pk=c1.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert api.get(f"/api/v1/assignments/{c1.pk}/").json()["is_overdue"] is True
    submit(c1, people["community_worker"])
    assert api.get(f"/api/v1/assignments/{c1.pk}/").json()["is_overdue"] is True  # still not approved
    review(c1, people["street_officer"])
    assert api.get(f"/api/v1/assignments/{c1.pk}/").json()["is_overdue"] is False


def test_events_are_immutable(c1, people):
    submit(c1, people["community_worker"])
    event = AssignmentEvent.objects.get(assignment=c1)
    event.comment = "tampered"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
