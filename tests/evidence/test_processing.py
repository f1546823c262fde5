"""The photo job: derivatives and hash, idempotence, failures and retries; serving the copies."""

import io

import pytest
from celery.exceptions import Retry
from django.core.files.storage import default_storage
from PIL import Image

from evidence import services
from evidence.derivatives import HASH_BANDS, hash_bands
from evidence.jobs import process_photo
from evidence.models import EvidenceFlag, Photo
from orgs.models import Role
from tests.conftest import login
from tests.evidence.helpers import (
    evidence_task,
    exif_now,
    photo,
    post_report,
    process_pending,
    stored_files,
    upload,
)
from tests.evidence.photos import jpeg, jpeg_with_segments, make_exif, real_looking_photo, tiff_amplifier
from tests.factories import make_member
from tests.tasks.helpers import assignment_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def c1(world, people):
    task = evidence_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )
    return assignment_of(task, world["C1"])


@pytest.fixture
def uploaded(api, people, c1):
    """One submitted photo with GPS and EXIF, not processed yet."""
    login(api, people["community_worker"])
    response = post_report(api, c1, [photo(1, exif=exif_now())])
    assert response.status_code == 201, response.json()
    return Photo.objects.get(pk=response.json()["photos"][0]["id"])


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


# The job --------------------------------------------------------------------------------------------


def test_the_job_makes_stripped_copies_and_the_hash(uploaded, media):
    assert process_photo(uploaded.pk) == "ready"
    photo_row = Photo.objects.get(pk=uploaded.pk)
    assert photo_row.status == "ready" and photo_row.processed_at is not None
    assert photo_row.thumbnail.name.endswith(f"{photo_row.key}_320.jpg")
    assert photo_row.preview.name.endswith(f"{photo_row.key}_1280.jpg")
    assert photo_row.thumbnail.name.startswith("evidence/derived/")
    assert [getattr(photo_row, f"band{i}") for i in range(HASH_BANDS)] == hash_bands(photo_row.phash)
    with default_storage.open(photo_row.thumbnail.name) as handle:
        thumbnail = _image(handle.read())
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) == 320
    assert not thumbnail.getexif()
    assert len(stored_files(media)) == 3


def test_running_the_job_twice_changes_nothing(uploaded, media):
    process_photo(uploaded.pk)
    first = Photo.objects.get(pk=uploaded.pk)
    files = stored_files(media)
    flags = list(EvidenceFlag.objects.values_list("kind", "photo_id"))
    with default_storage.open(first.preview.name) as handle:
        preview = handle.read()

    process_photo(uploaded.pk)  # skipped: ready
    Photo.objects.filter(pk=uploaded.pk).update(status=Photo.Status.PENDING)
    process_photo(uploaded.pk)  # a redelivered job that really runs again

    again = Photo.objects.get(pk=uploaded.pk)
    assert (again.thumbnail.name, again.preview.name, again.phash) == (
        first.thumbnail.name,
        first.preview.name,
        first.phash,
    )
    assert stored_files(media) == files
    with default_storage.open(again.preview.name) as handle:
        assert handle.read() == preview
    assert list(EvidenceFlag.objects.values_list("kind", "photo_id")) == flags


def test_a_file_that_does_not_decode_ends_failed_without_retrying(uploaded, monkeypatch):
    with default_storage.open(uploaded.original.name, "wb") as handle:
        handle.write(b"\xff\xd8\xff\xe0 not really a jpeg any more")
    calls = []
    real = services.photo_process
    monkeypatch.setattr(services, "photo_process", lambda **kw: calls.append(1) or real(**kw))
    result = process_photo.apply(args=[uploaded.pk])
    assert result.successful()
    assert len(calls) == 1
    failed = Photo.objects.get(pk=uploaded.pk)
    assert failed.status == "failed"
    assert failed.error
    assert not failed.thumbnail


def test_a_photo_that_runs_out_of_memory_ends_failed_not_stuck(uploaded, monkeypatch):
    """What the job's memory ceiling (EVIDENCE_JOB_MEMORY_MB) turns an over-demanding photo into:
    a MemoryError while decoding. The photo fails with the reason; no retry, nothing left pending."""

    def out_of_memory(self):
        raise MemoryError

    monkeypatch.setattr(Image.Image, "load", out_of_memory)

    assert process_photo(uploaded.pk) == "failed"

    failed = Photo.objects.get(pk=uploaded.pk)
    assert "内存" in failed.error
    assert not failed.thumbnail


def test_a_photo_with_crafted_exif_is_accepted_without_it_and_flagged(api, people, c1):
    crafted = jpeg_with_segments(
        jpeg(real_looking_photo(11, (800, 600))), [(0xE1, b"Exif\x00\x00" + tiff_amplifier(65000))]
    )
    login(api, people["community_worker"])

    response = post_report(api, c1, [upload("crafted.jpg", crafted)])

    assert response.status_code == 201, response.json()
    (stored,) = process_pending()
    assert (stored.status, stored.has_exif, stored.taken_at, stored.latitude) == ("ready", False, None, None)
    assert "no_exif" in set(stored.flags.values_list("kind", flat=True))


def test_a_missing_original_ends_failed(uploaded):
    default_storage.delete(uploaded.original.name)
    assert process_photo(uploaded.pk) == "failed"
    assert "缺少" in Photo.objects.get(pk=uploaded.pk).error


def test_storage_errors_are_retried_with_backoff(uploaded, monkeypatch):
    real_open = default_storage.open

    def down(name, mode="rb"):
        raise ConnectionResetError("storage hiccup")

    monkeypatch.setattr(default_storage, "open", down)
    with pytest.raises(Retry) as first:
        process_photo.apply(args=[uploaded.pk])
    assert first.value.when == 10
    with pytest.raises(Retry) as third:
        process_photo.apply(args=[uploaded.pk], retries=2)
    assert third.value.when == 40
    assert Photo.objects.get(pk=uploaded.pk).status == "pending"
    assert stored_files_of(uploaded) == [uploaded.original.name]  # nothing half-written

    monkeypatch.setattr(default_storage, "open", real_open)  # storage is back
    assert process_photo.apply(args=[uploaded.pk], retries=3).get() == "ready"


def test_storage_errors_that_persist_fail_the_job_and_leave_the_photo_pending(uploaded, monkeypatch):
    def down(name, mode="rb"):
        raise TimeoutError("storage down")

    monkeypatch.setattr(default_storage, "open", down)
    with pytest.raises(TimeoutError):
        process_photo.apply(args=[uploaded.pk], retries=5)  # the last allowed attempt
    assert Photo.objects.get(pk=uploaded.pk).status == "pending"  # the hourly sweep re-enqueues it


def stored_files_of(photo_row) -> list[str]:
    folder = photo_row.original.name.rsplit("/", 1)[0]
    derived = folder.replace("originals", "derived")
    names = [f"{folder}/{name}" for name in default_storage.listdir(folder)[1]]
    if default_storage.exists(derived):
        names += [f"{derived}/{name}" for name in default_storage.listdir(derived)[1]]
    return names


def test_orientation_is_applied_to_the_copies(api, people, c1, media):
    login(api, people["community_worker"])
    data = jpeg(real_looking_photo(9, (800, 600)), exif=make_exif(orientation=6))
    assert post_report(api, c1, [upload("turned.jpg", data)]).status_code == 201
    (processed,) = process_pending()
    assert (processed.width, processed.height) == (600, 800)
    with default_storage.open(processed.preview.name) as handle:
        assert _image(handle.read()).size == (600, 800)


def test_a_large_photo_gets_a_1280_preview(api, people, c1, media):
    login(api, people["community_worker"])
    data = jpeg(real_looking_photo(11, (2000, 1500)), exif=exif_now())
    assert post_report(api, c1, [upload("big.jpg", data)]).status_code == 201
    (processed,) = process_pending()
    with default_storage.open(processed.preview.name) as handle:
        assert _image(handle.read()).size == (1280, 960)


# Serving --------------------------------------------------------------------------------------------


def test_copies_are_served_as_stripped_jpegs_with_safe_headers(api, people, uploaded):
    process_photo(uploaded.pk)
    login(api, people["street_officer"])
    listing = api.get(f"/api/v1/assignments/{uploaded.submission.assignment_id}/submissions/").json()
    served = listing[0]["photos"][0]
    assert served["status"] == "ready"
    for url, side in ((served["thumbnail_url"], 320), (served["preview_url"], 800)):
        response = api.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        # the answer depends on who asks: caches must key it on the credentials
        assert {"Authorization", "Cookie"} <= {part.strip() for part in response["Vary"].split(",")}
        assert response["Cache-Control"] == "private, max-age=3600"
        assert response["Content-Disposition"].startswith("inline;")
        data = _body(response)
        image = _image(data)
        assert image.format == "JPEG" and max(image.size) == side
        assert not image.getexif()
        assert b"Exif" not in data and b"GPS" not in data
    # The original still has its GPS; it is never served.
    with default_storage.open(uploaded.original.name) as handle:
        assert _image(handle.read()).getexif().get_ifd(0x8825)


def test_a_photo_being_processed_or_failed_is_409_with_its_state(api, people, uploaded):
    login(api, people["community_worker"])
    pending = api.get(f"/api/v1/photos/{uploaded.pk}/thumbnail/")
    assert pending.status_code == 409
    assert pending.json()["errors"]["status"] == "pending"
    Photo.objects.filter(pk=uploaded.pk).update(status="failed", error="the image data is damaged")
    failed = api.get(f"/api/v1/photos/{uploaded.pk}/preview/", HTTP_ACCEPT="image/jpeg")
    assert failed.status_code == 409
    assert "damaged" in failed.json()["message"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("community_worker", 200),
        ("street_officer", 200),
        ("street_viewer", 200),
        ("district_officer", 200),
        ("other_admin", 404),
        ("sibling_worker", 404),  # a worker of 杜康社区, next door
        ("anonymous", 401),
    ],
)
def test_who_may_fetch_a_photo(api, world, people, uploaded, who, expected):
    process_photo(uploaded.pk)
    if who == "sibling_worker":
        login(api, make_member(world["C2"], Role.WORKER))
    elif who == "anonymous":
        api.force_authenticate(user=None)
    else:
        login(api, people[who])
    for variant in ("thumbnail", "preview"):
        response = api.get(f"/api/v1/photos/{uploaded.pk}/{variant}/")
        assert response.status_code == expected, (who, variant)
    if expected == 404:
        assert response.json()["message"]


def test_media_url_is_not_served(api, people, uploaded):
    process_photo(uploaded.pk)
    login(api, people["district_admin"])
    photo_row = Photo.objects.get(pk=uploaded.pk)
    for name in (photo_row.original.name, photo_row.thumbnail.name):
        assert api.get(f"/media/{name}").status_code == 404


def test_an_unknown_photo_is_404(api, people):
    login(api, people["district_admin"])
    assert api.get("/api/v1/photos/999999/thumbnail/").status_code == 404
