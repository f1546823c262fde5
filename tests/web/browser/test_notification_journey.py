"""The bell and the notification pages in a real Chromium, as people use them."""

import re

import pytest
from playwright.sync_api import expect

from tests.notifications.helpers import dispatch
from tests.notifications.robot_server import RobotServer
from tests.web.browser.conftest import DESK, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_worker_follows_the_bell_to_the_returned_report_and_marks_the_rest_read(visit):
    tab = visit(PHONE)
    dispatch()  # what the site's work told people (the dispatch job after commit)
    tab.log_in(tab.app.site["mobiles"]["community_worker"])
    page = tab.page
    bell = page.get_by_role("banner").get_by_role("link", name=re.compile(r"通知，\d+ 条未读"))
    expect(bell).to_be_visible()
    before = int(re.search(r"(\d+)", bell.get_attribute("aria-label")).group(1))
    bell.click()
    expect(page.get_by_role("heading", name="通知", level=1)).to_be_visible()
    tab.shot("worker-notifications")

    page.get_by_role("link", name=re.compile("上报被退回：《党的创新理论")).click()
    expect(page.get_by_role("alert")).to_contain_text("照片看不出宣讲内容")  # the assignment's page
    expect(page.get_by_role("banner").get_by_role("link", name=f"通知，{before - 1} 条未读")).to_be_visible()

    page.get_by_role("banner").get_by_role("link", name=re.compile("通知")).click()
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.get_by_text("已全部标为已读。")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="通知", exact=True)).to_be_visible()


def test_the_administrator_adds_a_group_robot_and_sends_a_test_message(visit):
    tab = visit(DESK)
    tab.log_in(tab.app.site["street_admin"].username)
    page = tab.page
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的", exact=True).click()
    page.get_by_role("main").get_by_role("link", name="群机器人").click()
    page.get_by_role("link", name="添加群机器人").click()
    with RobotServer() as server:
        page.get_by_label("单位").select_option(label="建西社区")
        page.get_by_label("名称").fill("建西社区工作群")
        page.get_by_label("平台").select_option(label="钉钉")
        page.get_by_label("Webhook 地址").fill(f"{server.url}/ok/robot/send?access_token=abc123")
        page.get_by_label("签名密钥").fill("SEC-secret")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_text("已添加建西社区工作群。")).to_be_visible()
        page.get_by_role("button", name="发送测试消息").click()
        expect(page.get_by_role("status").filter(has_text="测试消息已发送")).to_be_visible()
        tab.shot("admin-robots")
    assert [request["path"] for request in server.requests] == ["/ok/robot/send"]
    assert "SEC-secret" not in page.content() and "abc123" not in page.content()
