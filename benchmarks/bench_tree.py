"""Benchmark `GET /api/v1/units/{id}/tree/` (the nested subtree with member counts) at 1,000 and 50,000 units.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/bench_tree.py --rounds 5
    .venv/bin/python benchmarks/bench_tree.py --tiny    # seconds: does it still run?

Works in a scratch database `chuanxi_bench_tree` (created, migrated and dropped). Each size is a
separate district with one administrator and a worker in every tenth community, so the member counts
have something to count. The request goes through the real URL, middleware, view and JSON rendering
(Django's test client), as the district administrator.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    add_tiny_option,
    build_district,
    machine,
    recreate_database,
    server_url,
    setup_django,
)

SCRATCH_DB = "chuanxi_bench_tree"

SIZES = {"1,000": (20, 49), "50,000": (50, 999)}
TINY_SIZES = {"tiny": (3, 10)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    add_tiny_option(parser)
    args = parser.parse_args()
    url = server_url()
    setup_django(url, SCRATCH_DB)
    try:
        run(1 if args.tiny else args.rounds, TINY_SIZES if args.tiny else SIZES)
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(url, SCRATCH_DB, drop_only=True)


def run(rounds: int, sizes: dict[str, tuple[int, int]]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orgs.models import Membership, OrgUnit, Role, User

    print(machine())
    print("| units | response size | queries | median (min–max) |")
    print("|---|---|---|---|")
    for index, (label, (streets, communities)) in enumerate(sizes.items()):
        root = build_district(f"B{index}", streets, communities)
        admin = User.objects.create(username=f"bench_admin_{index}")
        Membership.objects.create(user=admin, unit=root, role=Role.ADMINISTRATOR)
        workers = [User(username=f"bench_w{index}_{n}") for n in range(communities * streets // 10)]
        User.objects.bulk_create(workers, batch_size=5000)
        workers = list(User.objects.filter(username__startswith=f"bench_w{index}_"))
        units = list(OrgUnit.objects.filter(tree_id=root.tree_id, level=2).values_list("pk", flat=True)[::10])
        Membership.objects.bulk_create(
            [Membership(user=w, unit_id=u, role=Role.WORKER) for w, u in zip(workers, units, strict=False)],
            batch_size=5000,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        total = OrgUnit.objects.filter(tree_id=root.tree_id).count()
        client = Client()
        client.force_login(admin)
        times = []
        for _ in range(rounds + 1):  # the first round warms caches and is dropped
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(f"/api/v1/units/{root.pk}/tree/")
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:200]
        times = times[1:]
        print(
            f"| {total:,} ({label}) | {len(response.content) / 1024:,.0f} KB | {len(queries)} | "
            f"{statistics.median(times) * 1000:,.0f} ms ({min(times) * 1000:,.0f}–{max(times) * 1000:,.0f}) |"
        )


if __name__ == "__main__":
    main()
