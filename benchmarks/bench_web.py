"""Benchmark: the web app on a phone and at the review desk.

    .venv/bin/python benchmarks/bench_web.py          # the checkout's embedded PostgreSQL, or DATABASE_URL's
    .venv/bin/python benchmarks/bench_web.py --tiny   # seconds: does it still run? (make bench-tiny, CI)

Builds a district (default 14 streets x 8 communities, like the demo) in a scratch database,
publishes `--tasks` tasks to every community, makes the worker's community report one of them with
three phone photos (processed inline), and serves the site from a live server thread. Then:

- bytes transferred for the worker's 我的任务 and the report page, cold cache, photos excluded
  (Chromium's own count of every response: `Network.loadingFinished.encodedDataLength`), static
  files collected and compressed as in production (WhiteNoise), pages as Django sends them;
- first render (first-contentful-paint) of both pages on Chromium's "Fast 3G" preset through the
  DevTools protocol (562.5 ms latency, 180 kB/s down, 84 kB/s up), cold cache each round;
- server time of the review desk (`/review/<id>/`) against a plain Django page on the same stack
  (the login page: one template, no query), in-process through Django's test client, same run.

Goals (issue 9): < 150 KB, < 1.5 s, < 100 ms. Needs /usr/bin/chromium (or $CHROMIUM) for the first
two; results go to docs/benchmarks.md by hand.
"""

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(__file__))

from bench_common import (  # noqa: E402
    add_tiny_option,
    build_district,
    machine,
    recreate_database,
    server_url,
    setup_django,
)

SCRATCH = "chuanxi_bench_web"  # suffixed with DATABASE_URL's own name (bench_common.scoped)
FAST_3G = {"offline": False, "latency": 562.5, "downloadThroughput": 180000, "uploadThroughput": 84375}
PASSWORD = "bench-password-1"


def median_ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streets", type=int, default=14)
    parser.add_argument("--communities", type=int, default=8, help="per street")
    parser.add_argument("--tasks", type=int, default=30, help="tasks published to every community")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("BENCH_WEB_PORT", "0")), help="0: any free port"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    add_tiny_option(parser)
    args = parser.parse_args()
    if args.tiny:
        args.streets, args.communities, args.tasks, args.rounds = 2, 2, 2, 1
    url = server_url()
    setup_django(url, SCRATCH)
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate_database(url, SCRATCH, drop_only=True)
    return 0


def build(args):
    import time_machine
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from evidence import services as evidence_services
    from orgs.models import Membership, OrgUnit, Role, User
    from tasks import services
    from tasks.models import Assignment, TaskCategory
    from web.demo_photos import activity_photo

    district = build_district("410199000000", args.streets, args.communities)
    street = OrgUnit.objects.filter(parent=district).order_by("lft").first()
    community = OrgUnit.objects.filter(parent=street).order_by("lft").first()
    OrgUnit.objects.filter(pk=community.pk).update(address="建设路 12 号党群服务中心")

    def person(username, unit, role):
        user = User.objects.create_user(username=username, password=PASSWORD, real_name=username)
        Membership.objects.create(user=user, unit=unit, role=role)
        return user

    officer = person("bench_district", district, Role.OFFICER)
    reviewer = person("bench_street", street, Role.OFFICER)
    worker = person("bench_worker", community, Role.WORKER)
    category = TaskCategory.objects.get(code="theory_lecture")
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=1), tick=False):
        tasks = []
        for index in range(args.tasks):
            task = services.task_create(
                actor=officer,
                issuer_unit=district,
                title=f"基准任务 {index + 1}：“微宣讲”进社区",
                description="各社区组织宣讲员开展宣讲。" * 5,
                category=category,
                due_at=now + timedelta(days=2 + index % 9),
                evidence_requirements={"min_photos": 1, "max_photos": 3},
                targets=[{"unit": district.pk, "level": "community"}],
            )
            services.task_publish(actor=officer, task=task)
            tasks.append(task)
    mine = Assignment.objects.select_related("unit__parent", "task").get(task=tasks[0], unit=community)
    uploads = [
        SimpleUploadedFile(
            f"IMG_{i}.jpg",
            activity_photo(seed=i + 1, banner="理论宣讲", taken_at=now - timedelta(hours=2)),
            "image/jpeg",
        )
        for i in range(3)
    ]
    inspected, errors = evidence_services.photos_inspect(uploads=uploads)
    assert not errors, errors
    submission = services.assignment_submit(
        actor=worker,
        assignment=mine,
        summary="组织居民开展宣讲。",
        held_at=now - timedelta(hours=2),
        location_text="党群服务中心",
        participants=40,
        photos=inspected,
    )
    for photo in submission.photos.all():
        evidence_services.photo_process(photo_id=photo.pk)
    report_for = Assignment.objects.get(task=tasks[-1], unit=community)
    return {"worker": worker, "reviewer": reviewer, "review": mine, "report": report_for, "street": street}


def serve(port: int, static_root: str):
    """The site as production serves it: static files collected and compressed (gzip, brotli), sent by
    WhiteNoise; pages by Django (not compressed: that is the reverse proxy's choice)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings
    from django.test.testcases import LiveServerThread
    from whitenoise import WhiteNoise

    override_settings(  # through the settings signals, so the storage is made anew
        STATIC_ROOT=static_root,
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
        },
    ).enable()
    call_command("collectstatic", interactive=False, verbosity=0)

    def whitenoise(handler):
        return WhiteNoise(handler, root=static_root, prefix=settings.STATIC_URL)

    server = LiveServerThread("127.0.0.1", whitenoise, port=port)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    return server


def browser_figures(args, base: str, pages: dict[str, str]) -> dict[str, dict]:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not shutil.which(chromium):
        print(f"  (no Chromium at {chromium}: bytes and first render not measured)")
        return {}
    from playwright.sync_api import sync_playwright

    results: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        login = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = login.new_page()
        page.goto(base + "/login/")
        page.get_by_label("用户名或手机号").fill("bench_worker")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/mine/**")
        state = login.storage_state()
        login.close()
        for name, path in pages.items():
            sizes, paints = [], []
            for throttled in (False, True):
                for _ in range(args.rounds):
                    context = browser.new_context(
                        viewport={"width": 390, "height": 844}, locale="zh-CN", storage_state=state
                    )
                    page = context.new_page()
                    cdp = context.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                    if throttled:
                        cdp.send("Network.emulateNetworkConditions", FAST_3G)
                    urls: dict[str, str] = {}
                    received: dict[str, int] = {}
                    cdp.on(
                        "Network.requestWillBeSent",
                        lambda e, urls=urls: urls.__setitem__(e["requestId"], e["request"]["url"]),
                    )
                    cdp.on(
                        "Network.loadingFinished",
                        lambda e, received=received: received.__setitem__(
                            e["requestId"], e["encodedDataLength"]
                        ),
                    )
                    page.goto(base + path, wait_until="load")
                    page.wait_for_load_state("networkidle")
                    paint = page.evaluate(
                        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
                    )
                    if throttled:
                        paints.append(paint / 1000 if paint else float("nan"))
                    else:
                        sizes.append(
                            sum(
                                size
                                for rid, size in received.items()
                                if "/api/v1/photos/" not in urls.get(rid, "")
                            )
                        )
                    context.close()
            results[name] = {"bytes": sizes, "fcp": paints}
        browser.close()
    return results


def run(args) -> None:
    from django.test import Client

    data = build(args)
    print(f"Machine: {machine()}")
    print(
        f"District: {args.streets} streets x {args.communities} communities; {args.tasks} tasks to every community; "
        f"rounds {args.rounds}{' (tiny: measures nothing)' if args.tiny else ''}"
    )
    import tempfile

    static_root = tempfile.mkdtemp(prefix="chuanxi-bench-static-")
    server = serve(args.port, static_root)
    base = f"http://localhost:{server.port}"  # ALLOWED_HOSTS of the test settings
    try:
        pages = {
            "我的任务 /mine/": "/mine/",
            "report page": f"/assignments/{data['report'].pk}/report/",
        }
        for name, figures in browser_figures(args, base, pages).items():
            kb = [size / 1024 for size in figures["bytes"]]
            print(f"{name}: {statistics.median(kb):.1f} KB transferred (photos excluded), goal < 150 KB")
            print(f"{name}: first render on Fast 3G {median_ms(figures['fcp'])}, goal < 1.5 s")
    finally:
        server.terminate()
        shutil.rmtree(static_root, ignore_errors=True)

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(data["reviewer"])
    review_url = f"/review/{data['review'].pk}/?unit={data['street'].pk}"
    plain_url = "/login/"
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for warm in (client.get(review_url), anonymous.get(plain_url)):
        assert warm.status_code == 200, warm.status_code
    review_times, plain_times = [], []
    for _ in range(max(args.rounds * 4, 1)):
        started = time.perf_counter()
        response = client.get(review_url)
        review_times.append(time.perf_counter() - started)
        assert response.status_code == 200
        started = time.perf_counter()
        anonymous.get(plain_url)
        plain_times.append(time.perf_counter() - started)
    print(f"review desk {review_url}: server time {median_ms(review_times)}, goal < 100 ms")
    print(f"plain Django page {plain_url} (one template, no query): {median_ms(plain_times)}")


if __name__ == "__main__":
    sys.exit(main())
