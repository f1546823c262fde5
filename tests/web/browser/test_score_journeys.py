"""排名 → a street's score → 工作统计 with 复制, and closing a period, in a real Chromium on March 2026
worked by hand (tests/scoring's `march`), at a phone's width and at a desk."""

import re

import pytest
import time_machine
from playwright.sync_api import expect

from tests.scoring.helpers import local
from tests.web.browser.conftest import DESK, App

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

NARROW = {"width": 360, "height": 740}


@pytest.fixture
def score_app(live_server, march):
    # The live server reads the same clock: ten days into April, March has ended.
    with time_machine.travel(local("2026-04-10 10:00"), tick=True):
        yield App(url=live_server.url, site=march)


def log_in(tab, login: str) -> None:
    tab.log_in(login)
    expect(tab.page.get_by_role("link", name="排名")).to_be_visible()


@pytest.mark.parametrize("viewport", [NARROW, DESK], ids=["phone", "desk"])
def test_the_district_reads_its_ranking_a_score_and_the_statistics(tabs, score_app, viewport):
    tab = tabs(score_app, viewport)
    page = tab.page
    log_in(tab, "district_officer")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="排名").click()
    expect(page.get_by_role("heading", name="排名", level=1)).to_be_visible()
    # The page opens on this month (April, nothing due yet); March is the month just ended.
    page.get_by_label("考核期").select_option(label="2026年3月")
    page.get_by_role("button", name="查看").click()
    first = page.get_by_role("row", name=re.compile("秦岭路街道"))
    expect(first).to_contain_text("29")
    expect(first).to_contain_text("新上榜")
    expect(page.get_by_role("img", name=re.compile("2026年3月得分"))).to_be_visible()
    tab.shot("score-ranking")

    first.get_by_role("link", name="秦岭路街道").click()
    expect(page.get_by_role("heading", name="秦岭路街道得分", level=1)).to_be_visible()
    expect(page.get_by_text("本级 20 + 下级 2 个单位平均 9 = 29")).to_be_visible()
    tab.shot("score-unit")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计").click()
    expect(page.get_by_role("heading", name="工作统计", level=1)).to_be_visible()
    page.get_by_label("考核期").select_option(label="2026年3月")
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_text(re.compile("共开展文明实践活动 6 场"))).to_be_visible()
    page.get_by_role("button", name="复制").click()
    expect(page.get_by_role("status").filter(has_text=re.compile("已复制|已选中"))).to_be_visible()
    tab.shot("score-stats")


def test_the_administrator_closes_march(tabs, score_app):
    tab = tabs(score_app, DESK)
    page = tab.page
    log_in(tab, "district_admin")
    tab.open("/scores/periods/")
    expect(page.get_by_role("heading", name="考核期与考核设置", level=1)).to_be_visible()
    tab.shot("score-periods")
    page.get_by_role("row", name=re.compile("2026年3月")).get_by_role("link", name="关闭").click()
    page.get_by_label("备注").fill("一季度考核结束")
    tab.shot("score-close")
    page.get_by_role("button", name="关闭考核期").click()
    expect(page.get_by_text("2026年3月已关闭，得分已冻结。")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("2026年3月"))).to_contain_text("已关闭")
    tab.shot("score-periods-closed")
    phone = tabs(score_app, NARROW)
    phone.log_in("district_admin")
    phone.open("/scores/periods/")
    phone.shot("score-periods")


def test_a_street_ranks_its_communities_and_is_told_the_streets_ranking_is_closed(tabs, score_app):
    tab = tabs(score_app, NARROW)
    page = tab.page
    log_in(tab, "street_officer")
    tab.open("/scores/?period=2026-03")
    expect(page.get_by_role("row", name=re.compile("建西社区"))).to_contain_text("10")
    tab.shot("score-street-ranking")
    page.get_by_label("排名层级").select_option(label="街道（新时代文明实践所）")
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("alert")).to_contain_text("未开放同级排名")
    tab.shot("score-street-refused")
