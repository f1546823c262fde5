"""Benchmark: publishing a task to 10,000 and 100,000 units, next to the raw INSERT ... SELECT.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_tasks_publish.py
    .venv/bin/python benchmarks/bench_tasks_publish.py --tiny    # seconds: does it still run?

Builds two districts in a scratch database (10 streets x 1,000 communities and 100 streets x
1,000 communities, 110,112 units) and then, for each size and each round, from an empty
assignments table:

- `raw`: the database's own limit, one hand-written `INSERT INTO tasks_assignment ... SELECT ...
  FROM orgs_orgunit WHERE tree_id = .. AND level = 2 ON CONFLICT DO NOTHING` in a transaction;
- `publish`: `tasks.services.task_publish` (lock, permission check, target validation, the fan-out,
  status change and event) for a draft targeting `{"unit": district, "level": "community"}`;
- `republish`: the same call again (idempotent: creates nothing);
- at 10,000 also a draft listing the 10,000 communities one by one (`{"unit": id}` each).

Results go to docs/benchmarks.md by hand.
"""

import argparse
import os
import sys
import time
from datetime import timedelta

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
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    add_tiny_option(parser)
    args = parser.parse_args()
    # (label, code, streets, communities per street)
    sizes = [("10,000", "B10K", 10, 1000), ("100,000", "B100K", 100, 1000)]
    if args.tiny:
        args.rounds = 1
        sizes = [("10", "B10", 2, 5), ("15", "B15", 3, 5)]
    url = server_url()
    setup_django(url)

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from orgs.models import Membership, OrgUnit, Role, User
    from tasks import services
    from tasks.models import Assignment, TaskCategory

    def truncate() -> None:
        # CASCADE: everything hanging off assignments (events, submissions, their photos and flags,
        # whatever the schema adds later) goes with them; naming the tables broke on each new one.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE tasks_assignment CASCADE")
        analyze()

    def draft(district: OrgUnit, targets: list[dict]):
        return services.task_create(
            actor=officer,
            issuer_unit=district,
            title="基准测试任务",
            category=TaskCategory.objects.get(code="volunteer_service"),
            due_at=timezone.now() + timedelta(days=7),
            targets=targets,
        )

    def raw_insert(task_id: int, district: OrgUnit) -> tuple[int, float]:
        now = timezone.now()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tasks_assignment (task_id, unit_id, parent_id, status, due_at, version, created_at, updated_at) "
                "SELECT %s, u.id, NULL, 'pending', %s, 0, %s, %s FROM orgs_orgunit u "
                "WHERE u.tree_id = %s AND u.level = 2 AND u.is_active ON CONFLICT (task_id, unit_id) DO NOTHING",
                [task_id, now + timedelta(days=7), now, now, district.tree_id],
            )
            created = cursor.rowcount
        return created, time.perf_counter() - started

    try:
        started = time.perf_counter()
        small, large = (
            build_district(code, streets, per_street) for _label, code, streets, per_street in sizes
        )
        officer = User.objects.create(username="bench_officer")
        Membership.objects.bulk_create(
            [
                Membership(user=officer, unit=small, role=Role.OFFICER),
                Membership(user=officer, unit=large, role=Role.OFFICER),
            ]
        )
        analyze()
        print(machine())
        print(f"Tree: {OrgUnit.objects.count()} units built in {time.perf_counter() - started:.1f} s")

        ok = True
        for (label, _code, streets, per_street), district in zip(sizes, (small, large), strict=True):
            expected = streets * per_street
            raw_times, publish_times, republish_times, queries = [], [], [], []
            for _ in range(args.rounds):
                truncate()
                created, seconds = raw_insert(draft(district, []).pk, district)
                ok &= created == expected
                raw_times.append(seconds)

                truncate()
                task = draft(district, [{"unit": district.pk, "level": "community"}])
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    result = services.task_publish(actor=officer, task=task)
                    publish_times.append(time.perf_counter() - started)
                queries.append(len(captured))
                ok &= result.created == expected == Assignment.objects.filter(task=task).count()

                started = time.perf_counter()
                again = services.task_publish(actor=officer, task=task)
                republish_times.append(time.perf_counter() - started)
                ok &= again.created == 0
            ratio = sorted(publish_times)[len(publish_times) // 2] / sorted(raw_times)[len(raw_times) // 2]
            print(f"{label} targets ({expected} assignments), {args.rounds} rounds:")
            print(f"  raw INSERT ... SELECT : {fmt(raw_times)}")
            print(
                f"  task_publish          : {fmt(publish_times)}  queries {sorted(set(queries))}  ratio to raw {ratio:.2f}"
            )
            print(f"  republish (0 created) : {fmt(republish_times)}")

        explicit_times = []
        ids = list(OrgUnit.objects.filter(tree_id=small.tree_id, level=2).values_list("pk", flat=True))
        for _ in range(args.rounds):
            truncate()
            task = draft(small, [{"unit": pk} for pk in ids])
            started = time.perf_counter()
            result = services.task_publish(actor=officer, task=task)
            explicit_times.append(time.perf_counter() - started)
            ok &= result.created == len(ids)
        print(f"{sizes[0][0]} explicit {{'unit': id}} targets: task_publish {fmt(explicit_times)}")
        print("all counts as expected" if ok else "UNEXPECTED COUNTS")
        return 0 if ok else 1
    finally:
        connection.close()
        if not args.keep:
            recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
