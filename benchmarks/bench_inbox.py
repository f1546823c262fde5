"""Benchmark: the inbox (GET /api/v1/assignments/) costs what it returns, and serves nearly as many
requests as a plain list of the same rows.

    .venv/bin/python benchmarks/bench_inbox.py                 # both parts (needs wrk for the load part)
    .venv/bin/python benchmarks/bench_inbox.py --part narrow   # in-process timings on 50,000 assignments
    .venv/bin/python benchmarks/bench_inbox.py --part load     # gunicorn (3 workers) + wrk (8 connections)
    .venv/bin/python benchmarks/bench_inbox.py --tiny          # seconds: does it still run? (CI)

**narrow**: a district of 50 streets x 1,000 communities, one task to every community (50,000
assignments, states spread), readers at three widths: a community worker (1 row), a street officer
(1,000) and the district officer (50,000). For each, side by side in one run: the database's own
statement for the page (EXPLAIN ANALYZE: planning + execution; for the worker and the street it also
counts their rows), the inbox through DRF in process (with `actions`), and a plain DRF ListAPIView of
the same rows (bench_site.PlainAssignmentList), both through the same test client.

**load**: the demo data (`load_demo`: a month of tasks), gunicorn with 3 workers serving production
settings (bench_settings), wrk with 8 connections and the same JWT for: the inbox, the plain
ListAPIView of the same rows, and a bare Django view (the floor). The figure that matters is the
ratio inbox / plain list in the same run; the machine is shared and noisy.

Results go to docs/benchmarks.md by hand (with the machine and date).
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))

from bench_common import (  # noqa: E402
    REPO,
    add_tiny_option,
    analyze,
    build_district,
    machine,
    recreate_database,
    scoped,
    server_url,
    setup_django,
    spread_task,
    with_database,
)

NARROW_DB = "chuanxi_bench_inbox"
LOAD_DB = "chuanxi_bench_load"


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.2f} ms"


def narrow(args, url: str) -> bool:
    setup_django(url, NARROW_DB)

    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from orgs.models import Membership, OrgUnit, Role, User
    from orgs.scope import Grants
    from tasks import inbox, selectors

    district = build_district("IBX", args.streets, args.communities)
    officer = User.objects.create(username="bench_officer")
    Membership.objects.create(user=officer, unit=district, role=Role.OFFICER)
    community = OrgUnit.objects.filter(tree_id=district.tree_id, level=2).order_by("lft").first()
    street = OrgUnit.objects.get(pk=community.parent_id)
    street_officer = User.objects.create(username="bench_street")
    Membership.objects.create(user=street_officer, unit=street, role=Role.OFFICER)
    worker = User.objects.create(username="bench_worker")
    Membership.objects.create(user=worker, unit=community, role=Role.WORKER)
    task, created = spread_task(district, officer, "收件箱基准")
    analyze()
    print(machine())
    print(f"{created} assignments over {OrgUnit.objects.filter(tree_id=district.tree_id).count()} units")

    settings.ROOT_URLCONF = "bench_site"  # both through the same client: the site plus the plain list
    client = APIClient()
    ok = True
    for label, user, rows in (
        ("community worker", worker, 1),
        ("street officer", street_officer, args.communities),
        ("district officer", officer, created),
    ):
        grants = Grants.of(user)
        rows_read = inbox.AssignmentRows(selectors.assignment_scope(user=user, grants=grants), grants)
        # As the inbox runs it: a reader below the district has the count in the same statement.
        statement = rows_read.statement(0, 50, with_total=rows_read.narrow)
        assert statement is not None  # every reader here has a membership
        sql, params = statement
        planning, execution = [], []
        with connection.cursor() as cursor:
            for _ in range(args.rounds + 1):
                cursor.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params)
                lines = [row[0] for row in cursor.fetchall()]
                planning.append(
                    float(re.search(r"Planning Time: ([\d.]+)", "\n".join(lines)).group(1)) / 1000
                )
                execution.append(
                    float(re.search(r"Execution Time: ([\d.]+)", "\n".join(lines)).group(1)) / 1000
                )
        client.force_authenticate(user)
        api_times, plain_times = [], []
        queries = 0
        for _ in range(args.rounds + 1):  # the first of each warms the connection and caches
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get("/api/v1/assignments/")
                api_times.append(time.perf_counter() - started)
            queries = len(captured)
            started = time.perf_counter()
            plain_response = client.get("/bench/plain-assignments/")
            plain_times.append(time.perf_counter() - started)
        body = response.json()
        ok &= response.status_code == 200 and body["count"] == rows and plain_response.json()["count"] == rows
        ok &= all("actions" in row for row in body["results"])
        print(
            f"{label:17} ({rows:6d} rows)  page statement: plan {_median_ms(planning[1:])} + run {_median_ms(execution[1:])}"
            f"   inbox (DRF, actions) {_median_ms(api_times[1:])} in {queries} queries"
            f"   plain ListAPIView {_median_ms(plain_times[1:])}"
        )
    return ok


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - our own server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def _get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server
        return response.status, response.read()


def _wrk(url: str, token: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed requests\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def load(args, url: str) -> bool:
    setup_django(url, LOAD_DB)
    from django.conf import settings
    from django.core.management import call_command

    from orgs.models import User
    from orgs.tokens import VersionedTokenObtainPairSerializer

    call_command("load_demo", "--quiet-table", *(["--skip-month"] if args.tiny else []), verbosity=0)
    tokens = {
        name: str(VersionedTokenObtainPairSerializer.get_token(User.objects.get(username=name)).access_token)
        for name in ("district_officer", "street_qinlinglu", "worker_004002")
    }
    from django.db import connection

    connection.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": with_database(url, scoped(url, LOAD_DB)),
        # The tokens above were signed with this process's key: the server must check them with it.
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONPATH": os.pathsep.join([str(REPO / "backend"), str(REPO / "benchmarks")]),
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{port}", "--workers=3"],
        cwd=REPO / "backend",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ok = True
    try:
        _wait_until_up(base)
        targets = [
            ("inbox, district officer (with actions)", "/api/v1/assignments/", "district_officer"),
            ("plain ListAPIView, same rows", "/bench/plain-assignments/", "district_officer"),
            ("inbox, community worker", "/api/v1/assignments/", "worker_004002"),
            ("plain ListAPIView, same rows", "/bench/plain-assignments/", "worker_004002"),
            ("inbox, street officer", "/api/v1/assignments/", "street_qinlinglu"),
            ("plain ListAPIView, same rows", "/bench/plain-assignments/", "street_qinlinglu"),
            ("bare Django view", "/bench/bare/", "district_officer"),
        ]
        for _label, path, who in targets:  # every URL answers, and warms each worker
            for _ in range(6):
                status, _body = _get(base + path, tokens[who])
                ok &= status == 200
        if shutil.which("wrk") is None:
            if not args.tiny:
                raise SystemExit("wrk is needed for the load part: apt-get install wrk")
            print("load part: every URL answers 200 (wrk not installed: no rates in tiny mode)")
            return ok
        print(machine())
        rates: dict[str, float] = {}
        for label, path, who in targets:
            rates[f"{label}|{who}"] = rate = _wrk(base + path, tokens[who], args.seconds)
            print(f"{label:42} {who:17} {rate:8.1f} requests/s")
        for who in ("district_officer", "street_qinlinglu", "worker_004002"):
            inbox = next(rate for key, rate in rates.items() if key.startswith("inbox") and key.endswith(who))
            plain = rates[f"plain ListAPIView, same rows|{who}"]
            print(f"inbox / plain list, {who}: {inbox / plain:.2f}")
        return ok
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["narrow", "load", "both"], default="both")
    parser.add_argument("--streets", type=int, default=50)
    parser.add_argument("--communities", type=int, default=1000, help="per street")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per URL")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases afterwards")
    add_tiny_option(parser)
    args = parser.parse_args()
    if args.tiny:
        args.streets, args.communities, args.rounds, args.seconds = 2, 5, 1, 1
    if args.part == "both":  # each part sets Django up on a database of its own: one process each
        argv = [arg for arg in sys.argv[1:] if not arg.startswith("--part")]
        codes = [
            subprocess.run([sys.executable, __file__, "--part", part, *argv], check=False).returncode  # noqa: S603
            for part in ("narrow", "load")
        ]
        return max(codes)
    url = server_url()
    database = NARROW_DB if args.part == "narrow" else LOAD_DB
    try:
        ok = narrow(args, url) if args.part == "narrow" else load(args, url)
    finally:
        if not args.keep:
            from django.db import connection

            connection.close()
            recreate_database(url, database, drop_only=True)
    print("all answers as expected" if ok else "UNEXPECTED ANSWERS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
