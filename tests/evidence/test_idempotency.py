"""Retrying a report with the same Idempotency-Key: the first outcome, nothing new."""

import threading
import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from common import idempotency
from common.models import IdempotentRequest
from evidence.models import Photo
from tasks.models import Submission
from tests.conftest import login
from tests.evidence.helpers import evidence_task, exif_now, photo, post_report, stored_files, upload
from tests.tasks.helpers import assignment_of, published_task, report, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def c1(world, people):
    task = evidence_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )
    return assignment_of(task, world["C1"])


@pytest.fixture
def the_photo():
    original = photo(1, exif=exif_now())
    return original.read()


def _photo(data: bytes):
    return upload("IMG_0001.jpg", data)


# A retry sends exactly the same body; report() would stamp a new held_at on every call.
HELD_AT = (timezone.now() - timezone.timedelta(hours=3)).isoformat()


def test_a_retry_with_the_same_key_returns_the_first_response_and_creates_nothing(
    api, people, c1, media, the_photo
):
    login(api, people["community_worker"])
    key = str(uuid.uuid4())
    first = post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT)
    assert first.status_code == 201, first.json()
    files = stored_files(media)

    again = post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Submission.objects.filter(assignment=c1).count() == 1
    assert Photo.objects.count() == 1
    assert stored_files(media) == files


def test_without_the_key_a_second_post_is_a_new_request(api, people, c1, the_photo):
    login(api, people["community_worker"])
    assert post_report(api, c1, [_photo(the_photo)]).status_code == 201
    assert post_report(api, c1, [_photo(the_photo)]).status_code == 409  # already submitted


@pytest.mark.parametrize("change", ["fields", "file"])
def test_the_same_key_with_a_different_request_is_409(api, people, c1, media, the_photo, change):
    login(api, people["community_worker"])
    key = "retry-0001"
    assert post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT).status_code == 201
    if change == "fields":
        response = post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT, participants=99)
    else:
        response = post_report(api, c1, [photo(2, exif=exif_now())], key=key, held_at=HELD_AT)
    assert response.status_code == 409
    assert response.json()["errors"]["idempotency_key"] == "mismatch"
    assert Photo.objects.count() == 1


def test_a_failed_request_keeps_no_key_so_the_corrected_retry_goes_through(api, people, c1, media, the_photo):
    login(api, people["community_worker"])
    key = "fix-and-retry"
    broken = post_report(api, c1, [upload("IMG_0001.jpg", b"not a photo")], key=key, held_at=HELD_AT)
    assert broken.status_code == 400
    assert not IdempotentRequest.objects.exists()
    fixed = post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT)
    assert fixed.status_code == 201, fixed.json()
    assert "Idempotent-Replayed" not in fixed


def test_a_failure_while_keeping_the_outcome_takes_the_report_and_its_files_back(
    api, people, c1, media, the_photo, monkeypatch
):
    """The outcome is kept on the key row in the report's own transaction; a failure there (or at the
    commit) must leave neither rows nor files."""
    save = IdempotentRequest.save

    def response_not_saved(record, *args, **kwargs):
        if "response" in kwargs.get("update_fields", ()):  # the key row itself is written first
            raise RuntimeError("database went away")
        return save(record, *args, **kwargs)

    monkeypatch.setattr(IdempotentRequest, "save", response_not_saved)
    login(api, people["community_worker"])
    with pytest.raises(RuntimeError):
        post_report(
            api, c1, [_photo(the_photo), photo(2, exif=exif_now())], key="fails-late", held_at=HELD_AT
        )
    assert not Submission.objects.exists()
    assert not Photo.objects.exists()
    assert not IdempotentRequest.objects.exists()
    assert stored_files(media) == []


def test_a_response_lost_after_the_commit_is_found_again_by_the_retry(
    api, people, c1, media, the_photo, monkeypatch
):
    """The report is committed before its answer is written; if writing the answer fails (the
    connection drops, the process dies), the retry with the same key gets that report, not a second."""

    def broken(*args, **kwargs):
        raise RuntimeError("connection reset")

    login(api, people["community_worker"])
    with monkeypatch.context() as patched:
        patched.setattr("tasks.apis.SubmissionOutputSerializer", broken)
        with pytest.raises(RuntimeError):
            post_report(api, c1, [_photo(the_photo)], key="lost-answer", held_at=HELD_AT)
    assert Submission.objects.filter(assignment=c1).count() == 1
    retry = post_report(api, c1, [_photo(the_photo)], key="lost-answer", held_at=HELD_AT)
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == Submission.objects.get(assignment=c1).pk
    assert Submission.objects.filter(assignment=c1).count() == 1
    assert Photo.objects.count() == 1


def test_a_refusal_raised_by_the_work_takes_its_files_back(people, media):
    """`run_once` keeps only successes: a refusal rolls back the key, and the files go too."""
    from common.exceptions import Conflict
    from evidence import storage

    def perform():
        storage.save("evidence/originals/2026/01/01/" + "0" * 32 + ".jpg", b"bytes")
        raise Conflict("no")

    with pytest.raises(Conflict):
        idempotency.run_once(
            user=people["community_worker"],
            key="refused",
            endpoint="POST /api/v1/anything/",
            fingerprint=lambda: "digest",
            perform=perform,
        )
    assert not IdempotentRequest.objects.exists()
    assert stored_files(media) == []


def test_keys_belong_to_their_user(api, world, people, c1, the_photo):
    from orgs.models import Role
    from tests.factories import make_member

    key = "shared-key"
    login(api, people["community_worker"])
    assert post_report(api, c1, [_photo(the_photo)], key=key, held_at=HELD_AT).status_code == 201
    colleague = make_member(world["C2"], Role.WORKER)
    task = c1.task
    c2 = assignment_of(task, world["C2"])
    login(api, colleague)
    response = post_report(api, c2, [photo(3, exif=exif_now())], key=key, held_at=HELD_AT)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_a_malformed_key_is_400(api, people, c1, the_photo):
    login(api, people["community_worker"])
    response = post_report(api, c1, [_photo(the_photo)], key="x" * 101)
    assert response.status_code == 400
    assert "idempotency_key" in response.json()["errors"]
    assert not Submission.objects.exists()


def test_old_keys_are_forgotten(api, people, c1, the_photo):
    login(api, people["community_worker"])
    assert post_report(api, c1, [_photo(the_photo)], key="old", held_at=HELD_AT).status_code == 201
    assert idempotency.prune(before=timezone.now() - timezone.timedelta(hours=1)) == 0
    assert idempotency.prune(before=timezone.now() + timezone.timedelta(seconds=1)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_is_still_running(api, world, people, media, monkeypatch, settings):
    """The first request holds the key (uncommitted) in another connection: the retry waits, and
    gets 409 "in progress" after the lock timeout; once the first commits, the retry replays it."""
    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    c1 = assignment_of(task, world["C1"])
    user = people["community_worker"]
    # The report the first request made (committed with its key below).
    other_task = published_task(people["district_officer"], world["A"], [{"unit": world["C1"].pk}])
    first_report = submit(assignment_of(other_task, world["C1"]), user)
    login(api, user)
    key = "in-flight"
    data = photo(1, exif=exif_now()).read()
    fields = report(held_at=HELD_AT)
    monkeypatch.setattr(idempotency, "LOCK_TIMEOUT_MS", 300)

    db = connection.settings_dict
    url = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
    if db.get("PASSWORD"):
        url += f" password={db['PASSWORD']}"
    request_path = f"/api/v1/assignments/{c1.pk}/submissions/"
    # What the first request will have stored: its fingerprint, so the replay matches.
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.http import QueryDict

    form = QueryDict(mutable=True)
    for name, value in fields.items():
        form[name] = str(value)
    digest = idempotency.fingerprint(
        method="POST", path=request_path, fields=form, uploads=[SimpleUploadedFile("IMG_0001.jpg", data)]
    )
    with psycopg.connect(url) as other:
        other.execute(
            "INSERT INTO common_idempotentrequest (user_id, key, endpoint, fingerprint, response, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now())",
            [user.pk, key, f"POST {request_path}", digest, f'{{"submission": {first_report.pk}}}'],
        )
        waiting = post_report(api, c1, [upload("IMG_0001.jpg", data)], key=key, held_at=HELD_AT)
        assert waiting.status_code == 409
        assert waiting.json()["errors"]["idempotency_key"] == "in_progress"
        assert not Photo.objects.exists() and stored_files(media) == []

        result = {}

        def retry():
            try:
                result["response"] = post_report(
                    api, c1, [upload("IMG_0001.jpg", data)], key=key, held_at=HELD_AT
                )
            finally:
                connection.close()  # this thread's own connection

        monkeypatch.setattr(idempotency, "LOCK_TIMEOUT_MS", 10_000)
        thread = threading.Thread(target=retry)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting on the first request's key
        other.commit()
        thread.join(10)
    replayed = result["response"]
    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == first_report.pk
    assert not Submission.objects.filter(assignment=c1).exists()
