"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Nothing downloads a browser: Playwright's driver ships in its wheel and is pointed at the system
binary. `.ci/run` installs chromium and fonts-noto-cjk when they are missing; without them the
browser tests skip on a laptop and fail under CI.

The running site is one fixture (`app`): today the live server on the test database; the journeys of
phase 2 (photos processed by the pipeline) add a real Celery worker to the same fixture
(celery.contrib.testing.worker.start_worker on a queue of its own, as in
tests/integration/test_celery_worker.py), so every journey keeps asking for `app` only.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.web.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless, nothing fetched in the background, no sandbox (CI runs as root).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    if not shutil.which(CHROMIUM):
        message = f"needs Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between
    # browser steps are plain synchronous calls all the same.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the journeys save their screenshots: $WEB_SCREENSHOTS, else a folder of the pytest run."""
    chosen = os.environ.get("WEB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class App:
    url: str
    site: dict


@pytest.fixture
def app(live_server, site) -> App:
    return App(url=live_server.url, site=site)


class Visit:
    """One person's browser tab at one size."""

    def __init__(self, chromium, app: App, viewport: dict, screenshots: Path):
        self.context = chromium.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.app = app
        self.size = f"{viewport['width']}x{viewport['height']}"
        self.screenshots = screenshots

    def open(self, path: str = "/") -> None:
        self.page.goto(self.app.url + path)

    def log_in(self, login: str, password: str = PASSWORD) -> None:
        self.open("/login/")
        self.page.get_by_label("用户名或手机号").fill(login)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()

    def shot(self, name: str) -> Path:
        """A screenshot once every photo has loaded (thumbnails are lazy below the fold): the whole page
        on a desk; on a phone what the screen shows (with its fixed tab bar) and the whole page."""
        self.page.wait_for_load_state("networkidle")
        self.page.evaluate(
            """() => Promise.all([...document.images].map(img => {
                   img.loading = "eager";
                   return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
               }))"""
        )
        path = self.screenshots / f"{name}-{self.size}.png"
        phone = self.page.viewport_size["width"] < 768
        self.page.screenshot(path=str(path), full_page=not phone)
        if phone:
            self.page.screenshot(path=str(self.screenshots / f"{name}-{self.size}-full.png"), full_page=True)
        return path

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture
def tabs(chromium, screenshots):
    """Open a tab at a size on a running site; all are closed after the test."""
    opened: list[Visit] = []

    def start(app: App, viewport: dict) -> Visit:
        opened.append(Visit(chromium, app, viewport, screenshots))
        return opened[-1]

    yield start
    for tab in opened:
        tab.close()


@pytest.fixture
def visit(tabs, app):
    """A tab on the test site (`site`) at a size."""
    return lambda viewport: tabs(app, viewport)
