"""Benchmark: one reminder scan over 100,000 open assignments, 10,000 of them due for a reminder.

A district of 100 streets × 100 communities (10,100 units), one worker with an email address per
community, ten tasks published to every community (100,000 open assignments, through the real
task_publish): one due in 90 minutes, nine in ten days. Then, on PostgreSQL:

1. the scan (notifications.reminders.reminders_scan): finds the 10,000 assignments whose 2-hour
   reminder is due and makes their in-app notifications (and email deliveries) — timed, with its
   query count;
2. the same scan again: nothing new (the uniqueness constraint) — timed;
3. the pushes: the 10,000 email deliveries sent through Django's email backend (locmem) by
   notifications.deliveries.deliveries_send — timed.

The query count is also measured on the --tiny world (1,000 assignments, 100 due) and must be the
same: it does not grow with the data. Scratch database `chuanxi_bench_reminders` (created, dropped).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_reminders.py [--tiny]
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import analyze, build_district, machine, recreate_database, setup_django  # noqa: E402

DB = "chuanxi_bench_reminders"


def build(streets: int, communities: int, tasks: int):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from orgs.models import Membership, OrgUnit, Role, User
    from tasks import services
    from tasks.models import TaskCategory

    district = build_district("410199000000", streets, communities)
    admin = User.objects.create(username="bench-admin", is_superuser=True, is_staff=True)
    password = make_password("x")
    units = list(OrgUnit.objects.filter(tree_id=district.tree_id, level=2).values_list("id", flat=True))
    users = User.objects.bulk_create(
        [User(username=f"w{unit}", email=f"w{unit}@example.org", password=password) for unit in units],
        batch_size=5000,
    )
    Membership.objects.bulk_create(
        [
            Membership(user=user, unit_id=unit, role=Role.WORKER)
            for user, unit in zip(users, units, strict=True)
        ],
        batch_size=5000,
    )
    category = TaskCategory.objects.get_or_create(code="volunteer_service", defaults={"name": "志愿服务"})[0]
    now = timezone.now()
    for index in range(tasks):
        due = now + (timedelta(minutes=90) if index == 0 else timedelta(days=10))
        task = services.task_create(
            actor=admin,
            issuer_unit=district,
            title=f"任务{index}",
            category=category,
            due_at=due,
            targets=[{"unit": district.pk, "level": "community"}],
            evidence_requirements={"min_photos": 0},
        )
        services.task_publish(actor=admin, task=task)
    analyze()
    return len(units)


def scan_once():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.reminders import reminders_scan

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        made = reminders_scan()
        took = time.perf_counter() - started
    return made, took, len(queries)


def run(streets: int, communities: int, tasks: int) -> dict:
    from django.conf import settings

    from notifications.deliveries import deliveries_send
    from notifications.models import Delivery
    from tasks.models import Assignment

    settings.NOTIFICATIONS_EMAIL = True
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = time.perf_counter()
    units = build(streets, communities, tasks)
    built = time.perf_counter() - started
    made, first, queries = scan_once()
    again, second, queries_again = scan_once()
    started = time.perf_counter()
    sent = {"sent": 0}
    while Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
        result = deliveries_send(limit=1000)
        sent["sent"] += result["sent"]
    pushes = time.perf_counter() - started
    return {
        "units": units,
        "open": Assignment.objects.count(),
        "built": built,
        "made": made,
        "first": first,
        "queries": queries,
        "again": again,
        "second": second,
        "queries_again": queries_again,
        "sent": sent["sent"],
        "pushes": pushes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="1,000 assignments (a quick check that it runs)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    setup_django(url, DB)
    try:
        print(machine())
        sizes = [(10, 10)] if args.tiny else [(10, 10), (100, 100)]
        results = []
        for streets, communities in sizes:
            if results:  # a fresh database for the next size
                from django.db import connection

                connection.close()
                setup_django(url, DB)
            result = run(streets, communities, tasks=10)
            results.append(result)
            made = result["made"]
            print(
                f"{result['open']:,} open assignments ({result['units']:,} communities), built in {result['built']:.1f} s\n"
                f"  scan: {made.notifications:,} notifications + {made.pushes:,} email deliveries in "
                f"{result['first']:.2f} s, {result['queries']} queries\n"
                f"  scan again: {result['again'].notifications} new in {result['second']:.2f} s, "
                f"{result['queries_again']} queries\n"
                f"  pushes: {result['sent']:,} emails sent in {result['pushes']:.2f} s"
            )
        if len(results) == 2 and results[0]["queries"] != results[1]["queries"]:
            print("QUERY COUNT GREW WITH THE DATA", file=sys.stderr)
            return 1
        if not args.tiny and results[-1]["first"] >= 10:
            print("SCAN SLOWER THAN 10 s", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.keep:
            from django.db import connection

            connection.close()
            recreate_database(url, DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
