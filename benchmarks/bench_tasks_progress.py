"""Benchmark: live progress of a task over 50,000 units, and the inbox over the same assignments.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_tasks_progress.py
    .venv/bin/python benchmarks/bench_tasks_progress.py --tiny    # seconds: does it still run?

Builds a district of 50 streets x 1,000 communities (50,051 units) in a scratch database,
publishes a task to every community (50,000 assignments), spreads the assignments over the
states (a fifth each pending / accepted / submitted / approved / returned, one in ten past due),
then times:

- `tasks.selectors.task_progress` at depth 0, 1 and 2 (1, 51 and 50,051 rows), the one aggregate
  query over the tree's lft/rght ranges;
- `GET /api/v1/tasks/{id}/progress/?depth=1` end to end through DRF;
- `GET /api/v1/assignments/` (first page of 50 and its count) for the district officer, who sees
  all 50,000, and for a community worker, who sees one.

Results go to docs/benchmarks.md by hand.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from bench_common import (  # noqa: E402
    add_tiny_option,
    analyze,
    build_district,
    fmt,
    machine,
    recreate_database,
    server_url,
    setup_django,
    spread_task,
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streets", type=int, default=50)
    parser.add_argument("--communities", type=int, default=1000, help="per street")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    add_tiny_option(parser)
    args = parser.parse_args()
    if args.tiny:
        args.streets, args.communities, args.rounds = 2, 5, 1
    url = server_url()
    setup_django(url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from orgs.models import Membership, OrgUnit, Role, User
    from tasks import selectors

    def timed(call, rounds: int = args.rounds) -> tuple[list[float], object, int]:
        times, result, queries = [], None, 0
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                result = call()
                times.append(time.perf_counter() - started)
            queries = len(captured)
        return times, result, queries

    try:
        started = time.perf_counter()
        district = build_district("P50K", args.streets, args.communities)
        officer = User.objects.create(username="bench_officer")
        Membership.objects.create(user=officer, unit=district, role=Role.OFFICER)
        community = OrgUnit.objects.filter(tree_id=district.tree_id, level=2).order_by("lft").first()
        worker = User.objects.create(username="bench_worker")
        Membership.objects.create(user=worker, unit=community, role=Role.WORKER)
        task, created = spread_task(district, officer, "进度基准")
        analyze()
        units = OrgUnit.objects.filter(tree_id=district.tree_id).count()
        print(machine())
        print(f"Tree: {units} units, {created} assignments, set up in {time.perf_counter() - started:.1f} s")

        ok = True
        for depth in (0, 1, 2):
            times, body, queries = timed(
                lambda d=depth: selectors.task_progress(user=officer, task_id=task.pk, depth=d)
            )
            totals = body["totals"]
            print(
                f"task_progress depth={depth}: {len(body['units']):6d} rows  {fmt(times)}  queries {queries}  "
                f"(total {totals['total']}, approved {totals['approved']}, overdue {totals['overdue']}, "
                f"rate {totals['completion_rate']})"
            )
            ok &= totals["total"] == created

        client = APIClient()
        client.force_authenticate(officer)
        times, response, queries = timed(
            lambda: client.get(f"/api/v1/tasks/{task.pk}/progress/", {"depth": 1})
        )
        print(
            f"GET /tasks/{{id}}/progress/?depth=1 (HTTP): {fmt(times)}  queries {queries}  status {response.status_code}"
        )
        ok &= response.status_code == 200

        for label, user in (("district officer", officer), ("community worker", worker)):
            client.force_authenticate(user)
            times, response, queries = timed(lambda: client.get("/api/v1/assignments/"))
            print(
                f"GET /assignments/ first page, {label}: {fmt(times)}  queries {queries}  "
                f"count {response.json()['count']}"
            )
            ok &= response.status_code == 200
            times, response, queries = timed(lambda: client.get("/api/v1/assignments/", {"overdue": "true"}))
            print(
                f"GET /assignments/?overdue=true, {label}: {fmt(times)}  queries {queries}  "
                f"count {response.json()['count']}"
            )
        print("all counts as expected" if ok else "UNEXPECTED COUNTS")
        return 0 if ok else 1
    finally:
        connection.close()
        if not args.keep:
            recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
