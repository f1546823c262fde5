"""The hourly sweep: files of crashed uploads, photos stuck in processing, expired keys. And the
storage switch to S3-compatible object storage."""

import importlib.util
import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from evidence import storage
from evidence.jobs import remove_orphaned_uploads
from evidence.models import Photo
from tests.conftest import login
from tests.evidence.helpers import evidence_task, exif_now, photo, post_report, process_pending, stored_files
from tests.tasks.helpers import assignment_of

pytestmark = pytest.mark.django_db


def _age(media, name: str, hours: float) -> None:
    stamp = time.time() - hours * 3600
    os.utime(media / name, (stamp, stamp))


def _orphan(media, *, key: str, hours: float, derived: bool = False) -> str:
    today = timezone.localdate()
    if derived:
        name = storage.derived_names_for(storage.original_name(key=key, format="JPEG", day=today), key=key)[0]
    else:
        name = storage.original_name(key=key, format="JPEG", day=today)
    default_storage.save(name, ContentFile(b"left behind by a crashed request"))
    _age(media, name, hours)
    return name


@pytest.fixture
def submitted(api, world, people):
    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    login(api, people["community_worker"])
    response = post_report(api, assignment_of(task, world["C1"]), [photo(1, exif=exif_now())])
    assert response.status_code == 201
    process_pending()
    return Photo.objects.get()


def test_files_no_photo_references_are_removed_once_an_hour_old(media, submitted):
    kept = stored_files(media)
    for name in kept:  # the real photo's files are old too: they stay because a row references them
        _age(media, name, 5)
    old_original = _orphan(media, key="a" * 32, hours=2)
    old_derived = _orphan(media, key="b" * 32, hours=2, derived=True)
    in_flight = _orphan(media, key="c" * 32, hours=0.1)  # a request still running
    stray = "evidence/originals/" + timezone.localdate().strftime("%Y/%m/%d") + "/notes.txt"
    default_storage.save(stray, ContentFile(b"?"))
    _age(media, stray, 3)

    result = remove_orphaned_uploads()

    assert result["removed_files"] == 3
    remaining = stored_files(media)
    assert old_original not in remaining and old_derived not in remaining and stray not in remaining
    assert in_flight in remaining
    assert set(kept) <= set(remaining)


def test_only_recent_day_folders_are_listed(media, monkeypatch):
    listed = []
    real = default_storage.listdir
    monkeypatch.setattr(default_storage, "listdir", lambda path: listed.append(path) or real(path))
    remove_orphaned_uploads()
    assert len(listed) <= 4  # originals and derived of today and yesterday, whatever the history


def test_photos_stuck_in_processing_are_enqueued_again_then_given_up(api, world, people, enqueued):
    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    login(api, people["community_worker"])
    response = post_report(api, assignment_of(task, world["C1"]), [photo(1, exif=exif_now())])
    photo_id = response.json()["photos"][0]["id"]
    assert remove_orphaned_uploads()["requeued"] == 0  # young: its job is probably still queued

    Photo.objects.filter(pk=photo_id).update(created_at=timezone.now() - timedelta(hours=2))
    for attempt in range(1, 4):
        assert remove_orphaned_uploads()["requeued"] == 1
        assert enqueued[-1] == photo_id
        assert Photo.objects.get(pk=photo_id).attempts == attempt
    assert remove_orphaned_uploads()["failed"] == 1
    stuck = Photo.objects.get(pk=photo_id)
    assert stuck.status == "failed" and stuck.error


def test_the_s3_switch(monkeypatch):
    """AWS_STORAGE_BUCKET_NAME (or S3_BUCKET) moves uploads to S3-compatible storage, e.g. MinIO."""
    monkeypatch.setenv("S3_BUCKET", "chuanxi-evidence")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("AWS_S3_ADDRESSING_STYLE", "path")
    path = os.path.join(os.path.dirname(importlib.import_module("config.settings").__file__), "base.py")
    spec = importlib.util.spec_from_file_location("_settings_with_s3", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    default = module.STORAGES["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"

    from storages.backends.s3 import S3Storage

    s3 = S3Storage(**default["OPTIONS"])  # builds without contacting the server
    assert s3.bucket_name == "chuanxi-evidence"
    assert s3.endpoint_url == "http://minio:9000"
    assert s3.default_acl is None
    assert module.STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise")


def test_without_a_bucket_uploads_stay_on_the_file_system(settings):
    assert settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
