"""Every tasks endpoint × every role: the expected status, written out by hand from the rule.

The task is issued by district A and published to every street and community of A. A draft is
seen only on the issuing side. 404 = not visible, 403 = visible but the role does not allow it.
"""

import pytest
from django.utils import timezone

from tasks.models import Assignment, PracticeTask
from tests.conftest import login
from tests.tasks.helpers import assignment_of, category, make_task, published_task, report, submit

pytestmark = pytest.mark.django_db

ROLES = [
    "district_admin",
    "district_officer",
    "street_admin",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
]

# endpoint -> expected status per role, in the order of ROLES
MATRIX = {
    "task detail": [200, 200, 200, 200, 200, 200, 404],
    "draft detail": [200, 200, 404, 404, 404, 404, 404],
    "task events": [200, 200, 200, 200, 200, 200, 404],
    "task edit": [200, 200, 403, 403, 403, 403, 404],
    "task publish": [200, 200, 403, 403, 403, 403, 404],
    "draft publish": [200, 200, 404, 404, 404, 404, 404],
    "task close": [200, 200, 403, 403, 403, 403, 404],
    "task progress": [200, 200, 200, 200, 200, 200, 404],  # below the issuer: their own part
    "street progress": [200, 200, 200, 200, 200, 404, 404],
    "create from S1": [201, 201, 201, 201, 403, 400, 400],
    "assignment detail C1": [200, 200, 200, 200, 200, 200, 404],
    "assignment events C1": [200, 200, 200, 200, 200, 200, 404],
    "submissions C1": [200, 200, 200, 200, 200, 200, 404],
    "photo C1": [200, 200, 200, 200, 200, 200, 404],
    "accept C1": [403, 200, 403, 200, 403, 200, 404],
    "submit C1": [403, 201, 403, 201, 403, 201, 404],
    "urge C1": [201, 201, 201, 201, 403, 403, 404],
    "review C1": [200, 200, 200, 200, 403, 403, 404],
    "delegate S1": [200, 200, 200, 200, 403, 404, 404],
    "review S1": [200, 200, 403, 403, 403, 404, 404],
}
CASES = [(endpoint, role, MATRIX[endpoint][i]) for endpoint in MATRIX for i, role in enumerate(ROLES)]


@pytest.fixture
def setting(world, people):
    officer = people["district_officer"]
    task = published_task(
        officer,
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}, {"unit": world["A"].pk, "level": "community"}],
    )
    draft = make_task(officer, world["A"], [{"unit": world["C1"].pk}])
    return task, draft


def _call(api, world, people, setting, endpoint):
    task, draft = setting
    c1, s1 = assignment_of(task, world["C1"]), assignment_of(task, world["S1"])
    due = task.due_at.isoformat()
    if endpoint in ("review C1", "review S1"):
        target = c1 if endpoint == "review C1" else s1
        # submitted by someone who is not among the roles under test
        from orgs.models import Role
        from tests.factories import make_member

        submit(target, make_member(target.unit, Role.WORKER))
    photo_id = _photo_of(c1) if endpoint == "photo C1" else None
    calls = {
        "task detail": lambda: api.get(f"/api/v1/tasks/{task.pk}/"),
        "draft detail": lambda: api.get(f"/api/v1/tasks/{draft.pk}/"),
        "task events": lambda: api.get(f"/api/v1/tasks/{task.pk}/events/"),
        "task edit": lambda: api.patch(f"/api/v1/tasks/{task.pk}/", {"title": "新标题"}, format="json"),
        "task publish": lambda: api.post(f"/api/v1/tasks/{task.pk}/publish/"),
        "draft publish": lambda: api.post(f"/api/v1/tasks/{draft.pk}/publish/"),
        "task close": lambda: api.post(f"/api/v1/tasks/{task.pk}/close/"),
        "task progress": lambda: api.get(f"/api/v1/tasks/{task.pk}/progress/"),
        "street progress": lambda: api.get(f"/api/v1/tasks/{task.pk}/progress/", {"unit": world["S1"].pk}),
        "create from S1": lambda: api.post(
            "/api/v1/tasks/",
            {
                "issuer_unit": world["S1"].pk,
                "title": "街道自派任务",
                "category": category().pk,
                "due_at": (timezone.now() + timezone.timedelta(days=3)).isoformat(),
                "targets": [{"unit": world["C1"].pk}],
            },
            format="json",
        ),
        "assignment detail C1": lambda: api.get(f"/api/v1/assignments/{c1.pk}/"),
        "assignment events C1": lambda: api.get(f"/api/v1/assignments/{c1.pk}/events/"),
        "submissions C1": lambda: api.get(f"/api/v1/assignments/{c1.pk}/submissions/"),
        "photo C1": lambda: api.get(f"/api/v1/photos/{photo_id}/thumbnail/"),
        "accept C1": lambda: api.post(f"/api/v1/assignments/{c1.pk}/accept/"),
        "submit C1": lambda: api.post(f"/api/v1/assignments/{c1.pk}/submissions/", report(), format="json"),
        "urge C1": lambda: api.post(
            f"/api/v1/assignments/{c1.pk}/urge/", {"comment": "请尽快"}, format="json"
        ),
        "review C1": lambda: api.post(
            f"/api/v1/assignments/{c1.pk}/review/", {"decision": "approve"}, format="json"
        ),
        "delegate S1": lambda: api.post(
            f"/api/v1/assignments/{s1.pk}/delegate/",
            {"targets": [{"unit": world["S1"].pk, "level": "community"}], "due_at": due},
            format="json",
        ),
        "review S1": lambda: api.post(
            f"/api/v1/assignments/{s1.pk}/review/", {"decision": "approve"}, format="json"
        ),
    }
    return calls[endpoint]()


def _photo_of(assignment) -> int:
    """C1 reports with one photo (by a worker outside the roles under test), processed by the job."""
    from evidence.jobs import process_photo
    from evidence.services import photos_inspect
    from orgs.models import Role
    from tests.evidence.helpers import photo
    from tests.factories import make_member

    photos, errors = photos_inspect(uploads=[photo(1)])
    assert not errors
    submission = submit(assignment, make_member(assignment.unit, Role.WORKER), photos=photos)
    photo_id = submission.photos.get().pk
    assert process_photo(photo_id) == "ready"
    return photo_id


def _snapshot():
    return (
        sorted(Assignment.objects.values_list("id", "status", "version")),
        list(PracticeTask.objects.order_by("id").values_list("title", "status")),
    )


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_access_matrix(api, world, people, setting, endpoint, role, expected, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # photo files of the arrangement
    arranged_inside = endpoint.startswith(("review", "photo"))  # the arrangement submits first
    before = None if arranged_inside else _snapshot()
    login(api, people[role])
    response = _call(api, world, people, setting, endpoint)
    assert response.status_code == expected, (endpoint, role, response.content[:300])
    if expected >= 400 and before is not None:
        assert _snapshot() == before, "a refused request wrote something"
    if expected == 404:
        assert "建西社区" not in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_task_list_shows_what_the_role_may_see(api, world, people, setting, role):
    task, draft = setting
    login(api, people[role])
    ids = {row["id"] for row in api.get("/api/v1/tasks/").json()["results"]}
    expected = {
        "district_admin": {task.pk, draft.pk},
        "district_officer": {task.pk, draft.pk},
        "other_admin": set(),
    }.get(role, {task.pk})
    assert ids == expected
