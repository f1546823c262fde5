"""The admin pages of tasks and evidence follow the access rule, keep EXIF positions and original
files to themselves, and cost the same number of queries whatever the page's length."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import EvidenceFlag, Photo
from orgs.models import Role, User
from tasks.models import Assignment, AssignmentEvent, PracticeTask, Submission, TaskEvent
from tests.conftest import login
from tests.evidence.helpers import evidence_task, exif_now, photo, post_report, process_pending
from tests.factories import make_member
from tests.tasks.helpers import assignment_of, published_task, submit

pytestmark = pytest.mark.django_db

# Each workflow model with the path from it to the unit it belongs to.
SCOPED = {
    PracticeTask: "issuer_unit",
    Assignment: "unit",
    Submission: "assignment__unit",
    AssignmentEvent: "assignment__unit",
    TaskEvent: "task__issuer_unit",
    Photo: "submission__assignment__unit",
    EvidenceFlag: "submission__assignment__unit",
}


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _staff(user: User, *models) -> User:
    user.is_staff = True
    user.save()
    codenames = [f"view_{model._meta.model_name}" for model in models]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _rows(model, world, district: str) -> list:
    return list(model.objects.filter(**{f"{SCOPED[model]}__tree_id": world[district].tree_id}))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    # The photo job is run by process_pending() below, as a worker would.
    monkeypatch.setattr("evidence.services.enqueue_processing", lambda ids: None)


@pytest.fixture
def reports(api, world, people):
    """In each district a published task and a report with two photos: one with GPS in its EXIF,
    one without EXIF (which raises a flag)."""
    d1_worker = make_member(world["D1"], Role.WORKER, "d1_worker")
    for district, unit, issuer, worker, seed in (
        ("A", "C1", people["district_officer"], people["community_worker"], 1),
        ("B", "D1", people["other_admin"], d1_worker, 3),
    ):
        task = evidence_task(
            issuer, world[district], [{"unit": world[unit].pk}], title=f"{district}区志愿服务"
        )
        login(api, worker)
        photos = [
            photo(seed, exif=exif_now(), name=f"IMG_{district}_GPS.jpg"),
            photo(seed + 1, exif=None, name=f"IMG_{district}_PLAIN.jpg"),
        ]
        response = post_report(api, assignment_of(task, world[unit]), photos)
        assert response.status_code == 201, response.json()
    process_pending()
    for model in SCOPED:  # every page below has rows of both districts to hide or show
        assert _rows(model, world, "A") and _rows(model, world, "B"), model


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser(username="admin", password="pass-12345"))
    return client


@pytest.mark.parametrize("model", list(SCOPED), ids=lambda model: model._meta.model_name)
def test_staff_of_one_district_sees_nothing_of_another(client, world, people, reports, model):
    client.force_login(_staff(people["other_admin"], model))

    listing = client.get(_url(model, "changelist"))
    html = listing.content.decode()

    assert listing.status_code == 200
    for row in _rows(model, world, "B"):
        assert _url(model, "change", row.pk) in html
        assert client.get(_url(model, "change", row.pk)).status_code == 200
    assert "A区志愿服务" not in html and "IMG_A_" not in html
    for row in _rows(model, world, "A"):
        assert _url(model, "change", row.pk) not in html
        # Django's answer for a row outside the queryset: back to the index, "does not exist".
        opened = client.get(_url(model, "change", row.pk))
        assert opened.status_code == 302 and opened.url == reverse("admin:index")
        assert client.get(_url(model, "history", row.pk)).status_code == 302


@pytest.mark.parametrize("model", list(SCOPED), ids=lambda model: model._meta.model_name)
def test_superuser_sees_every_district(admin_client, world, reports, model):
    html = admin_client.get(_url(model, "changelist")).content.decode()

    for district in ("A", "B"):
        for row in _rows(model, world, district):
            assert _url(model, "change", row.pk) in html


@pytest.mark.parametrize("viewer", ["superuser", "district_officer"])
def test_photo_page_shows_neither_the_exif_position_nor_the_files(client, world, people, reports, viewer):
    if viewer == "superuser":
        user = User.objects.create_superuser(username="admin", password="pass-12345")
    else:
        user = _staff(people[viewer], Photo)
    client.force_login(user)
    (shot,) = Photo.objects.filter(original_name="IMG_A_GPS.jpg")
    assert shot.has_gps and shot.thumbnail  # the position was read and the copies were made

    html = client.get(_url(Photo, "change", shot.pk)).content.decode()

    assert "IMG_A_GPS.jpg" in html
    latitude, longitude = f"{shot.latitude:.3f}", f"{shot.longitude:.3f}"
    for value in (latitude, longitude, latitude.replace(".", ","), longitude.replace(".", ",")):
        assert value not in html
    for stored in (shot.original.name, shot.thumbnail.name, shot.preview.name, shot.key):
        assert stored not in html


# Query counts --------------------------------------------------------------------------------------


def _publish_and_submit(world, people, count: int) -> None:
    for _ in range(count):
        task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
        submit(assignment_of(task, world["C1"]), people["community_worker"])


@pytest.mark.parametrize("viewer", ["superuser", "district_admin"])
@pytest.mark.parametrize(
    ("model", "rows_per_task"),
    [(PracticeTask, 1), (Assignment, 1), (Submission, 1), (AssignmentEvent, 1), (TaskEvent, 2)],
    ids=lambda value: getattr(value, "_meta", None) and value._meta.model_name,
)
def test_list_pages_cost_the_same_queries_at_2_and_10_rows(
    client, world, people, viewer, model, rows_per_task
):
    if viewer == "superuser":
        user = User.objects.create_superuser(username="admin", password="pass-12345")
    else:
        user = _staff(people[viewer], model)
    client.force_login(user)
    url = _url(model, "changelist")

    def measure(rows: int) -> int:
        client.get(url)  # warm the per-process caches (content types, permissions)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert response.context["cl"].result_count == rows
        return len(queries)

    _publish_and_submit(world, people, 2)
    small = measure(2 * rows_per_task)
    _publish_and_submit(world, people, 8)
    large = measure(10 * rows_per_task)

    assert large == small


def test_district_staff_neither_add_accounts_nor_edit_shared_categories_in_the_admin(client, people):
    from tasks.models import TaskCategory

    staff = people["district_admin"]
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_user", "view_user", "change_taskcategory", "view_taskcategory"]
        )
    )
    client.force_login(staff)
    assert client.get(reverse("admin:orgs_user_add")).status_code == 403
    category = TaskCategory.objects.first()
    page = client.post(_url(TaskCategory, "change", category.pk), {"name": "改名", "sort_order": 1})
    assert page.status_code == 403
    category.refresh_from_db()
    assert category.name != "改名"
