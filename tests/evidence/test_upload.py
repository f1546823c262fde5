"""Photos in completion reports through the real endpoint: what is accepted, what is refused, and
that a refused request leaves neither rows nor files behind."""

import io

import pytest
from PIL import Image

from evidence.models import EvidenceFlag, Photo
from tasks.models import Assignment, Submission
from tests.conftest import login
from tests.evidence.helpers import (
    evidence_task,
    exif_now,
    multipart,
    photo,
    post_report,
    stored_files,
    upload,
)
from tests.evidence.photos import encode, heic, jpeg, png_bomb, real_looking_photo
from tests.tasks.helpers import assignment_of, published_task, report, review, submit

pytestmark = pytest.mark.django_db

TWO_PHOTOS = {"min_photos": 1, "max_photos": 2}


@pytest.fixture
def task(world, people):
    return evidence_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )


@pytest.fixture
def c1(task, world):
    return assignment_of(task, world["C1"])


@pytest.fixture
def worker(api, people):
    return login(api, people["community_worker"])


def _nothing_stored(media, assignment):
    assert not Photo.objects.exists()
    assert not Submission.objects.filter(assignment=assignment).exists()
    assert Assignment.objects.get(pk=assignment.pk).status == "pending"
    assert stored_files(media) == []


# Accepted -----------------------------------------------------------------------------------------


def test_a_report_with_photos_is_stored_and_answers_before_processing(worker, c1, media, enqueued):
    response = post_report(worker, c1, [photo(1, exif=exif_now()), photo(2, exif=exif_now())])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [p["position"] for p in body["photos"]] == [1, 2]
    assert {p["status"] for p in body["photos"]} == {"pending"}
    assert body["photos"][0]["name"] == "IMG_0001.jpg"
    assert body["photos"][0]["thumbnail_url"] is None  # not processed yet
    assert body["photos"][0]["has_gps"] is True
    assert "latitude" not in body["photos"][0]
    photos = list(Photo.objects.order_by("position"))
    assert [p.width for p in photos] == [800, 800]
    assert all(len(p.sha256) == 64 for p in photos)
    assert photos[0].latitude is not None and photos[0].taken_at is not None
    # Originals under random names in a day folder, never the client's name.
    files = stored_files(media)
    assert len(files) == 2
    assert all(name.startswith("evidence/originals/") and name.endswith(".jpg") for name in files)
    assert not any("IMG_" in name for name in files)
    assert Assignment.objects.get(pk=c1.pk).status == "submitted"


def test_processing_is_enqueued_only_after_commit(worker, c1, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_report(worker, c1, [photo(1, exif=exif_now())])
    assert response.status_code == 201
    assert enqueued == []  # nothing handed to Celery before the commit
    for callback in callbacks:
        callback()
    assert enqueued == [response.json()["photos"][0]["id"]]


@pytest.mark.parametrize(
    ("name", "make", "stored_as"),
    [
        ("site.png", lambda im: encode(im, "PNG"), ".png"),
        ("site.webp", lambda im: encode(im, "WEBP", quality=80), ".webp"),
        ("IMG_0042.HEIC", lambda im: heic(im, quality=60), ".heic"),
        # The declared type and extension are irrelevant: the bytes are a PNG.
        ("renamed.jpg", lambda im: encode(im, "PNG"), ".png"),
    ],
)
def test_png_webp_and_heic_are_accepted_by_their_content(worker, c1, media, name, make, stored_as):
    data = make(real_looking_photo(7, (400, 300)))
    response = post_report(worker, c1, [upload(name, data, "application/octet-stream")])
    assert response.status_code == 201, response.json()
    (stored,) = stored_files(media)
    assert stored.endswith(stored_as)


def test_min_and_max_photo_counts(worker, c1, media):
    none = post_report(worker, c1, [])
    assert none.status_code == 400
    assert [p["code"] for p in none.json()["errors"]["photos"]] == ["too_few"]
    three = post_report(worker, c1, [photo(1), photo(2), photo(3)], lang="en")
    assert three.status_code == 400
    assert [p["code"] for p in three.json()["errors"]["photos"]] == ["too_many"]
    assert "At most 2" in three.json()["errors"]["photos"][0]["message"]
    _nothing_stored(media, c1)


def test_the_global_photo_limit_applies_even_if_the_task_allows_more(worker, world, people, settings, media):
    settings.EVIDENCE_MAX_PHOTOS_PER_SUBMISSION = 2
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["C1"].pk}], evidence_requirements={}
    )
    c1 = assignment_of(task, world["C1"])  # max_photos 9 by default
    response = post_report(worker, c1, [photo(1), photo(2), photo(3)], lang="en")
    assert response.status_code == 400
    assert "At most 2" in response.json()["errors"]["photos"][0]["message"]
    _nothing_stored(media, c1)


def test_the_same_file_twice_in_one_report_is_refused(worker, c1, media):
    response = post_report(worker, c1, [photo(1, name="a.jpg"), photo(1, name="b.jpg")])
    assert response.status_code == 400
    (problem,) = response.json()["errors"]["photos"]
    assert problem == {
        "file": "b.jpg",
        "index": 1,
        "code": "repeated",
        "message": problem["message"],
    }
    assert "a.jpg" in problem["message"]
    _nothing_stored(media, c1)


def test_field_errors_and_file_errors_come_in_one_400(worker, c1, media):
    response = post_report(
        worker,
        c1,
        [upload("notes.jpg", b"these are my notes, not a photo")],
        summary="",
        participants="lots",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"summary", "participants", "photos"}
    assert errors["photos"][0]["file"] == "notes.jpg"
    assert errors["photos"][0]["code"] == "not_an_image"
    _nothing_stored(media, c1)


def test_an_unexpected_file_field_is_named(worker, c1, media):
    body = {**report(), "photos": [photo(1)], "scan": upload("scan.jpg", b"x")}
    response = worker.post(f"/api/v1/assignments/{c1.pk}/submissions/", body, format="multipart")
    assert response.status_code == 400
    assert "scan" in response.json()["errors"]
    _nothing_stored(media, c1)


def test_a_delegated_report_needs_no_photos_of_its_own(api, world, people, media):
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S1"].pk}], evidence_requirements=TWO_PHOTOS
    )
    s1 = assignment_of(task, world["S1"])
    login(api, people["street_officer"])
    due = task.due_at.isoformat()
    delegated = api.post(
        f"/api/v1/assignments/{s1.pk}/delegate/",
        {"targets": [{"unit": world["C1"].pk}], "due_at": due},
        format="json",
    )
    assert delegated.status_code == 200, delegated.json()
    c1 = assignment_of(task, world["C1"])
    login(api, people["community_worker"])
    assert post_report(api, c1, [photo(1, exif=exif_now())]).status_code == 201
    review(c1, people["street_officer"])
    login(api, people["street_officer"])
    response = api.post(
        f"/api/v1/assignments/{s1.pk}/submissions/", {"summary": "各社区均已完成。"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["photos"] == []


# The bad-file corpus --------------------------------------------------------------------------------


def _truncated_jpeg() -> bytes:
    data = jpeg(real_looking_photo(3, (800, 600)))
    return data[: len(data) // 2]


BAD_FILES = {
    "text named .jpg": ("holiday.jpg", b"Just some text pretending to be a photo.\n" * 20, "not_an_image"),
    "HTML behind a PNG signature": (
        "page.png",
        b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>",
        "not_an_image",
    ),
    "truncated JPEG": ("cut.jpg", _truncated_jpeg(), "truncated"),
    "empty file": ("empty.jpg", b"", "empty"),
    "SVG with script": (
        "logo.svg",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "unsupported_format",
    ),
    "PNG decompression bomb": ("bomb.png", png_bomb(20_000, 20_000), "too_many_pixels"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_each_bad_file_is_a_400_naming_the_file_and_nothing_is_stored(worker, c1, media, case):
    name, data, code = BAD_FILES[case]
    response = post_report(worker, c1, [photo(1), upload(name, data)])
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    (problem,) = body["errors"]["photos"]
    assert problem["file"] == name
    assert problem["index"] == 1
    assert problem["code"] == code
    assert name in problem["message"]
    assert name in body["message"]
    _nothing_stored(media, c1)


def test_the_whole_corpus_in_one_request_lists_every_file(worker, world, people, media):
    # A task that takes that many photos: beyond its maximum, no file would be looked at.
    task = evidence_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["C1"].pk}],
        evidence_requirements={"max_photos": len(BAD_FILES)},
    )
    c1 = assignment_of(task, world["C1"])
    files = [upload(name, data) for name, data, _code in BAD_FILES.values()]
    response = post_report(worker, c1, files)
    assert response.status_code == 400
    problems = response.json()["errors"]["photos"]
    assert [p["code"] for p in problems if "file" in p] == [code for _n, _d, code in BAD_FILES.values()]
    _nothing_stored(media, c1)


def test_a_path_traversal_name_never_reaches_the_file_system(worker, c1, media, tmp_path):
    escape = tmp_path / "escaped.jpg"
    traversal = "../" * 12 + str(escape).lstrip("/")
    body, content_type = multipart(
        {key: str(value) for key, value in report().items()},
        [("photos", traversal, b"#!/bin/sh\necho owned\n", "image/jpeg")],
    )
    response = worker.post(f"/api/v1/assignments/{c1.pk}/submissions/", body, content_type=content_type)
    assert response.status_code == 400
    (problem,) = response.json()["errors"]["photos"]
    assert problem["file"] == "escaped.jpg"  # only the base name is ever shown
    assert problem["code"] == "not_an_image"
    assert not escape.exists()
    _nothing_stored(media, c1)


def test_a_real_photo_with_a_path_traversal_name_is_stored_under_a_random_name(worker, c1, media, tmp_path):
    escape = tmp_path / "escaped.jpg"
    traversal = "..\\..\\" + "../" * 12 + str(escape).lstrip("/")
    data = jpeg(real_looking_photo(4, (400, 300)), exif=exif_now())
    body, content_type = multipart(
        {key: str(value) for key, value in report().items()}, [("photos", traversal, data, "image/jpeg")]
    )
    response = worker.post(f"/api/v1/assignments/{c1.pk}/submissions/", body, content_type=content_type)
    assert response.status_code == 201, response.json()
    assert response.json()["photos"][0]["name"] == "escaped.jpg"
    assert not escape.exists()
    (stored,) = stored_files(media)
    assert stored.startswith("evidence/originals/") and "escaped" not in stored


def test_a_photo_over_the_size_limit_is_413_naming_it(worker, c1, media, settings):
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100_000
    big = photo(5, quality=95)
    assert big.size > 100_000
    response = post_report(worker, c1, [big])
    assert response.status_code == 413
    (problem,) = response.json()["errors"]["photos"]
    assert problem["code"] == "too_large"
    assert "IMG_0005.jpg" in problem["message"]
    _nothing_stored(media, c1)


def test_an_oversized_body_is_413_before_it_is_read(worker, c1, media, settings, monkeypatch):
    settings.EVIDENCE_MAX_REQUEST_BYTES = 50_000

    def must_not_parse(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", must_not_parse)
    response = post_report(worker, c1, [photo(1)])
    assert response.status_code == 413
    assert "MB" in response.json()["message"]
    _nothing_stored(media, c1)


def test_more_files_than_the_parser_allows_is_a_clear_400(worker, c1, media, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    response = post_report(worker, c1, [photo(1), photo(2), photo(3)])
    assert response.status_code == 400
    assert response.json()["errors"]["photos"][0]["code"] == "too_many"
    _nothing_stored(media, c1)


def test_pixel_limit_is_a_setting(worker, c1, media, settings):
    settings.EVIDENCE_MAX_PHOTO_PIXELS = 100_000  # 800 x 600 is 480,000
    response = post_report(worker, c1, [photo(1)])
    assert response.status_code == 400
    assert response.json()["errors"]["photos"][0]["code"] == "too_many_pixels"
    _nothing_stored(media, c1)


# Nothing is decoded for a request that is refused anyway --------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """How many files were opened as images; `decodes.forbid()` makes opening one fail the test."""
    from evidence import imaging

    opened = []
    original = imaging._open_checked

    def counting(fileobj, **kwargs):
        if opened is None:
            raise AssertionError("a file was decoded")
        opened.append(kwargs["display"])
        return original(fileobj, **kwargs)

    monkeypatch.setattr(imaging, "_open_checked", counting)

    class Decodes:
        @property
        def files(self):
            return opened

        def forbid(self):
            nonlocal opened
            opened = None

    return Decodes()


def test_a_viewer_posting_photos_is_403_before_any_photo_is_decoded(
    api, people, c1, media, decodes, monkeypatch
):
    def must_not_parse(*args, **kwargs):
        raise AssertionError("the body was parsed")

    decodes.forbid()
    login(api, people["street_viewer"])  # sees 建西社区's assignment, may not report for it
    data = photo(1).read()
    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", must_not_parse)
    response = post_report(api, c1, [upload(f"copy{i}.jpg", data) for i in range(6)], lang="en")
    assert response.status_code == 403
    assert (
        response.json()["message"] == "Only a worker or officer of 建西社区 can do this for its assignment."
    )
    _nothing_stored(media, c1)


def test_too_many_photos_are_refused_without_decoding_any(worker, c1, media, decodes):
    decodes.forbid()
    response = post_report(worker, c1, [photo(1), photo(2), photo(3)])  # the task allows 2
    assert response.status_code == 400
    assert [p["code"] for p in response.json()["errors"]["photos"]] == ["too_many"]
    _nothing_stored(media, c1)


def test_more_than_the_global_limit_is_refused_without_decoding_any(
    worker, world, people, settings, media, decodes
):
    settings.EVIDENCE_MAX_PHOTOS_PER_SUBMISSION = 2
    task = evidence_task(
        people["district_officer"], world["A"], [{"unit": world["C1"].pk}], evidence_requirements={}
    )
    c1 = assignment_of(task, world["C1"])
    decodes.forbid()
    response = post_report(worker, c1, [photo(1), photo(2), photo(3)], lang="en")
    assert response.status_code == 400
    (problem,) = response.json()["errors"]["photos"]
    assert problem["code"] == "too_many"
    assert "At most 2" in problem["message"]
    _nothing_stored(media, c1)


def test_copies_of_one_file_are_decoded_once(worker, world, people, media, decodes):
    task = evidence_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["C1"].pk}],
        evidence_requirements={"max_photos": 5},
    )
    c1 = assignment_of(task, world["C1"])
    data = photo(1).read()
    response = post_report(worker, c1, [upload(f"copy{i}.jpg", data) for i in range(5)])
    assert response.status_code == 400
    assert [(p["index"], p["code"]) for p in response.json()["errors"]["photos"]] == [
        (1, "repeated"),
        (2, "repeated"),
        (3, "repeated"),
        (4, "repeated"),
    ]
    assert decodes.files == ["copy0.jpg"]
    _nothing_stored(media, c1)


# States and scope -----------------------------------------------------------------------------------


def test_out_of_scope_assignment_is_404_and_stores_nothing(api, world, people, task, media):
    c1 = assignment_of(task, world["C1"])
    login(api, people["other_admin"])
    response = post_report(api, c1, [photo(1)])
    assert response.status_code == 404
    assert "建西社区" not in response.content.decode()
    _nothing_stored(media, c1)


@pytest.mark.parametrize("ending", ["cancel", "close"])
def test_a_cancelled_or_closed_task_is_409(api, people, c1, media, ending):
    login(api, people["district_officer"])
    assert api.post(f"/api/v1/tasks/{c1.task_id}/{ending}/").status_code == 200
    login(api, people["community_worker"])
    response = post_report(api, c1, [photo(1)])
    assert response.status_code == 409
    assert response.json()["errors"]["status"] in ("cancelled", "closed")
    assert not Photo.objects.exists()
    assert stored_files(media) == []


def test_an_approved_assignment_is_409(api, people, c1, media):
    login(api, people["community_worker"])
    assert post_report(api, c1, [photo(1, exif=exif_now())]).status_code == 201
    review(c1, people["street_officer"])
    before = stored_files(media)
    response = post_report(api, c1, [photo(2)])
    assert response.status_code == 409
    assert response.json()["errors"]["status"] == "approved"
    assert Photo.objects.count() == 1
    assert stored_files(media) == before


def test_a_failure_after_the_files_were_written_takes_them_back(worker, c1, media, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("evidence.services.submission_flag", broken)
    with pytest.raises(RuntimeError):
        post_report(worker, c1, [photo(1), photo(2)])
    _nothing_stored(media, c1)


def test_resubmitting_after_a_return_keeps_the_history(api, people, c1, media):
    login(api, people["community_worker"])
    first = post_report(api, c1, [photo(1, exif=exif_now())])
    review(c1, people["street_officer"], decision="return", comment="照片太少")
    second = post_report(api, c1, [photo(1, exif=exif_now()), photo(2, exif=exif_now())])
    assert second.status_code == 201
    history = api.get(f"/api/v1/assignments/{c1.pk}/submissions/").json()
    assert [row["id"] for row in history] == [second.json()["id"], first.json()["id"]]
    assert [len(row["photos"]) for row in history] == [2, 1]
    assert history[1]["decision"] == "return" and history[1]["review_comment"] == "照片太少"


def test_ended_at_is_checked(worker, c1, media):
    held = "2026-11-20T09:00:00+08:00"
    response = post_report(worker, c1, [photo(1)], held_at=held, ended_at="2026-11-20T08:00:00+08:00")
    assert response.status_code == 400
    assert "ended_at" in response.json()["errors"]
    _nothing_stored(media, c1)


def test_submitting_through_the_service_without_photos_still_works_for_photo_free_tasks(world, people):
    task = evidence_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["C1"].pk}],
        evidence_requirements={"min_photos": 0},
    )
    submission = submit(assignment_of(task, world["C1"]), people["community_worker"])
    assert submission.photos.count() == 0
    assert not EvidenceFlag.objects.filter(submission=submission).exists()


def test_heic_is_decoded_not_trusted(worker, c1, media):
    # An iPhone photo with EXIF orientation 6 (rotated): stored as HEIC, dimensions as displayed.
    from tests.evidence.photos import make_exif

    im = real_looking_photo(8, (400, 300))
    data = heic(im, quality=60, exif=make_exif(orientation=6))
    response = post_report(worker, c1, [upload("IMG_0001.HEIC", data, "image/heic")])
    assert response.status_code == 201, response.json()
    body = response.json()["photos"][0]
    assert (body["format"], body["width"], body["height"]) == ("HEIF", 300, 400)


def test_query_count_of_a_submission_does_not_grow_with_photos(
    worker, world, people, django_assert_max_num_queries, media
):
    counts = []
    for n in (1, 4):
        task = published_task(
            people["district_officer"],
            world["A"],
            [{"unit": world["C1"].pk}],
            evidence_requirements={"min_photos": 1, "max_photos": 9},
        )
        c1 = assignment_of(task, world["C1"])
        files = [photo(10 + i, exif=exif_now()) for i in range(n)]
        with django_assert_max_num_queries(40) as captured:
            assert post_report(worker, c1, files).status_code == 201
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def test_decoded_copy_of_an_image_is_needed_not_its_extension(worker, c1, media):
    # A GIF renamed to .jpg is refused as the GIF it is.
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "red").save(out, format="GIF")
    response = post_report(worker, c1, [upload("photo.jpg", out.getvalue())])
    assert response.status_code == 400
    problem = response.json()["errors"]["photos"][0]
    assert problem["code"] == "unsupported_format"
    assert "GIF" in problem["message"]


# Impossible EXIF times ------------------------------------------------------------------------------


def test_exif_times_outside_what_the_database_can_return_are_stored_as_absent(api, world, people, media):
    """In UTC these fall in year 10000 and year 0: PostgreSQL would store them, but its driver cannot
    read them back, so the report, the assignment, its parent and the photo job would all fail."""
    from tasks import services
    from tests.evidence.helpers import process_pending
    from tests.evidence.photos import make_exif

    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    s1 = assignment_of(task, world["S1"])
    services.assignment_delegate(
        actor=people["street_officer"], assignment=s1, targets=[{"unit": world["C1"].pk}], due_at=task.due_at
    )
    c1 = assignment_of(task, world["C1"])
    login(api, people["community_worker"])
    response = post_report(
        api,
        c1,
        [
            photo(1, exif=make_exif(taken_at="9999:12:31 23:59:59", offset="-12:00")),
            photo(2, exif=make_exif(taken_at="0001:01:01 00:00:00", offset="+14:00")),
        ],
    )
    assert response.status_code == 201, response.json()
    assert [(p["taken_at"], p["has_exif"]) for p in response.json()["photos"]] == [(None, True), (None, True)]
    assert [p.status for p in process_pending()] == ["ready", "ready"]

    login(api, people["street_officer"])
    assert api.get(f"/api/v1/assignments/{c1.pk}/").status_code == 200
    assert api.get(f"/api/v1/assignments/{c1.pk}/submissions/").status_code == 200
    parent = api.get(f"/api/v1/assignments/{s1.pk}/")
    assert parent.status_code == 200
    (child,) = parent.json()["children"]
    assert [p["taken_at"] for p in child["current_submission"]["photos"]] == [None, None]
