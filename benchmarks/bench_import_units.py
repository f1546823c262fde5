"""Benchmark: import a division list of ~50,000 units, then import it again (the idempotent pass).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_import_units.py --units 50000
    .venv/bin/python benchmarks/bench_import_units.py --tiny    # seconds: does it still run?

Works in a scratch database `chuanxi_bench` on the server of DATABASE_URL (else the checkout's
embedded PostgreSQL, see bench_common): it is dropped and
created, migrated, used, and dropped again at the end (keep it with --keep). Nothing else on the
server is touched. Results go to docs/benchmarks.md by hand.
"""

import argparse
import csv
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import add_tiny_option, machine, recreate_database, server_url, setup_django  # noqa: E402

SCRATCH_DB = "chuanxi_bench"


def division_csv(districts: int, streets: int, communities: int) -> bytes:
    """District → street → community codes in the 12-digit statistical style, with practice-station data."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["code", "name", "parent_code", "station_name", "address", "contact_phone", "latitude", "longitude"]
    )
    for d in range(1, districts + 1):
        district = f"41{d:02d}00000000"
        writer.writerow(
            [
                district,
                f"第{d}区",
                "",
                f"第{d}区新时代文明实践中心",
                f"{d}区政府大院",
                "0371-60000000",
                "",
                "",
            ]
        )
        for s in range(1, streets + 1):
            street = f"41{d:02d}{s:03d}00000"
            writer.writerow(
                [street, f"第{d}区第{s}街道", district, f"第{s}街道新时代文明实践所", "", "", "", ""]
            )
            for c in range(1, communities + 1):
                writer.writerow(
                    [
                        f"41{d:02d}{s:03d}{c:05d}",
                        f"第{d}区第{s}街道第{c}社区",
                        street,
                        f"第{c}社区新时代文明实践站",
                        f"第{s}街道{c}号",
                        f"1380000{c:04d}",
                        f"{34 + d / 100 + c / 10000:.6f}",
                        f"{113 + s / 100:.6f}",
                    ]
                )
    return buffer.getvalue().encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=50000, help="about this many units (default 50000)")
    parser.add_argument("--districts", type=int, default=20)
    parser.add_argument("--streets", type=int, default=50, help="streets per district")
    parser.add_argument("--keep", action="store_true", help=f"keep the {SCRATCH_DB} database afterwards")
    add_tiny_option(parser)
    args = parser.parse_args()
    if args.tiny:
        args.units, args.districts, args.streets = 30, 2, 3

    url = server_url()
    per_street = max(
        0,
        round(
            (args.units - args.districts - args.districts * args.streets) / (args.districts * args.streets)
        ),
    )

    setup_django(url, SCRATCH_DB)
    from django.db import connection

    from orgs.imports import units_import
    from orgs.models import OrgUnit, User
    from orgs.tree import tree_problems

    try:
        admin = User.objects.create(username="bench", is_superuser=True, is_staff=True)
        content = division_csv(args.districts, args.streets, per_street)
        rows = content.count(b"\n") - 1
        print(machine())
        print(
            f"File: {rows} units ({args.districts} districts x {args.streets} streets x {per_street} communities), "
            f"{len(content) / 1024 / 1024:.1f} MB CSV"
        )

        started = time.perf_counter()
        first = units_import(actor=admin, file=content, filename="bench.csv")
        first_seconds = time.perf_counter() - started
        print(
            f"First import:  {first_seconds:6.2f} s  {rows / first_seconds:8.0f} rows/s  "
            f"(created {first.created}, updated {first.updated}, unchanged {first.unchanged})"
        )

        started = time.perf_counter()
        second = units_import(actor=admin, file=content, filename="bench.csv")
        second_seconds = time.perf_counter() - started
        print(
            f"Re-import:     {second_seconds:6.2f} s  {rows / second_seconds:8.0f} rows/s  "
            f"(created {second.created}, updated {second.updated}, unchanged {second.unchanged})"
        )

        started = time.perf_counter()
        problems = tree_problems()
        print(
            f"tree_problems(): {len(problems)} problem(s) in {time.perf_counter() - started:.2f} s {problems[:5]}"
        )
        print(f"Units in the database: {OrgUnit.objects.count()}")
        ok = first.created == rows and second.unchanged == rows and not problems
        return 0 if ok else 1
    finally:
        connection.close()
        if not args.keep:
            recreate_database(url, SCRATCH_DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
