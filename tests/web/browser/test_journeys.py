"""Each role in a real Chromium: log in (by username on a desk, by mobile number on a phone), land
on its home, open its main pages, log out. Elements are found by their visible Chinese label or role."""

import re

import pytest
from playwright.sync_api import expect

from tests.web.browser.conftest import DESK, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])


def log_in(tab, who: str, viewport: dict) -> None:
    """Phones log in with the mobile number, desks with the username: both ways for every role."""
    site = tab.app.site
    tab.log_in(site["mobiles"][who] if viewport is PHONE else site[who].username)


def nav(tab, label: str):
    return tab.page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True)


def log_out(tab) -> None:
    tab.page.get_by_role("banner").get_by_role("button", name="退出登录").click()
    expect(tab.page.get_by_role("heading", name="登录")).to_be_visible()
    expect(tab.page.get_by_text("您已退出登录。")).to_be_visible()


@SIZES
def test_the_community_worker(visit, viewport):
    tab = visit(viewport)
    log_in(tab, "community_worker", viewport)
    page = tab.page

    expect(page.get_by_role("heading", name="我的任务", level=1)).to_be_visible()
    returned = page.get_by_role("link", name=re.compile("党的创新理论“微宣讲”进社区"))
    expect(returned).to_contain_text("已退回")
    expect(page.get_by_role("link", name=re.compile("“门前五包”入户宣传"))).to_contain_text("已逾期")
    tab.shot("worker-my-tasks")

    returned.click()
    expect(page.get_by_role("alert")).to_contain_text("照片看不出宣讲内容，请补充横幅照片。")
    expect(page.get_by_text("至少 1 张、最多 3 张照片；填写活动时间、参加人数、活动地点")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("现场照片"))).to_have_count(2)
    tab.shot("worker-assignment")
    page.get_by_role("main").get_by_role("link", name="提交").first.click()
    expect(page.get_by_label("活动内容")).to_be_visible()
    tab.shot("worker-report")

    nav(tab, "我的").click()
    expect(page.get_by_role("heading", name="我的单位和角色")).to_be_visible()
    tab.shot("worker-me")
    log_out(tab)


@SIZES
def test_the_street_officer(visit, viewport):
    tab = visit(viewport)
    log_in(tab, "street_officer", viewport)
    page = tab.page

    expect(page.get_by_role("heading", name="待办", level=1)).to_be_visible()
    queue = page.get_by_role("region", name=re.compile("待审核上报"))
    tab.shot("street-inbox")
    queue.get_by_role("link", name=re.compile("党的创新理论")).click()
    expect(page.get_by_role("heading", name="党的创新理论“微宣讲”进社区", level=1)).to_be_visible()
    expect(page.get_by_text("杜康社区").first).to_be_visible()
    tab.shot("street-report")

    nav(tab, "任务").click()
    page.get_by_role("link", name=re.compile("敬老爱老志愿服务")).click()
    progress = page.get_by_role("region", name=re.compile("进度"))
    expect(progress.get_by_role("rowheader", name=re.compile("建西社区"))).to_be_visible()
    tab.shot("street-task")

    nav(tab, "单位与人员").click()
    expect(page.get_by_role("heading", name="秦岭路街道", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("建西社区"))).to_be_visible()
    log_out(tab)


@SIZES
@pytest.mark.parametrize("who", ["district_officer", "district_admin", "district_viewer"])
def test_the_district(visit, viewport, who):
    tab = visit(viewport)
    log_in(tab, who, viewport)
    page = tab.page

    expect(page.get_by_role("heading", name="总览", level=1)).to_be_visible()
    expect(page.get_by_text("中原区派发的任务")).to_be_visible()
    tab.shot(f"{who}-overview")
    if who != "district_viewer":
        page.get_by_role("link", name="新建任务").click()
        expect(page.get_by_role("heading", name="新建任务", level=1)).to_be_visible()
        expect(page.get_by_text(re.compile(r"\d+ 个单位将收到此任务"))).to_be_visible()
        tab.shot(f"{who}-compose")
        nav(tab, "总览").click()
    else:
        expect(page.get_by_role("link", name="新建任务")).to_have_count(0)

    page.get_by_role("link", name=re.compile("党的创新理论“微宣讲”进社区")).click()
    progress = page.get_by_role("region", name=re.compile("进度"))
    expect(progress.get_by_role("rowheader", name=re.compile("秦岭路街道"))).to_be_visible()
    expect(progress.get_by_role("rowheader", name=re.compile("建西社区"))).to_have_count(0)
    # Until the page's scripts have run the link is a plain link to the street's own progress page
    # (what a click that early does, also for a person): wait for them, then expect rows in place.
    page.wait_for_load_state("load")
    progress.get_by_role("link", name="展开秦岭路街道的下级单位").click()  # htmx: rows in place
    expect(progress.get_by_role("rowheader", name=re.compile("建西社区"))).to_be_visible()
    assert page.url.endswith(f"/tasks/{tab.app.site['tasks']['lecture'].pk}/")  # the page stayed
    tab.shot(f"{who}-task")

    nav(tab, "单位与人员").click()
    expect(page.get_by_role("heading", name="中原区", level=1)).to_be_visible()
    page.get_by_role("link", name=re.compile("秦岭路街道")).click()
    expect(page.get_by_role("heading", name="秦岭路街道", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="street_officer")).to_be_visible()
    log_out(tab)


def test_a_wrong_password_shows_the_chinese_error(visit):
    tab = visit(PHONE)

    tab.log_in("community_worker", "not-the-password")

    expect(tab.page.get_by_role("alert")).to_have_text("账号或密码错误，请检查后重试。")
    expect(tab.page.get_by_label("用户名或手机号")).to_have_value("community_worker")
    tab.shot("login-error")


def test_the_login_form_in_keyboard_order_with_visible_focus(visit):
    tab = visit(DESK)
    tab.open("/login/")
    page = tab.page

    expect(page.get_by_label("用户名或手机号")).to_be_focused()  # autofocus
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码")).to_be_focused()
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="登录")
    expect(button).to_be_focused()
    outline = button.evaluate(
        "b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth"
    )
    assert outline.startswith("solid") and not outline.endswith(" 0px")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("用户名或手机号")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name=re.compile("^传习"))).to_be_focused()  # the header's home link
    page.keyboard.press("Shift+Tab")
    skip = page.get_by_role("link", name="跳到正文")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown when focused


NARROW = {"width": 360, "height": 740}


@pytest.mark.parametrize(
    ("viewport", "scale"), [(NARROW, 1), ({"width": 720, "height": 450}, 2)], ids=["360px", "200%-zoom"]
)
def test_pages_fit_a_narrow_phone_and_200_percent_zoom(chromium, app, viewport, scale):
    """200 % zoom of a 1440 px window is a 720 CSS px layout at device scale 2."""
    context = chromium.new_context(viewport=viewport, device_scale_factor=scale, locale="zh-CN")
    page = context.new_page()
    site = app.site
    try:
        for who, paths in (
            (
                "community_worker",
                [
                    "/mine/",
                    f"/assignments/{site['returned'].pk}/",
                    f"/assignments/{site['returned'].pk}/report/",
                    "/account/",
                ],
            ),
            (
                "street_officer",
                [
                    "/inbox/",
                    "/review/",
                    f"/tasks/{site['tasks']['volunteer'].pk}/",
                    "/units/",
                ],
            ),
            (
                "district_officer",
                ["/overview/", f"/tasks/{site['tasks']['lecture'].pk}/", "/tasks/", "/tasks/new/"],
            ),
        ):
            page.goto(app.url + "/login/")
            page.get_by_label("用户名或手机号").fill(site[who].username)
            page.get_by_label("密码").fill("pass-12345")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            for path in paths:
                page.goto(app.url + path)
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{who} {path}: the page scrolls sideways by {overflow}px"
            page.get_by_role("banner").get_by_role("button", name="退出登录").click()
            expect(page.get_by_role("heading", name="登录")).to_be_visible()
    finally:
        context.close()


def test_the_street_reports_upward_naming_the_communities_still_open(visit, app):
    """上报 of a delegated assignment: a summary only, the open communities named, sent by the page's script."""
    from tests.web.helpers import assignment_of, report, review

    site = app.site
    volunteer = site["tasks"]["volunteer"]
    street_unit = site["street_officer"].memberships.first().unit
    c1 = assignment_of(volunteer, site["community_worker"].memberships.first().unit)
    report(c1, site["community_worker"], photos=1)
    review(c1, site["street_officer"], "approve", rating=5)

    tab = visit(DESK)
    log_in(tab, "street_officer", DESK)
    page = tab.page
    own = page.get_by_role("region", name=re.compile("本单位待办任务"))
    own.get_by_role("listitem").filter(has_text="敬老爱老志愿服务").get_by_role("link", name="上报").click()
    expect(page.get_by_text(re.compile(r"1 个下派单位尚未通过：\s*杜康社区"))).to_be_visible()
    page.get_by_label("工作汇总").fill("建西社区开展敬老服务，杜康社区仍在进行。")
    page.get_by_role("button", name="上报").click()
    expect(page.get_by_text("上报已发送。")).to_be_visible()
    mine = assignment_of(volunteer, street_unit)
    assert mine.status == "submitted"
    assert [unit["name"] for unit in mine.current_submission.missing_units] == ["杜康社区"]


def test_the_report_form_in_keyboard_order_with_the_photo_pickers_reachable(visit, app):
    tab = visit(PHONE)
    log_in(tab, "community_worker", PHONE)
    tab.open(f"/assignments/{app.site['returned'].pk}/report/")
    page = tab.page
    summary = page.get_by_label("活动内容")
    summary.focus()
    page.keyboard.press("Shift+Tab")
    album = page.get_by_label("从相册选择")
    expect(album).to_be_focused()  # the file inputs are visually hidden behind their labels, not skipped
    outline = page.locator("label[for=photos-album]").evaluate("l => getComputedStyle(l).outlineStyle")
    assert outline == "solid"  # the label shows the focus
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("拍照")).to_be_focused()
    page.get_by_label("参加人数").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("志愿者人数")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("志愿服务时长")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="提交")).to_be_focused()


def test_a_refused_photo_is_named_in_place_and_the_rest_of_the_report_kept(visit, app, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from web.demo_photos import activity_photo

    good = tmp_path / "IMG_0101.jpg"
    good.write_bytes(activity_photo(seed=5, banner="宣讲", taken_at=timezone.now() - timedelta(hours=1)))
    broken = tmp_path / "坏照片.jpg"
    broken.write_bytes(b"this is not a photo")
    tab = visit(PHONE)
    log_in(tab, "community_worker", PHONE)
    tab.open(f"/assignments/{app.site['returned'].pk}/report/")
    page = tab.page
    page.get_by_label("从相册选择").set_input_files([str(good), str(broken)])
    page.get_by_label("活动内容").fill("补充横幅照片。")
    page.get_by_label("参加人数").fill("30")
    page.get_by_role("button", name="提交").click()

    refused = page.get_by_role("listitem").filter(has_text="坏照片.jpg")
    expect(refused.get_by_role("alert")).to_be_visible()  # the reason, beside that photo
    expect(page.get_by_role("listitem").filter(has_text="IMG_0101.jpg").get_by_role("alert")).to_have_count(0)
    expect(page.get_by_label("活动内容")).to_have_value("补充横幅照片。")
    expect(page.get_by_text("2 / 3 张已选")).to_be_visible()
    refused.get_by_role("button", name="移除 坏照片.jpg").click()
    expect(page.get_by_text("1 / 3 张已选")).to_be_visible()
