"""Authenticity flags: each kind from crafted photos and reports, shown on the submission, never a
rejection, never raised twice, and never naming what the reader may not see."""

from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import ImageOps

from evidence.models import EvidenceFlag, Photo
from evidence.services import photo_process
from orgs import services as org_services
from orgs.models import Role
from tests.conftest import login
from tests.evidence.helpers import (
    FAR_FROM_UNIT,
    evidence_task,
    exif_now,
    photo,
    post_report,
    process_pending,
    scene,
    upload,
)
from tests.evidence.photos import jpeg, make_exif
from tests.factories import make_member, platform_admin
from tests.tasks.helpers import assignment_of, review

pytestmark = pytest.mark.django_db

Kind = EvidenceFlag.Kind


@pytest.fixture
def task(world, people):
    return evidence_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "community"}]
    )


@pytest.fixture
def c3_worker(world):
    return make_member(world["C3"], Role.WORKER, "c3_worker")


def _submit(api, user, assignment, photos, **fields):
    login(api, user)
    response = post_report(api, assignment, photos, **fields)
    assert response.status_code == 201, response.json()
    return response.json()


def _kinds(photo_id: int) -> set[str]:
    return set(EvidenceFlag.objects.filter(photo_id=photo_id).values_list("kind", flat=True))


def _history(api, user, assignment, lang="en"):
    login(api, user)
    response = api.get(f"/api/v1/assignments/{assignment.pk}/submissions/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.json()


# Duplicates -----------------------------------------------------------------------------------------


def test_the_same_photo_from_another_community_of_the_district_is_flagged_naming_the_first(
    api, world, people, task, c3_worker
):
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])
    original = photo(1, exif=exif_now())
    same_file = upload("IMG_0001.jpg", original.read())
    first = _submit(api, people["community_worker"], c1, [original])
    second = _submit(api, c3_worker, c3, [same_file])
    process_pending()

    assert Kind.DUPLICATE not in _kinds(first["photos"][0]["id"])
    flag = EvidenceFlag.objects.get(photo_id=second["photos"][0]["id"], kind=Kind.DUPLICATE)
    assert flag.data["submission"] == first["id"]
    assert Kind.NEAR_DUPLICATE not in _kinds(second["photos"][0]["id"])  # one flag for one finding

    # The district sees which report it was ...
    shown = _history(api, people["district_officer"], c3)[0]["photos"][0]["flags"]
    duplicate = next(f for f in shown if f["kind"] == "duplicate")
    assert "建西社区" in duplicate["message"]
    assert task.title in duplicate["message"]
    assert f"#{first['id']}" in duplicate["message"]
    assert duplicate["details"]["submission"] == first["id"]
    assert duplicate["details"]["unit"]["name"] == "建西社区"

    # ... the other street's officer reviews 电新街社区 but may not see 建西社区: told, not named.
    s2_officer = make_member(world["S2"], Role.OFFICER)
    hidden = _history(api, s2_officer, c3)[0]["photos"][0]["flags"]
    duplicate = next(f for f in hidden if f["kind"] == "duplicate")
    assert "建西社区" not in duplicate["message"]
    assert "another unit of the district" in duplicate["message"]
    assert "submission" not in duplicate["details"] and "unit" not in duplicate["details"]


def test_the_same_photo_in_another_district_is_not_flagged(api, world, people, task):
    other = evidence_task(people["other_admin"], world["B"], [{"unit": world["D1"].pk}])
    d1_worker = make_member(world["D1"], Role.WORKER)
    original = photo(1, exif=exif_now())
    same_file = upload("IMG_0001.jpg", original.read())
    _submit(api, people["community_worker"], assignment_of(task, world["C1"]), [original])
    theirs = _submit(api, d1_worker, assignment_of(other, world["D1"]), [same_file])
    process_pending()
    assert _kinds(theirs["photos"][0]["id"]) == set()


def test_a_resized_recompressed_copy_is_a_near_duplicate(api, world, people, task, c3_worker):
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])
    first = _submit(api, people["community_worker"], c1, [photo(2, exif=exif_now())])
    forwarded = jpeg(ImageOps.contain(scene(2), (640, 480)), quality=70)  # WeChat-like forward
    second = _submit(api, c3_worker, c3, [upload("wx_camera_1700000000.jpg", forwarded)])
    process_pending()
    flag = EvidenceFlag.objects.get(photo_id=second["photos"][0]["id"], kind=Kind.NEAR_DUPLICATE)
    assert flag.data["photo"] == first["photos"][0]["id"]
    assert 0 <= flag.data["distance"] <= 7
    assert Kind.DUPLICATE not in _kinds(second["photos"][0]["id"])


def test_different_photos_are_not_flagged_as_duplicates(api, world, people, task, c3_worker):
    _submit(api, people["community_worker"], assignment_of(task, world["C1"]), [photo(3, exif=exif_now())])
    second = _submit(api, c3_worker, assignment_of(task, world["C3"]), [photo(4, exif=exif_now())])
    process_pending()
    assert _kinds(second["photos"][0]["id"]) == set()


def test_processing_order_does_not_matter(api, world, people, task, c3_worker):
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])
    first = _submit(api, people["community_worker"], c1, [photo(5, exif=exif_now())])
    forwarded = jpeg(ImageOps.contain(scene(5), (700, 525)), quality=75)
    second = _submit(api, c3_worker, c3, [upload("forwarded.jpg", forwarded)])
    later_id, earlier_id = second["photos"][0]["id"], first["photos"][0]["id"]
    photo_process(photo_id=later_id)  # the later upload is processed first: nothing to compare yet
    assert _kinds(later_id) == {Kind.NO_EXIF}  # forwarded pictures lose their EXIF
    photo_process(photo_id=earlier_id)  # the earlier one finds it, and flags the later one
    assert _kinds(earlier_id) == set()
    flag = EvidenceFlag.objects.get(photo_id=later_id, kind=Kind.NEAR_DUPLICATE)
    assert flag.data["photo"] == earlier_id


def test_sending_a_returned_report_again_with_its_photos_is_not_a_duplicate(api, world, people, task):
    c1 = assignment_of(task, world["C1"])
    _submit(api, people["community_worker"], c1, [photo(6, exif=exif_now())])
    review(c1, people["street_officer"], decision="return", comment="请补充活动照片")
    again = _submit(
        api, people["community_worker"], c1, [photo(6, exif=exif_now()), photo(7, exif=exif_now())]
    )
    process_pending()
    assert all(_kinds(p["id"]) == set() for p in again["photos"])


def _delegated_to_c1_and_c2(api, world, people):
    """A task for S1, which delegates it to its communities C1 and C2."""
    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    s1 = assignment_of(task, world["S1"])
    login(api, people["street_officer"])
    response = api.post(
        f"/api/v1/assignments/{s1.pk}/delegate/",
        {"targets": [{"unit": world["C1"].pk}, {"unit": world["C2"].pk}], "due_at": task.due_at.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return task, s1


@pytest.mark.parametrize("first_processed", ["community", "street"])
def test_a_street_reporting_up_with_its_communities_photos_is_not_a_duplicate(
    api, world, people, first_processed
):
    """The street's upward report reuses the photos 建西社区 took for this very task: the same work
    passed up the delegation chain, in whichever order the photos are processed."""
    task, s1 = _delegated_to_c1_and_c2(api, world, people)
    c1, c2 = assignment_of(task, world["C1"]), assignment_of(task, world["C2"])
    c2_worker = make_member(world["C2"], Role.WORKER)
    original = photo(1, exif=exif_now())
    data = original.read()
    forwarded = jpeg(ImageOps.contain(scene(1), (640, 480)), quality=70)
    community = _submit(api, people["community_worker"], c1, [upload("IMG_0001.jpg", data)])
    _submit(api, c2_worker, c2, [photo(2, exif=exif_now())])
    review(c1, people["street_officer"])
    review(c2, people["street_officer"])
    street = _submit(
        api,
        people["street_officer"],
        s1,
        [upload("IMG_0001.jpg", data), upload("forwarded.jpg", forwarded)],
        summary="全街道已完成。",
    )
    community_id = community["photos"][0]["id"]
    street_ids = [p["id"] for p in street["photos"]]
    order = [community_id, *street_ids] if first_processed == "community" else [*street_ids, community_id]
    for photo_id in order:
        photo_process(photo_id=photo_id)

    assert not EvidenceFlag.objects.filter(kind__in=[Kind.DUPLICATE, Kind.NEAR_DUPLICATE]).exists()
    assert _kinds(community_id) == set()


def test_the_delegation_chain_does_not_hide_other_units(api, world, people, c3_worker):
    """A community outside the chain (C3, below the other street) sending the same photo is still flagged."""
    task, s1 = _delegated_to_c1_and_c2(api, world, people)
    c1, c2 = assignment_of(task, world["C1"]), assignment_of(task, world["C2"])
    other = evidence_task(people["district_officer"], world["A"], [{"unit": world["C3"].pk}])
    data = photo(1, exif=exif_now()).read()
    community = _submit(api, people["community_worker"], c1, [upload("IMG_0001.jpg", data)])
    elsewhere = _submit(api, c3_worker, assignment_of(other, world["C3"]), [upload("IMG_0001.jpg", data)])
    sibling = _submit(api, make_member(world["C2"], Role.WORKER), c2, [upload("IMG_0001.jpg", data)])
    process_pending()

    assert _kinds(community["photos"][0]["id"]) == set()
    for later in (elsewhere, sibling):  # another task; a sibling of the chain, not part of it
        flag = EvidenceFlag.objects.get(photo_id=later["photos"][0]["id"], kind=Kind.DUPLICATE)
        assert flag.data["photo"] == community["photos"][0]["id"]


def test_flags_are_raised_once_even_if_the_job_runs_again(api, world, people, task, c3_worker):
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])
    _submit(api, people["community_worker"], c1, [photo(1)])
    second = _submit(api, c3_worker, c3, [photo(1)])
    process_pending()
    before = sorted(EvidenceFlag.objects.values_list("photo_id", "kind"))
    assert (second["photos"][0]["id"], Kind.DUPLICATE) in before
    Photo.objects.update(status=Photo.Status.PENDING)
    process_pending()
    assert sorted(EvidenceFlag.objects.values_list("photo_id", "kind")) == before


# EXIF time, place, presence ---------------------------------------------------------------------------


def test_a_photo_taken_before_the_task_was_published(api, world, people, task):
    old = make_exif(taken_at="2025:03:14 09:26:53")
    body = _submit(api, people["community_worker"], assignment_of(task, world["C1"]), [photo(1, exif=old)])
    process_pending()
    assert _kinds(body["photos"][0]["id"]) == {Kind.TAKEN_BEFORE_PUBLISHED}
    flag = _history(api, people["street_officer"], assignment_of(task, world["C1"]))[0]["photos"][0]["flags"][
        0
    ]
    assert "2025-03-14 09:26" in flag["message"]


def test_a_photo_taken_after_the_report_was_submitted(api, world, people, task):
    tomorrow = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y:%m:%d %H:%M:%S")
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(1, exif=make_exif(taken_at=tomorrow))],
    )
    process_pending()
    assert _kinds(body["photos"][0]["id"]) == {Kind.TAKEN_AFTER_SUBMITTED}


def test_a_photo_taken_far_from_the_unit(api, world, people, task):
    org_services.unit_update(
        actor=platform_admin(), unit=world["C1"], data={"latitude": "34.747000", "longitude": "113.625000"}
    )
    c1 = assignment_of(task, world["C1"])
    body = _submit(
        api,
        people["community_worker"],
        c1,
        [photo(1, exif=exif_now()), photo(2, exif=exif_now(**FAR_FROM_UNIT))],
    )
    process_pending()
    near, far = (p["id"] for p in body["photos"])
    assert _kinds(near) == set()
    assert _kinds(far) == {Kind.GPS_FAR}
    flag = EvidenceFlag.objects.get(photo_id=far)
    assert 8 < flag.data["distance_km"] < 10
    shown = _history(api, people["street_officer"], c1)[0]["photos"][1]
    assert shown["has_gps"] is True
    # The position itself is never shown (its digits, not "34.7", which a time's seconds can contain).
    stored = Photo.objects.get(pk=far)
    assert "latitude" not in shown and "longitude" not in shown
    assert str(stored.latitude) not in str(shown) and str(stored.longitude) not in str(shown)


def test_the_distance_threshold_is_a_setting(api, world, people, task, settings):
    settings.EVIDENCE_GPS_FAR_KM = 20
    org_services.unit_update(
        actor=platform_admin(), unit=world["C1"], data={"latitude": "34.747000", "longitude": "113.625000"}
    )
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(2, exif=exif_now(**FAR_FROM_UNIT))],
    )
    process_pending()
    assert _kinds(body["photos"][0]["id"]) == set()


def test_no_gps_check_without_registered_coordinates(api, world, people, task):
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(2, exif=exif_now(**FAR_FROM_UNIT))],
    )
    process_pending()
    assert _kinds(body["photos"][0]["id"]) == set()


def test_a_photo_without_exif(api, world, people, task):
    body = _submit(api, people["community_worker"], assignment_of(task, world["C1"]), [photo(1, exif=None)])
    process_pending()
    assert _kinds(body["photos"][0]["id"]) == {Kind.NO_EXIF}


# The report's own numbers ------------------------------------------------------------------------------


def _report_flags(body) -> dict[str, dict]:
    return {flag["kind"]: flag for flag in body["flags"]}


def test_volunteer_hours_beyond_the_activity_length(api, world, people, task):
    held = timezone.now() - timedelta(hours=5)
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(1, exif=exif_now())],
        held_at=held.isoformat(),
        ended_at=(held + timedelta(hours=3)).isoformat(),
        volunteers=15,
        volunteer_hours="45.5",
        lang="en",
    )
    flag = _report_flags(body)["volunteer_hours"]
    assert flag["photo"] is None
    assert flag["details"] == {
        "volunteer_hours": "45.5",
        "volunteers": 15,
        "activity_hours": "3.0",
        "most_hours": "45.0",
        "assumed_length": False,
    }
    assert "15 volunteers × 3.0 hours" in flag["message"]


def test_volunteer_hours_that_fit_are_not_flagged(api, world, people, task):
    held = timezone.now() - timedelta(hours=5)
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(1, exif=exif_now())],
        held_at=held.isoformat(),
        ended_at=(held + timedelta(hours=3)).isoformat(),
        volunteers=15,
        volunteer_hours="45",
    )
    assert body["flags"] == []


def test_without_an_end_time_eight_hours_per_volunteer_are_assumed_and_said(api, world, people, task):
    body = _submit(
        api,
        people["community_worker"],
        assignment_of(task, world["C1"]),
        [photo(1, exif=exif_now())],
        volunteers=2,
        volunteer_hours="20",
        lang="en",
    )
    flag = _report_flags(body)["volunteer_hours"]
    assert flag["details"]["assumed_length"] is True
    assert flag["details"]["most_hours"] == "16"
    assert "No end time was given" in flag["message"]


def test_an_activity_outside_the_task_window(api, world, people, task):
    before = task.starts_at - timedelta(hours=2)
    c1 = assignment_of(task, world["C1"])
    body = _submit(
        api, people["community_worker"], c1, [photo(1, exif=exif_now())], held_at=before.isoformat()
    )
    assert set(_report_flags(body)) == {"held_outside_window"}
    # Shown to the reviewer with the report, which stays submitted: a flag never rejects.
    shown = _history(api, people["street_officer"], c1)[0]
    assert [f["kind"] for f in shown["flags"]] == ["held_outside_window"]
    assert assignment_of(task, world["C1"]).status == "submitted"


# The reviewer's view -----------------------------------------------------------------------------------


def test_the_reviewer_sees_photos_and_flags_in_the_assignment_detail(api, world, people, task, c3_worker):
    c1 = assignment_of(task, world["C1"])
    _submit(api, people["community_worker"], c1, [photo(1, exif=None)])
    process_pending()
    login(api, people["street_officer"])
    detail = api.get(f"/api/v1/assignments/{c1.pk}/").json()
    (shown,) = detail["current_submission"]["photos"]
    assert shown["status"] == "ready"
    assert shown["thumbnail_url"] == f"/api/v1/photos/{shown['id']}/thumbnail/"
    assert [f["kind"] for f in shown["flags"]] == ["no_exif"]
    assert api.get(shown["preview_url"]).status_code == 200


def test_the_district_reviews_what_a_street_sends_up(api, world, people):
    task = evidence_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    s1 = assignment_of(task, world["S1"])
    login(api, people["street_officer"])
    response = api.post(
        f"/api/v1/assignments/{s1.pk}/delegate/",
        {"targets": [{"unit": world["C1"].pk}], "due_at": task.due_at.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    c1 = assignment_of(task, world["C1"])
    _submit(api, people["community_worker"], c1, [photo(1, exif=exif_now())])
    review(c1, people["street_officer"])
    # The street reports up with a photo of its own.
    street = _submit(api, people["street_officer"], s1, [photo(2, exif=None)], summary="全街道已完成。")
    process_pending()

    login(api, people["district_officer"])
    detail = api.get(f"/api/v1/assignments/{s1.pk}/").json()
    assert detail["current_submission"]["id"] == street["id"]
    assert [f["kind"] for f in detail["current_submission"]["photos"][0]["flags"]] == ["no_exif"]
    (child,) = detail["children"]
    assert child["current_submission"]["decision"] == "approve"
    assert child["current_submission"]["photos"][0]["status"] == "ready"
    approved = api.post(f"/api/v1/assignments/{s1.pk}/review/", {"decision": "approve"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["current_submission"]["photos"][0]["id"] == street["photos"][0]["id"]


def test_query_counts_do_not_grow_with_submissions_and_photos(
    api, world, people, task, c3_worker, django_assert_max_num_queries
):
    c1, c3 = assignment_of(task, world["C1"]), assignment_of(task, world["C3"])

    def history_queries() -> int:
        login(api, people["district_officer"])
        with django_assert_max_num_queries(6) as captured:
            assert api.get(f"/api/v1/assignments/{c3.pk}/submissions/").status_code == 200
        with django_assert_max_num_queries(8) as detail:
            assert api.get(f"/api/v1/assignments/{c3.pk}/").status_code == 200
        return len(captured.captured_queries), len(detail.captured_queries)

    _submit(api, people["community_worker"], c1, [photo(1)])
    _submit(api, c3_worker, c3, [photo(1)])
    process_pending()
    small = history_queries()

    for round_ in range(3):  # returned and sent again, each time with two photos (one reused)
        review(c3, people["district_officer"], decision="return", comment=f"第{round_}次退回")
        _submit(api, c3_worker, c3, [photo(1), photo(20 + round_)])
    process_pending()
    assert EvidenceFlag.objects.filter(submission__assignment=c3).count() >= 8
    assert history_queries() == small
