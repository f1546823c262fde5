"""The workflow forms: a button exactly when `actions` lists it, the same services as the API, refusals
in place with the service's message and the form kept."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tasks.models import Assignment, PracticeTask, Submission, TaskEvent
from tests.evidence.photos import heic, real_looking_photo
from tests.web.conftest import browser_client
from tests.web.helpers import assignment_of, report
from tests.web.test_pages import text
from web.demo_photos import activity_photo

pytestmark = pytest.mark.django_db
Status = Assignment.Status


def jpeg_upload(name: str = "IMG_1.jpg", seed: int = 7) -> SimpleUploadedFile:
    taken = timezone.now() - timedelta(hours=1)
    return SimpleUploadedFile(name, activity_photo(seed=seed, banner="宣讲", taken_at=taken), "image/jpeg")


def heic_upload(name: str = "IMG_2.HEIC") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, heic(real_looking_photo(11, size=(800, 600))), "image/heic")


def report_fields(**extra) -> dict:
    return {
        "summary": "组织居民开展宣讲，讲解垃圾分类。",
        "held_at": f"{timezone.localtime() - timedelta(hours=1):%Y-%m-%dT%H:%M}",
        "participants": "30",
        "location_text": "建西社区党群服务中心",
        **extra,
    }


def buttons(response) -> list[str]:
    return re.findall(r'<(?:button|a) [^>]*class="btn[^"]*"[^>]*>([^<(]+)', response.content.decode())


# 签收 ------------------------------------------------------------------------------------------------


def test_accept_appears_when_listed_and_a_second_accept_is_refused_in_place(site):
    pending = assignment_of(site["tasks"]["campaign"], site["community_worker"].memberships.first().unit)
    worker = browser_client(site["community_worker"])
    page = worker.get(f"/assignments/{pending.pk}/")
    assert "签收" in buttons(page)

    response = worker.post(f"/assignments/{pending.pk}/accept/", {"version": pending.version})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.ACCEPTED
    follow = worker.get(response["Location"])
    assert "已签收" in text(follow)
    assert "签收" not in buttons(follow)

    # The same button pressed again from a stale page: the service's refusal beside the buttons.
    again = worker.post(f"/assignments/{pending.pk}/accept/", {"version": 0}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    assert 'role="alert"' in again.content.decode()
    assert "提交" in text(again)  # the buttons the assignment has now, with the message


def test_the_viewer_sees_the_same_pages_without_a_single_button(site):
    viewer = browser_client(site["district_viewer"])
    lecture = site["tasks"]["lecture"]
    for url in (
        f"/tasks/{lecture.pk}/",
        f"/assignments/{site['returned'].pk}/",
        "/overview/",
    ):
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert not re.search(
            r"签收|下派|上报|审核|催办|发布|撤销|结束|新建任务", " ".join(buttons(response))
        ), url
    assert viewer.post(f"/assignments/{site['returned'].pk}/urge/").status_code == 403


# 提交 ------------------------------------------------------------------------------------------------


def test_the_report_form_sends_photos_once_per_key_with_heic_included(site):
    returned = site["returned"]
    worker = browser_client(site["community_worker"])
    form = worker.get(f"/assignments/{returned.pk}/report/")
    assert form.status_code == 200
    page = text(form)
    assert "照片看不出宣讲内容，请补充横幅照片。" in page  # the reviewer's comment on top
    assert "至少 1 张、最多 3 张照片" in page
    key = re.search(r'data-key="([^"]+)"', form.content.decode()).group(1)
    assert re.search(r'name="location_text"[^>]*value="[^"]+"', form.content.decode())  # the station

    before = Submission.objects.filter(assignment=returned).count()
    photos = [jpeg_upload(), heic_upload()]
    fields = report_fields()
    for _attempt in range(2):  # a retry after a dropped connection: the same key and the same body
        for photo in photos:
            photo.seek(0)
        response = worker.post(
            f"/assignments/{returned.pk}/report/",
            {**fields, "photos": photos},
            HTTP_IDEMPOTENCY_KEY=key,
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["redirect"] == f"/assignments/{returned.pk}/"
    assert Submission.objects.filter(assignment=returned).count() == before + 1
    submission = Submission.objects.filter(assignment=returned).latest("created_at")
    assert sorted(p.format for p in submission.photos.all()) == ["HEIF", "JPEG"] or {
        p.original_name for p in submission.photos.all()
    } == {"IMG_1.jpg", "IMG_2.HEIC"}
    returned.refresh_from_db()
    assert returned.status == Status.SUBMITTED


def test_each_refused_photo_is_named_and_the_rest_of_the_report_kept(site):
    returned = site["returned"]
    worker = browser_client(site["community_worker"])
    broken = SimpleUploadedFile("坏照片.jpg", b"not a photo at all", "image/jpeg")
    response = worker.post(
        f"/assignments/{returned.pk}/report/",
        {**report_fields(), "photos": [jpeg_upload(), broken]},
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    refused = body["errors"]["photos"]
    assert [(p["index"], p["file"]) for p in refused] == [(1, "坏照片.jpg")]
    assert refused[0]["message"]

    # Without script: the whole page again, the message on top and what was typed still there.
    page = worker.post(
        f"/assignments/{returned.pk}/report/",
        {**report_fields(summary="这是我写的小结"), "photos": [broken], "idempotency_key": str(uuid.uuid4())},
    )
    assert page.status_code == 400
    assert "这是我写的小结" in page.content.decode()
    assert "坏照片.jpg" in text(page)
    assert Submission.objects.filter(assignment=returned, decision="").count() == 0


def test_the_street_reports_upward_naming_the_communities_still_open(site, world):
    street = browser_client(site["street_officer"])
    volunteer = site["tasks"]["volunteer"]
    own = assignment_of(volunteer, world["S1"])
    page = street.get(f"/assignments/{own.pk}/")
    assert "上报" not in buttons(page)  # no community approved yet

    c1 = assignment_of(volunteer, world["C1"])
    report(c1, site["community_worker"], photos=1)
    from tests.web.helpers import review

    review(c1, site["street_officer"], "approve", rating=4)
    page = street.get(f"/assignments/{own.pk}/")
    assert "上报" in buttons(page)
    form = street.get(f"/assignments/{own.pk}/report/")
    assert "杜康社区" in text(form)  # still open, named before reporting
    assert 'name="photos"' not in form.content.decode()  # a summary only
    response = street.post(f"/assignments/{own.pk}/report/", {"summary": "两个社区开展敬老服务。"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.status == Status.SUBMITTED
    assert own.current_submission.missing_units[0]["name"] == "杜康社区"


# 下派 ------------------------------------------------------------------------------------------------


def test_delegate_to_chosen_communities_with_their_own_due_time_and_refusals_in_place(site, world):
    lecture_to_streets = site["tasks"]["volunteer"]
    from tests.web.helpers import task_for

    task = task_for(
        site["district_officer"],
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}],
        title="文明交通劝导",
    )
    own = assignment_of(task, world["S1"])
    street = browser_client(site["street_officer"])
    assert "下派" in buttons(street.get(f"/assignments/{own.pk}/"))
    form = street.get(f"/assignments/{own.pk}/delegate/")
    assert "建西社区" in text(form) and "杜康社区" in text(form)

    late = timezone.localtime(own.due_at) + timedelta(days=3)
    refused = street.post(
        f"/assignments/{own.pk}/delegate/",
        {"units": [world["C2"].pk], "due_date": f"{late:%Y-%m-%d}", "version": own.version},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.content.decode()
    assert re.search(rf'value="{world["C2"].pk}" checked', refused.content.decode())  # the choice kept

    due = timezone.localtime(own.due_at) - timedelta(days=1)
    response = street.post(
        f"/assignments/{own.pk}/delegate/",
        {"units": [world["C2"].pk], "due_date": f"{due:%Y-%m-%d}", "version": own.version},
    )
    assert response.status_code == 302
    child = Assignment.objects.get(task=task, unit=world["C2"])
    assert timezone.localtime(child.due_at).strftime("%H:%M:%S") == "23:59:59"  # a date alone: end of day
    assert child.parent_id == own.pk
    assert not Assignment.objects.filter(task=task, unit=world["C1"]).exists()
    assert lecture_to_streets  # the fixture's delegation is untouched


# 审核 and 催办 ----------------------------------------------------------------------------------------


def test_review_returns_only_with_a_comment_then_goes_to_the_next_report(site, world):
    street = browser_client(site["street_officer"])
    waiting = assignment_of(site["tasks"]["lecture"], world["C2"])
    start = street.get("/review/")
    assert start.status_code == 302 and f"/review/{waiting.pk}/" in start["Location"]
    desk = street.get(start["Location"])
    page = text(desk)
    assert "快捷键" in page and "通过" in page and "退回" in page
    assert re.search(r"/api/v1/photos/\d+/preview/", desk.content.decode())

    refused = street.post(start["Location"], {"decision": "return", "comment": "  "}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "退回" in text(refused) and 'role="alert"' in refused.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == Status.SUBMITTED

    response = street.post(start["Location"], {"decision": "return", "comment": "请补充签到表照片。"})
    assert response.status_code == 302
    assert response["Location"].startswith("/inbox/")  # the queue is empty now
    waiting.refresh_from_db()
    assert waiting.status == Status.RETURNED
    assert waiting.current_submission.review_comment == "请补充签到表照片。"


def test_approve_with_a_rating(site, world):
    street = browser_client(site["street_officer"])
    waiting = assignment_of(site["tasks"]["lecture"], world["C2"])
    response = street.post(f"/review/{waiting.pk}/", {"decision": "approve", "rating": "4"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.current_submission.rating) == (Status.APPROVED, 4)


def test_urge_one_and_all_overdue_communities(site, world):
    from tests.web.helpers import overdue_task

    task = overdue_task(
        site["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}], title="门前绿化"
    )
    # The street delegated while the due time was ahead; now both communities are overdue.
    import time_machine

    from tasks import services
    from tests.web.helpers import fresh

    with time_machine.travel(timezone.now() - timedelta(days=12), tick=False):
        services.assignment_delegate(
            actor=site["street_officer"],
            assignment=fresh(assignment_of(task, world["S1"])),
            targets=[{"unit": world["S1"].pk, "level": "community"}],
            due_at=task.due_at,
        )
    own = assignment_of(task, world["S1"])
    street = browser_client(site["street_officer"])
    page = street.get(f"/assignments/{own.pk}/")
    assert "催办全部 2 个逾期单位" in text(page)
    assert buttons(page).count("催办") == 2

    one = assignment_of(task, world["C1"])
    assert street.post(f"/assignments/{one.pk}/urge/").status_code == 302
    response = street.post(f"/assignments/{own.pk}/urge-overdue/")
    assert response.status_code == 302
    follow = text(street.get(response["Location"]))
    assert "已催办 2 个逾期单位" in follow
    assert one.events.filter(verb="urge").count() == 2


# The district: compose, count, publish, cancel, close --------------------------------------------


def test_compose_a_draft_count_its_receivers_publish_after_confirmation(site, world):
    district = browser_client(site["district_officer"])
    assert "新建任务" in buttons(district.get("/overview/"))
    form = district.get(f"/tasks/new/?unit={world['A'].pk}")
    assert form.status_code == 200 and "秦岭路街道" in text(form) and "建西社区" in text(form)

    count = district.get(
        "/tasks/targets/count/",
        {"issuer_unit": world["A"].pk, "scope": "level", "level": "community"},
    )
    assert "3" in text(count) and "个单位" in text(count)
    chosen = district.get(
        "/tasks/targets/count/",
        {"issuer_unit": world["A"].pk, "scope": "units", "units": [world["C1"].pk, world["S2"].pk]},
    )
    assert re.search(r"\b2\b", text(chosen))

    due = timezone.localtime() + timedelta(days=7)
    refused = district.post(
        "/tasks/new/",
        {
            "issuer_unit": world["A"].pk,
            "title": "",
            "due_date": f"{due:%Y-%m-%d}",
            "scope": "level",
            "level": "community",
        },
    )
    assert refused.status_code == 400 and 'role="alert"' in refused.content.decode()

    category = PracticeTask._meta.get_field("category").related_model.objects.get(code="cultural_activity")
    response = district.post(
        "/tasks/new/",
        {
            "issuer_unit": world["A"].pk,
            "title": "“我们的节日”重阳节文艺演出",
            "category": category.pk,
            "description": "各街道组织文艺演出。",
            "due_date": f"{due:%Y-%m-%d}",
            "points": "15",
            "min_photos": "1",
            "max_photos": "3",
            "held_at_required": "on",
            "scope": "units",
            "units": [world["C1"].pk, world["S2"].pk],
            "attachments": [
                SimpleUploadedFile(
                    "通知.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
                )
            ],
        },
    )
    assert response.status_code == 302
    task = PracticeTask.objects.get(title="“我们的节日”重阳节文艺演出")
    assert task.status == PracticeTask.Status.DRAFT
    assert timezone.localtime(task.due_at).strftime("%H:%M:%S") == "23:59:59"
    assert task.points == 15 and task.evidence_requirements["held_at_required"] is True

    confirm = district.get(f"/tasks/{task.pk}/publish/")
    assert "将发送给 2 个单位" in text(confirm).replace(" ", " ") or "2 个单位" in text(confirm)
    published = district.post(f"/tasks/{task.pk}/publish/")
    assert published.status_code == 302
    assert "已发布：发送给 2 个单位" in text(district.get(published["Location"]))
    assert set(task.assignments.values_list("unit_id", flat=True)) == {world["C1"].pk, world["S2"].pk}

    closed = district.post(f"/tasks/{task.pk}/close/", {"reason": "活动结束"})
    assert closed.status_code == 302
    task.refresh_from_db()
    assert task.status == PracticeTask.Status.CLOSED
    assert TaskEvent.objects.filter(task=task, verb="closed").exists()


def test_cancel_and_edit_are_refused_in_place_when_the_state_says_no(site):
    district = browser_client(site["district_officer"])
    lecture = site["tasks"]["lecture"]
    response = district.post(f"/tasks/{lecture.pk}/cancel/", {"reason": "重复派发"})
    assert response.status_code == 302
    lecture.refresh_from_db()
    assert lecture.status == PracticeTask.Status.CANCELLED
    again = district.post(f"/tasks/{lecture.pk}/cancel/", {"reason": ""}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and 'role="alert"' in again.content.decode()


# Units and people -------------------------------------------------------------------------------


def test_add_a_person_and_import_people_with_every_bad_row_shown(site, world):
    admin = browser_client(site["district_admin"])
    unit_page = admin.get(f"/units/{world['C1'].pk}/")
    assert "添加人员" in buttons(unit_page)
    assert "添加人员" not in buttons(browser_client(site["district_viewer"]).get(f"/units/{world['C1'].pk}/"))

    taken = admin.post(
        f"/units/{world['C1'].pk}/people/new/",
        {"username": "community_worker", "real_name": "重名", "role": "worker"},
        HTTP_HX_REQUEST="true",
    )
    assert taken.status_code == 400 and "重名" in taken.content.decode()
    response = admin.post(
        f"/units/{world['C1'].pk}/people/new/",
        {
            "username": "wang_fang",
            "real_name": "王芳",
            "role": "worker",
            "mobile": "13700009999",
            "password": "Zx-8nq2-kd",
        },
    )
    assert response.status_code == 302
    assert "王芳" in text(admin.get(response["Location"]))

    sheet = "用户名,姓名,手机号,单位代码,角色\nli_lei,李雷,13700001111,410102010001,worker\nbad,韩梅梅,123,999999999999,worker\n"
    upload = SimpleUploadedFile("people.csv", sheet.encode(), "text/csv")
    refused = admin.post(f"/units/{world['A'].pk}/import/", {"kind": "people", "file": upload})
    assert refused.status_code == 400
    page = text(refused)
    assert "bad" in page and "999999999999" in page or "3" in page
    from orgs.models import User

    assert not User.objects.filter(username="li_lei").exists()  # all rows or none


def test_a_form_that_cannot_succeed_is_not_offered_the_reason_is(site, world):
    waiting = assignment_of(site["tasks"]["lecture"], world["C2"])
    page = browser_client(site["worker_c2"]).get(f"/assignments/{waiting.pk}/report/")
    assert page.status_code == 409
    assert "已上报" in text(page) and 'name="summary"' not in page.content.decode()
    draft_refused = browser_client(site["district_officer"]).get(
        f"/tasks/{site['tasks']['lecture'].pk}/edit/"
    )
    assert draft_refused.status_code in (200, 409)  # a published task's text stays editable
    street = browser_client(site["street_officer"])
    assert street.get(f"/assignments/{waiting.pk}/delegate/").status_code in (
        403,
        409,
    )  # not theirs to pass on


def test_an_oversized_report_is_refused_before_its_body_is_read_and_csrf_still_holds(site, settings):
    returned = site["returned"]
    settings.EVIDENCE_MAX_REQUEST_BYTES = 1000
    worker = browser_client(site["community_worker"])
    # A body that could not even be parsed: a 413 proves it was never read.
    response = worker.generic(
        "POST",
        f"/assignments/{returned.pk}/report/",
        b"--x\r\nnot multipart at all",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH="5000000",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 413
    assert "MB" in response.json()["message"]

    settings.EVIDENCE_MAX_REQUEST_BYTES = 120 * 1024 * 1024
    strict = browser_client(site["community_worker"])
    strict.handler.enforce_csrf_checks = True
    refused = strict.post(f"/assignments/{returned.pk}/report/", report_fields())
    assert refused.status_code == 403
    assert not Submission.objects.filter(assignment=returned, summary=report_fields()["summary"]).exists()
