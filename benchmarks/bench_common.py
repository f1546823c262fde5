"""Shared set-up for the benchmarks: a scratch PostgreSQL database and a large tree built fast.

Not a benchmark itself. Each benchmark names its scratch database (default `chuanxi_bench_tasks`,
suffixed with DATABASE_URL's own database name: see `scoped`) on the server of DATABASE_URL, or without it on the checkout's embedded server (the demo's,
.demo/postgres, started for the run and stopped after it unless the demo is using it); it is
dropped and created, migrated, used, and dropped again (unless --keep). Nothing else on the server
is touched.

Every benchmark takes --tiny (or BENCH_TINY=1): a few rows and one round, to prove in seconds that
it still runs against the current schema (`make bench-tiny`, run by CI). Tiny figures mean nothing.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
SCRATCH_DB = "chuanxi_bench_tasks"


def add_tiny_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tiny",
        action="store_true",
        default=os.environ.get("BENCH_TINY", "") not in ("", "0"),
        help="a few rows and one round: checks that the benchmark runs (CI), measures nothing",
    )


def server_url() -> str:
    """DATABASE_URL, or else the checkout's embedded PostgreSQL (the demo's), joined for this run."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgres://user@host:port/any).")
        return url
    sys.path.insert(0, str(REPO / "backend"))
    from config import embedded_db

    server = embedded_db.server(REPO / ".demo" / "postgres")
    server.join()
    return server.url("postgres")


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def scoped(url: str, name: str) -> str:
    """`name` with the database name of `url` appended (`chuanxi_bench_tasks_test` for .../test), so
    the benchmarks of two checkouts, or of CI, on one shared server never drop each other's."""
    own = urlsplit(url).path.lstrip("/")
    return f"{name}_{own}" if own and own != "postgres" else name


def recreate_database(url: str, name: str = SCRATCH_DB, *, drop_only: bool = False) -> None:
    import psycopg

    name = scoped(url, name)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str, name: str = SCRATCH_DB) -> None:
    """Point Django at a fresh scratch database `name` on the server of `url` (server_url()) and migrate it."""
    recreate_database(url, name)
    os.environ["DATABASE_URL"] = with_database(url, scoped(url, name))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    sys.path.insert(0, str(REPO / "backend"))
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")),
            "",
        )
    except OSError:
        pass
    return f"PostgreSQL {server}, Python {platform.python_version()}, {os.cpu_count()} CPUs ({model})"


def build_district(code: str, streets: int, communities: int):
    """A district with `streets` streets of `communities` communities each: bulk insert, one renumbering."""
    from django.db import transaction

    from orgs.models import OrgUnit
    from orgs.tree import lock_new_roots, next_tree_id, rebuild_trees

    with transaction.atomic():
        lock_new_roots()
        tree_id = next_tree_id()
        district = OrgUnit.objects.bulk_create(
            [OrgUnit(name=f"区{code}", code=code, tree_id=tree_id, lft=0, rght=0, level=0)]
        )[0]
        street_rows = OrgUnit.objects.bulk_create(
            [
                OrgUnit(
                    name=f"区{code}街道{s}",
                    code=f"{code}S{s:03d}",
                    parent_id=district.pk,
                    tree_id=tree_id,
                    lft=0,
                    rght=0,
                    level=1,
                )
                for s in range(streets)
            ],
            batch_size=5000,
        )
        batch: list[OrgUnit] = []
        for s, street in enumerate(street_rows):
            for c in range(communities):
                batch.append(
                    OrgUnit(
                        name=f"区{code}街道{s}社区{c}",
                        code=f"{code}S{s:03d}C{c:04d}",
                        parent_id=street.pk,
                        tree_id=tree_id,
                        lft=0,
                        rght=0,
                        level=2,
                    )
                )
            if len(batch) >= 20000:
                OrgUnit.objects.bulk_create(batch, batch_size=5000)
                batch = []
        OrgUnit.objects.bulk_create(batch, batch_size=5000)
        rebuild_trees([tree_id])
    return OrgUnit.objects.get(pk=district.pk)


def spread_task(district, officer, title: str):
    """A task published by `officer` to every community of `district`, its assignments spread over
    pending / accepted / submitted / approved / returned and one in ten past due. Returns (task, count)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from tasks import services
    from tasks.models import TaskCategory

    task = services.task_create(
        actor=officer,
        issuer_unit=district,
        title=title,
        category=TaskCategory.objects.get(code="volunteer_service"),
        due_at=timezone.now() + timedelta(days=7),
        targets=[{"unit": district.pk, "level": "community"}],
    )
    created = services.task_publish(actor=officer, task=task).created
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_assignment SET status = (ARRAY['pending','accepted','submitted','approved','returned'])[id %% 5 + 1], "
            "due_at = CASE WHEN id %% 10 = 0 THEN now() - interval '1 day' ELSE due_at END WHERE task_id = %s",
            [task.pk],
        )
    return task, created


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def fmt(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.3f} s (min {min(seconds):.3f}, max {max(seconds):.3f})"
