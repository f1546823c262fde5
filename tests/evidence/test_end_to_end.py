"""The whole pipeline with nothing stood in for: multipart upload through the API, the job on a real
Celery worker over Redis, files on disk, thumbnails served, flags on the reviewer's screen."""

import io
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from PIL import Image

from evidence.models import EvidenceFlag, Photo
from orgs.models import Role
from tests.conftest import login
from tests.evidence.helpers import evidence_task, exif_now, photo, post_report, stored_files, upload
from tests.factories import make_member
from tests.tasks.helpers import assignment_of


@pytest.fixture
def enqueued():
    """Overrides tests/evidence/conftest.py: here the request path enqueues for real."""
    return None


def _wait_until_processed(count: int, timeout: float = 60.0) -> list[Photo]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photos = list(Photo.objects.order_by("id"))
        if len(photos) == count and all(p.status != Photo.Status.PENDING for p in photos):
            return photos
        time.sleep(0.1)
    pytest.fail(f"the worker did not process {count} photo(s) within {timeout} s")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # the worker thread has its own connection: data must be committed
def test_photos_flow_from_upload_to_review_through_a_real_worker(api, world, people, settings, media):
    import evidence.jobs  # noqa: F401  (registers the jobs with the app, as autodiscovery does in a worker)
    from config.celery_app import app

    assert app.conf.broker_url == django_settings.REDIS_URL
    # A queue of our own, so no other worker on this Redis takes the jobs, and this one takes no other.
    queue = f"test-evidence-{uuid.uuid4().hex[:12]}"
    settings.EVIDENCE_QUEUE = queue

    task = evidence_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])
    c3_worker = make_member(world["C3"], Role.WORKER)
    shot = photo(1, exif=exif_now()).read()

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        login(api, people["community_worker"])
        started = time.monotonic()
        first = post_report(api, c1, [upload("IMG_0001.jpg", shot), photo(2, exif=None)])
        answered_in = time.monotonic() - started
        assert first.status_code == 201, first.json()
        login(api, c3_worker)
        second = post_report(api, c3, [upload("IMG_5555.jpg", shot)])  # the same photo, another community
        assert second.status_code == 201, second.json()
        photos = _wait_until_processed(3)

    assert answered_in < 5  # the request never waited for the worker
    assert [p.status for p in photos] == ["ready", "ready", "ready"]
    # Real files: three originals, six derived copies.
    files = stored_files(media)
    assert len([f for f in files if f.startswith("evidence/originals/")]) == 3
    assert len([f for f in files if f.startswith("evidence/derived/")]) == 6

    login(api, people["district_officer"])
    history = api.get(f"/api/v1/assignments/{c3.pk}/submissions/", HTTP_ACCEPT_LANGUAGE="en").json()
    (shown,) = history[0]["photos"]
    assert shown["status"] == "ready"
    duplicate = next(flag for flag in shown["flags"] if flag["kind"] == "duplicate")
    assert "建西社区" in duplicate["message"]
    assert duplicate["details"]["submission"] == first.json()["id"]

    thumbnail = api.get(shown["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert thumbnail["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert max(image.size) == 320 and not image.getexif()

    c1_flags = set(
        EvidenceFlag.objects.filter(submission_id=first.json()["id"]).values_list("kind", flat=True)
    )
    assert c1_flags == {"no_exif"}  # photo 2 was sent without EXIF
