"""Benchmark: scoring at district scale, and the ledger export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_scoring.py
    ... bench_scoring.py --tiny     # a few hundred rows: proves the benchmark still runs (CI)

Builds, in a scratch database and set-based (generate_series, no Python loop per row), a district
of 200 streets × 499 communities (100,001 units) and 100 tasks due across the twelve months of 2026,
each published to a tenth of the communities: 1,000,000 assignments. Seven in ten are approved
(reported on time or up to five days late, rated 1–5 or not, with people served, volunteers and
hours), one in ten is submitted and waits, two in ten stay open. Then times:

- the full recompute (`services.scores_recompute`: every score line, period score and monthly
  figure from scratch), then the same again with nothing changed (the nightly run);
- one approval's incremental refresh (what the `assignment.approved` handler does);
- `GET /api/v1/scores/leaderboard/` (the 200 streets; one street's 499 communities; the first page
  of all 99,800 communities), `GET /api/v1/scores/units/{id}/` and `GET /api/v1/stats/` (a
  month, the year, the year for one category), end to end through DRF;
- `GET /api/v1/tasks/{id}/ledger/?format=xlsx` of a task with 10,000 assignments, and the peak
  Python memory of the export for 2,500 and 10,000 rows (flat: write-only workbook, rows from a
  cursor).
- last, a new policy version from January (most lines and period scores change) and the district's
  recompute that `scoring.recompute_district` runs after it.

Results go to docs/benchmarks.md by hand.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(__file__))

from bench_common import analyze, fmt, machine, recreate_database, setup_django  # noqa: E402

SCRATCH = "chuanxi_bench_scoring"


def reuse_django(url: str) -> None:
    from bench_common import REPO, scoped, with_database

    # The same name a --keep run left (setup_django scopes it by the server's database name).
    os.environ["DATABASE_URL"] = with_database(url, scoped(url, SCRATCH))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    sys.path.insert(0, str(REPO / "backend"))
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def build(streets: int, communities: int, tasks: int, share: int) -> dict:
    """The district, its people, the tasks, assignments and reports, all in SQL."""
    from django.db import connection

    from orgs.models import Membership, OrgUnit, Role, User
    from tasks.models import TaskCategory

    width = 2 * (1 + communities)  # lft..rght span of a street with its communities
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orgs_orgunit (name, code, parent_id, tree_id, lft, rght, level, station_name, address, "
            "contact_phone, is_active, created_at, updated_at) VALUES ('基准区', 'B000000000', NULL, 1, 1, %s, 0, "
            "'', '', '', true, now(), now()) RETURNING id",
            [2 * (1 + streets + streets * communities)],
        )
        district_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO orgs_orgunit (name, code, parent_id, tree_id, lft, rght, level, station_name, address, "
            "contact_phone, is_active, created_at, updated_at) "
            "SELECT '街道' || s, 'B' || lpad((s + 1)::text, 4, '0') || '00000', %s, 1, 2 + s * %s, 1 + (s + 1) * %s, 1, "
            "'', '', '', true, now(), now() FROM generate_series(0, %s - 1) s",
            [district_id, width, width, streets],
        )
        cursor.execute(
            "INSERT INTO orgs_orgunit (name, code, parent_id, tree_id, lft, rght, level, station_name, address, "
            "contact_phone, is_active, created_at, updated_at) "
            "SELECT '社区' || st.s || '-' || c, 'B' || lpad((st.s + 1)::text, 4, '0') || lpad((c + 1)::text, 5, '0'), "
            "st.id, 1, st.lft + 1 + 2 * c, st.lft + 2 + 2 * c, 2, '', '', '', true, now(), now() "
            "FROM (SELECT id, lft, ((lft - 2) / %s) AS s FROM orgs_orgunit WHERE level = 1) st "
            "CROSS JOIN generate_series(0, %s - 1) c",
            [width, communities],
        )
    district = OrgUnit.objects.get(pk=district_id)
    admin = User.objects.create_user("bench_admin", password="x", is_superuser=True, is_staff=True)
    officer = User.objects.create_user("bench_officer", password="x")
    Membership.objects.create(user=officer, unit=district, role=Role.OFFICER)
    Membership.objects.create(user=admin, unit=district, role=Role.ADMINISTRATOR)
    category_ids = list(TaskCategory.objects.values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_practicetask (title, description, category_id, issuer_unit_id, author_id, starts_at, "
            "due_at, points, evidence_requirements, targets, status, published_at, created_at, updated_at) "
            "SELECT '基准任务' || k, '', (%s::bigint[])[1 + k %% array_length(%s::bigint[], 1)], %s, %s, "
            "make_timestamptz(2026, 1 + k %% 12, 1, 9, 0, 0, 'Asia/Shanghai'), "
            "make_timestamptz(2026, 1 + k %% 12, 20, 18, 0, 0, 'Asia/Shanghai'), (1 + k %% 4) * 5, '{}', '[]', "
            "'published', now(), now(), now() FROM generate_series(0, %s - 1) k",
            [category_ids, category_ids, district_id, officer.pk, tasks],
        )
        # Each task to the communities whose number falls in its share (one in `share`).
        cursor.execute(
            "INSERT INTO tasks_assignment (task_id, unit_id, parent_id, status, due_at, version, created_at, updated_at) "
            "SELECT t.id, u.id, NULL, 'pending', t.due_at, 0, now(), now() "
            "FROM (SELECT id, due_at, row_number() OVER (ORDER BY id) AS k FROM tasks_practicetask) t "
            "JOIN orgs_orgunit u ON u.level = 2 AND u.id %% %s = t.k %% %s",
            [share, share],
        )
        # Seven in ten approved, one in ten submitted, the rest open; reports on time or late.
        cursor.execute(
            "INSERT INTO tasks_submission (assignment_id, submitted_by_id, summary, held_at, participants, volunteers, "
            "volunteer_hours, location_text, created_at, missing_units, decision, review_comment, rating, "
            "reviewed_by_id, reviewed_at) "
            "SELECT a.id, %s, '基准活动', a.due_at - interval '2 days', 20 + a.id %% 200, 2 + a.id %% 20, "
            "(1 + a.id %% 40) * 1.5, '', a.due_at + ((a.id %% 9) - 4) * interval '1 day' - interval '1 hour', '[]', "
            "CASE WHEN a.id %% 10 < 7 THEN 'approve' ELSE '' END, '', "
            "CASE WHEN a.id %% 10 < 7 AND a.id %% 6 > 0 THEN a.id %% 6 END, "
            "CASE WHEN a.id %% 10 < 7 THEN %s END, CASE WHEN a.id %% 10 < 7 THEN a.due_at + interval '3 days' END "
            "FROM tasks_assignment a WHERE a.id %% 10 < 8",
            [officer.pk, officer.pk],
        )
        cursor.execute(
            "UPDATE tasks_assignment a SET current_submission_id = s.id, "
            "status = CASE WHEN s.decision = 'approve' THEN 'approved' ELSE 'submitted' END, "
            "settled_at = CASE WHEN s.decision = 'approve' THEN s.reviewed_at END "
            "FROM tasks_submission s WHERE s.assignment_id = a.id"
        )
        cursor.execute("SELECT count(*) FROM orgs_orgunit")
        units = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tasks_assignment")
        assignments = cursor.fetchone()[0]
    return {"district": district, "admin": admin, "units": units, "assignments": assignments}


def big_task(district, officer, size: int):
    """One task with `size` assignments, half approved with reports (the ledger's rows)."""
    from django.db import connection

    from tasks.models import PracticeTask

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_practicetask (title, description, category_id, issuer_unit_id, author_id, starts_at, "
            "due_at, points, evidence_requirements, targets, status, published_at, created_at, updated_at) "
            "SELECT '台账任务', '', (SELECT min(id) FROM tasks_taskcategory), %s, %s, "
            "make_timestamptz(2026, 6, 1, 9, 0, 0, 'Asia/Shanghai'), make_timestamptz(2026, 6, 20, 18, 0, 0, "
            "'Asia/Shanghai'), 10, '{}', '[]', 'published', now(), now(), now() RETURNING id",
            [district.pk, officer.pk],
        )
        task_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO tasks_assignment (task_id, unit_id, parent_id, status, due_at, version, created_at, updated_at) "
            "SELECT %s, id, NULL, 'pending', make_timestamptz(2026, 6, 20, 18, 0, 0, 'Asia/Shanghai'), 0, now(), now() "
            "FROM orgs_orgunit WHERE level = 2 ORDER BY lft LIMIT %s",
            [task_id, size],
        )
        cursor.execute(
            "INSERT INTO tasks_submission (assignment_id, submitted_by_id, summary, held_at, participants, volunteers, "
            "volunteer_hours, location_text, created_at, missing_units, decision, review_comment, rating, "
            "reviewed_by_id, reviewed_at) SELECT a.id, %s, '活动', a.due_at - interval '3 days', 80, 8, 16, "
            "'=cmd|calc', a.due_at - interval '1 day', '[]', 'approve', '', 5, %s, a.due_at "
            "FROM tasks_assignment a WHERE a.task_id = %s AND a.id %% 2 = 0",
            [officer.pk, officer.pk, task_id],
        )
        cursor.execute(
            "UPDATE tasks_assignment a SET current_submission_id = s.id, status = 'approved', settled_at = s.reviewed_at "
            "FROM tasks_submission s WHERE s.assignment_id = a.id AND a.task_id = %s",
            [task_id],
        )
    return PracticeTask.objects.get(pk=task_id)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streets", type=int, default=200)
    parser.add_argument("--communities", type=int, default=499, help="per street")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--share", type=int, default=10, help="each task goes to one community in SHARE")
    parser.add_argument("--ledger", type=int, default=10000, help="rows of the exported ledger")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--tiny", action="store_true", help="a few hundred rows, one round: does it still run?"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the data a --keep run left (no rebuild)")
    args = parser.parse_args()
    if args.tiny:
        args.streets, args.communities, args.tasks, args.share, args.ledger, args.rounds = 3, 20, 6, 2, 40, 1
    url = os.environ.get("DATABASE_URL", "")
    if args.reuse:
        reuse_django(url)
    else:
        setup_django(url, SCRATCH)

    from datetime import date, datetime
    from decimal import Decimal
    from unittest.mock import patch
    from zoneinfo import ZoneInfo

    import time_machine
    from django.db import connection, transaction
    from rest_framework.test import APIClient

    from orgs.models import OrgUnit, User
    from scoring import services
    from scoring.compute import Scope
    from scoring.models import MonthlyStats, PeriodScore, ScoreLine
    from tasks.models import Assignment

    try:
        print(machine())
        started = time.monotonic()
        if args.reuse:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE scoring_scoreline, scoring_periodscore, scoring_monthlystats")
            district = OrgUnit.objects.get(lft=1)
        else:
            built = build(args.streets, args.communities, args.tasks, args.share)
            district = built["district"]
            print(f"built {built['units']:,} units and {built['assignments']:,} assignments")
            print(f"  in {time.monotonic() - started:.1f} s")
        analyze()
        now = datetime(2027, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

        started = time.monotonic()
        services.scores_recompute(now=now)
        first = time.monotonic() - started
        analyze()
        print(
            f"full recompute, from empty: {first:.1f} s → {ScoreLine.objects.count():,} lines, "
            f"{PeriodScore.objects.count():,} period scores, {MonthlyStats.objects.count():,} monthly figures"
        )
        started = time.monotonic()
        services.scores_recompute(now=now)
        print(f"full recompute, nothing changed (nightly): {time.monotonic() - started:.1f} s")

        pending = list(
            Assignment.objects.filter(status="submitted").values_list("id", flat=True)[: args.rounds]
        )
        times = []
        for assignment_id in pending:
            Assignment.objects.filter(pk=assignment_id).update(status="approved", settled_at=now)
            begin = time.perf_counter()
            services.scores_refresh(scope=Scope.of_assignments([assignment_id]), now=now)
            times.append(time.perf_counter() - begin)
        print(f"one approval, incremental refresh: {fmt(times)}")

        street = OrgUnit.objects.filter(level=1).order_by("lft").first()
        client = APIClient()
        client.force_authenticate(User.objects.get(username="bench_officer"))

        def timed(path: str, params: dict) -> str:
            samples, status = [], 0
            with time_machine.travel(now, tick=True):
                for _ in range(args.rounds + 1):
                    begin = time.perf_counter()
                    response = client.get(path, params)
                    samples.append(time.perf_counter() - begin)
                    status = response.status_code
            assert status == 200, (path, params, status)
            kept = [s * 1000 for s in samples[1:] or samples]
            return f"median {statistics.median(kept):.1f} ms (min {min(kept):.1f}, max {max(kept):.1f})"

        reads = [
            (
                "leaderboard: the streets",
                "/api/v1/scores/leaderboard/",
                {"level": "street", "period": "2026-06"},
            ),
            (
                "leaderboard: one street's communities",
                "/api/v1/scores/leaderboard/",
                {"level": "community", "period": "2026-06", "unit": street.pk},
            ),
            (
                "leaderboard: all communities, first page",
                "/api/v1/scores/leaderboard/",
                {"level": "community", "period": "2026-06"},
            ),
            (
                "leaderboard: the streets, the year",
                "/api/v1/scores/leaderboard/",
                {"level": "street", "period": "2026"},
            ),
            (
                "unit score of the district, a month",
                f"/api/v1/scores/units/{district.pk}/",
                {"period": "2026-06"},
            ),
            ("statistics of the district, a month", "/api/v1/stats/", {"period": "2026-06"}),
            ("statistics of the district, the year", "/api/v1/stats/", {"period": "2026"}),
            (
                "statistics, the year, one category",
                "/api/v1/stats/",
                {"period": "2026", "category": "volunteer_service"},
            ),
            ("statistics of one street, the year", "/api/v1/stats/", {"period": "2026", "unit": street.pk}),
        ]
        for label, path, params in reads:
            print(f"{label}: {timed(path, params)}")

        officer = User.objects.get(username="bench_officer")
        # (a --reuse run adds two more ledger tasks beside those of the earlier run: deleting reports
        # would check every assignment's current_submission_id, which has no index, for each)
        task = big_task(district, officer, args.ledger)
        small = big_task(district, officer, max(args.ledger // 4, 1))
        services.scores_recompute(now=now)

        def export(task_id: int) -> tuple[float, int]:
            with time_machine.travel(now, tick=True):
                begin = time.perf_counter()
                response = client.get(f"/api/v1/tasks/{task_id}/ledger/", {"format": "xlsx"})
                size = sum(len(chunk) for chunk in response.streaming_content)
                return time.perf_counter() - begin, size

        export(small.pk)  # warm-up: imports, translations, the first connection
        seconds, size = export(task.pk)
        print(f"ledger XLSX of {args.ledger:,} rows: {seconds:.2f} s, {size / 1024:.0f} KiB")
        peaks = []
        for chosen in (small, task):
            tracemalloc.start()
            export(chosen.pk)
            peaks.append(tracemalloc.get_traced_memory()[1] / 1024 / 1024)
            tracemalloc.stop()
        rows = [Assignment.objects.filter(task=chosen).count() for chosen in (small, task)]
        print(
            f"ledger XLSX peak Python memory (tracemalloc): {peaks[0]:.1f} MiB for {rows[0]:,} rows, "
            f"{peaks[1]:.1f} MiB for {rows[1]:,} rows"
        )

        # Last, as it changes the scores: a new policy version from January (4 stars and lateness
        # count differently, so most lines and nearly every period score change), then what
        # `scoring.recompute_district` does after it; the job is run here, not queued.
        from scoring.periods import Period

        with patch.object(services, "_enqueue_district"), transaction.atomic():
            policy = services.policy_create(
                actor=User.objects.get(username="bench_admin"),
                district=district,
                effective_from=Period.of("month", date(2026, 1, 1)),
                changes={"rating_4": Decimal("0.85"), "late_decay_per_day": Decimal("0.05")},
            )
        with time_machine.travel(now, tick=True):
            started = time.monotonic()
            services.scores_recompute_district(district_id=district.pk, since=date(2026, 1, 1))
        seconds = time.monotonic() - started
        changed = PeriodScore.objects.filter(policy=policy).count()
        assert changed, "the new policy version scored nothing"
        print(
            f"a new policy version from January, the district recomputed: {seconds:.1f} s "
            f"({changed:,} period scores now under it)"
        )
        connection.close()
    finally:
        if not (args.keep or args.reuse):
            from django.db import connections

            connections.close_all()
            recreate_database(url, SCRATCH, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
