"""A real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Nothing downloads a browser: Playwright's driver ships in its wheel and is pointed at the system
binary. `.ci/run` installs chromium and fonts-noto-cjk when they are missing; without them the
browser tests skip on a laptop and fail under CI.

The running site is a fixture: `app` is the live server on the test database; `working_app` adds a
real Celery worker (celery.contrib.testing.worker.start_worker on a queue of its own, as in
tests/integration/test_celery_worker.py) that processes the photos the journeys upload.

Every page is served to the browser with the Content-Security-Policy the deployment sends
(script-src 'self', no inline script or eval): a page whose script needed more would fail here, and
any violation the browser reports fails the test.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from evidence.services import enqueue_processing as ENQUEUE_PROCESSING  # before any test patches it
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
    "--lang=zh-CN",  # the browser's own words (file pickers, date fields) as a Chinese phone shows them
]
PHONE = {"width": 390, "height": 844}
# A shared 2-core machine under a full test run answers a report with photos in seconds, not at once.
expect.set_options(timeout=20_000)
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


# Stricter than what common/middleware.py sends (no inline styles either): the pages must work under it.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _with_csp(route) -> None:
    if route.request.resource_type != "document":
        route.fallback()
        return
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


class Visit:
    """One person's browser tab at one size, pages served with the CSP; violations are collected."""

    def __init__(self, chromium, app: App, viewport: dict, screenshots: Path):
        self.context = chromium.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(15_000)
        self.context.route("**/*", _with_csp)
        self.page = self.context.new_page()
        self.violations: list[str] = []
        self.page.on(
            "console",
            lambda message: self.violations.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None,
        )
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
            # A whole-page shot resizes the window; Chromium then scrolls a focused field back into
            # view at the next click (as for a phone keyboard), which would move the page under it.
            self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
            self.page.screenshot(path=str(self.screenshots / f"{name}-{self.size}-full.png"), full_page=True)
        return path

    def close(self) -> None:
        assert not self.violations, self.violations
        if self.context is not None:
            self.context.unroute_all(behavior="ignoreErrors")
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


@pytest.fixture
def working_app(app, settings, monkeypatch) -> Iterator[App]:
    """The live site with a real Celery worker on a queue of its own: photos uploaded through the pages
    are processed by evidence.process_photo as in production (REDIS_URL required)."""
    import uuid

    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app as celery_app

    queue = f"test-web-{uuid.uuid4().hex[:12]}"
    settings.EVIDENCE_QUEUE = queue
    # tests/web/conftest.py's no_broker dropped the photo jobs: this site sends them for real.
    monkeypatch.setattr("evidence.services.enqueue_processing", ENQUEUE_PROCESSING)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        yield app
