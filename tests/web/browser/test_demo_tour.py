"""The demo as `make demo` shows it, in a real Chromium: each demo account's home and main page at a
phone's and a desk's size (the screenshots in docs/screenshots/ come from this run)."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.web.browser.conftest import DESK, PHONE, App
from tests.web.helpers import seed_categories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# account -> (home heading, the link it opens next, the heading that page shows)
TOUR = {
    "worker_004002": ("我的任务", "文明城市创建：背街小巷环境卫生整治", "文明城市创建：背街小巷环境卫生整治"),
    "street_qinlinglu": (
        "待办",
        "党的二十届四中全会精神“微宣讲”进社区",
        "党的二十届四中全会精神“微宣讲”进社区",
    ),
    "district_officer": (
        "总览",
        "党的二十届四中全会精神“微宣讲”进社区",
        "党的二十届四中全会精神“微宣讲”进社区",
    ),
    "inspector": ("总览", "文明城市创建：背街小巷环境卫生整治", "文明城市创建：背街小巷环境卫生整治"),
}


def test_each_demo_account_in_the_browser(tabs, live_server, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    seed_categories()
    call_command("load_demo", "--quiet-table", stdout=io.StringIO())
    for viewport in (PHONE, DESK):
        for username, (home, link, heading) in TOUR.items():
            tab = tabs(App(url=live_server.url, site={}), viewport)
            tab.log_in(username, "chuanxi-demo")
            page = tab.page
            expect(page.get_by_role("heading", name=home, level=1)).to_be_visible()
            tab.shot(f"demo-{username}-home")
            page.get_by_role("main").get_by_role("link", name=re.compile(re.escape(link))).first.click()
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            tab.shot(f"demo-{username}-next")
            tab.close()
