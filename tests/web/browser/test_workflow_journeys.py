"""The work itself in a real Chromium against a live server and a real Celery worker: a community
worker on a phone accepts and reports with two photos (one HEIC), the street reviews in the lightbox
and returns it, the worker reports again, the street approves with a key, the district's dashboard
shows it. And the phone's outbox: a report made offline arrives exactly once when the phone is back
online."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evidence.models import Photo
from tasks.models import Assignment, Submission
from tests.evidence.photos import heic, real_looking_photo
from tests.web.browser.conftest import DESK, PHONE
from tests.web.helpers import assignment_of, task_for
from web.demo_photos import activity_photo

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
Status = Assignment.Status


def photo_files(tmp_path, *, with_heic: bool = True, seed: int = 3) -> list[str]:
    """Phone photos on disk, as the file picker hands them over."""
    jpeg = tmp_path / f"IMG_{seed:04d}.jpg"
    jpeg.write_bytes(
        activity_photo(seed=seed, banner="垃圾分类", taken_at=timezone.now() - timedelta(hours=1))
    )
    files = [str(jpeg)]
    if with_heic:
        photo = tmp_path / f"IMG_{seed + 1:04d}.HEIC"
        photo.write_bytes(heic(real_looking_photo(seed + 1, size=(1600, 1200))))
        files.append(str(photo))
    return files


def wait_until(check, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"not within {timeout} s: {what}")


def log_in(tab, who: str) -> None:
    tab.log_in(tab.app.site[who].username)


def approved_figure(page) -> int:
    figure = page.get_by_role("main").locator(".figure", has_text="已通过").locator(".value")
    return int(figure.inner_text())


def test_report_return_report_again_approve_and_the_dashboard_moves(working_app, tabs, tmp_path, world):
    site = working_app.site
    task = task_for(
        site["district_officer"],
        world["A"],
        [{"unit": world["S1"].pk, "level": "community"}],
        title="垃圾分类入户宣传",
        evidence_requirements={"min_photos": 2, "max_photos": 3, "participants_required": True},
    )
    mine = assignment_of(task, world["C1"])

    district = tabs(working_app, DESK)
    log_in(district, "district_officer")
    expect(district.page.get_by_role("heading", name="总览", level=1)).to_be_visible()
    approved_before = approved_figure(district.page)

    # The worker, on a phone: 签收, then 提交 with two photos, one of them HEIC.
    worker = tabs(working_app, PHONE)
    log_in(worker, "community_worker")
    page = worker.page
    page.get_by_role("link", name=re.compile("垃圾分类入户宣传")).click()
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_text("已签收：垃圾分类入户宣传")).to_be_visible()
    page.get_by_role("link", name="提交").first.click()
    expect(page.get_by_role("heading", name="提交", level=2)).to_be_visible()
    expect(page.get_by_label("活动地点")).not_to_have_value("")  # the station's address
    page.get_by_label("从相册选择").set_input_files(photo_files(tmp_path))
    previews = page.get_by_role("list").filter(has=page.get_by_role("button", name=re.compile("移除")))
    expect(previews.get_by_role("listitem")).to_have_count(2)
    expect(page.get_by_text(re.compile("IMG_0004.HEIC · 此格式无法预览"))).to_be_visible()
    page.get_by_label("活动内容").fill("入户发放垃圾分类宣传册，讲解四分类。")
    page.get_by_label("参加人数").fill("48")
    worker.shot("worker-report-form")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("上报已发送。")).to_be_visible()
    mine.refresh_from_db()
    assert mine.status == Status.SUBMITTED
    wait_until(
        lambda: Photo.objects.filter(submission__assignment=mine, status="ready").count() == 2,
        what="both photos processed by the Celery worker",
    )

    # The street, at its desk: the review queue, the lightbox, 退回 with a comment.
    street = tabs(working_app, DESK)
    log_in(street, "street_officer")
    desk = street.page
    queue = desk.get_by_role("region", name=re.compile("待审核上报"))
    queue.get_by_role("listitem").filter(has_text="垃圾分类入户宣传").get_by_role("link", name="审核").click()
    expect(desk.get_by_role("heading", name="建西社区 · 垃圾分类入户宣传", level=1)).to_be_visible()
    expect(desk.get_by_role("img", name=re.compile("现场照片"))).to_have_count(2)
    desk.get_by_role("img", name=re.compile("现场照片 1")).click()
    lightbox = desk.get_by_role("dialog", name="照片大图")
    expect(lightbox).to_be_visible()
    expect(lightbox).to_contain_text("第 1 / 2 张")
    desk.keyboard.press("ArrowRight")
    expect(lightbox).to_contain_text("第 2 / 2 张")
    expect(lightbox.get_by_role("img")).to_have_js_property("complete", True)
    assert lightbox.get_by_role("img").evaluate("img => img.naturalWidth") > 0  # the 1280 px preview
    street.shot("street-lightbox")
    desk.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    street.shot("street-review")
    desk.keyboard.press("r")
    expect(desk.get_by_label("退回原因（必填）")).to_be_focused()
    desk.keyboard.type("请补充入户宣传的现场照片，能看到宣传册。")
    desk.get_by_role("button", name=re.compile("^退回")).click()
    expect(desk.get_by_text(re.compile("已退回建西社区"))).to_be_visible()

    # The worker again: the comment on top, the form ready; one more photo.
    page.reload()
    expect(page.get_by_role("alert").filter(has_text="请补充入户宣传的现场照片")).to_be_visible()
    page.get_by_role("link", name="提交").first.click()
    expect(page.get_by_role("alert").filter(has_text="请补充入户宣传的现场照片")).to_be_visible()
    page.get_by_label("从相册选择").set_input_files(photo_files(tmp_path, with_heic=False, seed=21))
    page.get_by_label("拍照").set_input_files(photo_files(tmp_path, with_heic=False, seed=31))
    page.get_by_label("活动内容").fill("补充入户宣传照片两张。")
    page.get_by_label("参加人数").fill("48")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("上报已发送。")).to_be_visible()
    assert Submission.objects.filter(assignment=mine).count() == 2

    # The street approves with the key A, straight from the queue.
    desk.goto(working_app.url + f"/review/{mine.pk}/?unit={world['S1'].pk}")
    expect(desk.get_by_role("heading", name="以往上报和审核意见")).to_be_visible()
    desk.keyboard.press("a")
    expect(desk.get_by_text(re.compile("已通过：建西社区"))).to_be_visible()
    mine.refresh_from_db()
    assert mine.status == Status.APPROVED and mine.current_submission.rating == 5

    # The district's dashboard shows it.
    district.open("/overview/")
    assert approved_figure(district.page) == approved_before + 1
    row = district.page.get_by_role("row", name=re.compile("秦岭路街道"))
    expect(row).to_contain_text("%")
    district.shot("district-dashboard")
    for tab in (worker, street, district):
        tab.close()


def test_a_report_made_offline_is_kept_on_the_phone_and_arrives_once(working_app, tabs, tmp_path, world):
    site = working_app.site
    task = task_for(
        site["district_officer"],
        world["A"],
        [{"unit": world["S1"].pk, "level": "community"}],
        title="敬老院慰问演出",
    )
    mine = assignment_of(task, world["C1"])
    worker = tabs(working_app, PHONE)
    log_in(worker, "community_worker")
    page = worker.page
    worker.open(f"/assignments/{mine.pk}/report/")
    page.get_by_label("从相册选择").set_input_files(photo_files(tmp_path, with_heic=False, seed=41))
    page.get_by_label("活动内容").fill("到敬老院慰问演出。")
    page.get_by_label("参加人数").fill("60")

    worker.context.set_offline(True)
    page.get_by_role("button", name="提交").click()
    outbox = page.locator("#outbox")
    expect(outbox).to_contain_text("待发送1 份上报保存在本机")
    expect(outbox).to_contain_text("敬老院慰问演出")
    expect(page.get_by_role("button", name="提交")).to_be_disabled()
    worker.shot("worker-offline")
    time.sleep(1)
    assert not Submission.objects.filter(assignment=mine).exists()

    worker.context.set_offline(False)  # the phone is back: the outbox sends it with its key
    expect(outbox).to_contain_text("保存在本机的上报已发送。")
    wait_until(lambda: Submission.objects.filter(assignment=mine).exists(), what="the kept report arrived")
    page.reload()  # every page flushes the outbox again: nothing is left to send twice
    time.sleep(1)
    assert Submission.objects.filter(assignment=mine).count() == 1
    mine.refresh_from_db()
    assert mine.status == Status.SUBMITTED
    worker.close()
