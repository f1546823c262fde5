"""Reminders through real Celery workers and beats on real Redis, and what happens when they fail.

- a thread worker (as tests/integration/test_celery_worker.py) takes the scan and the pushes;
- worker and beat processes (`celery -A config.celery_app ...`, as in production) are killed with
  SIGKILL mid-scan, run twice at once, and see their Redis restarted. The Redis they use is one this
  test starts on its own port (8138): the machine's Redis is shared and is never restarted.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from notifications.jobs import scan, send_deliveries
from notifications.models import Delivery, Kind, Notification
from notifications.services import robot_create
from orgs.models import Role
from tests.conftest import login
from tests.factories import make_member
from tests.notifications.robot_server import RobotServer
from tests.tasks.helpers import bulk_units, published_task

REPO = Path(__file__).resolve().parents[2]
OWN_REDIS_PORT = 8138


def wait_for(check, timeout: float = 30.0, every: float = 0.1, message=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail((message() if callable(message) else message) or f"not within {timeout} s")


# A worker thread in this process -----------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # the worker has its own connection: data must be committed
def test_a_task_due_in_minutes_shows_its_reminder_in_the_api_through_the_worker(api, world, people):
    from config.celery_app import app

    assert app.conf.broker_url == django_settings.REDIS_URL
    queue = f"test-notifications-{uuid.uuid4().hex[:12]}"
    published_task(
        people["district_officer"],
        world["A"],
        [{"unit": world["A"].pk, "level": "community"}],
        title="文明交通劝导",
        due_at=timezone.now() + timedelta(minutes=5),
    )
    login(api, people["community_worker"])
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        scan.apply_async(queue=queue)  # what beat sends every few minutes
        wait_for(lambda: api.get("/api/v1/notifications/unread-count/").json()["unread"] == 1)
    [row] = api.get("/api/v1/notifications/").json()["results"]
    assert row["title"] == "临期提醒：《文明交通劝导》"
    assert "还剩 4 分钟" in row["body"] or "还剩 5 分钟" in row["body"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_robot_answering_500_is_retried_by_the_worker_then_recorded_while_email_goes_out(
    world, people, settings, mailoutbox
):
    from config.celery_app import app

    settings.NOTIFICATIONS_QUIET_HOURS = ""
    settings.NOTIFICATIONS_EMAIL = True
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0.2
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_HTTP_TIMEOUT = 0.5
    worker = people["community_worker"]
    worker.email = "jianxi@example.org"
    worker.save()
    queue = f"test-deliveries-{uuid.uuid4().hex[:12]}"
    with RobotServer() as server:
        robot_create(
            actor=people["street_admin"],
            unit=world["C1"],
            name="建西社区工作群",
            platform="wecom",
            webhook_url=f"{server.url}/fail/wecom",
        )
        published_task(
            people["district_officer"],
            world["A"],
            [{"unit": world["C1"].pk}],
            due_at=timezone.now() + timedelta(minutes=30),
        )
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            scan.apply_async(queue=queue)
            wait_for(lambda: Delivery.objects.count() == 2)

            def robot_settled():
                send_deliveries.apply_async(queue=queue)  # what beat sends every minute
                time.sleep(0.3)
                return Delivery.objects.get(channel="robot").status == Delivery.Status.FAILED

            wait_for(robot_settled, timeout=30, every=0.2)
        assert len(server.requests) == 3
    robot_delivery = Delivery.objects.get(channel="robot")
    assert robot_delivery.attempts == 3 and "HTTP 500" in robot_delivery.error
    assert Delivery.objects.get(channel="email").status == Delivery.Status.SENT
    assert [m.to for m in mailoutbox] == [["jianxi@example.org"]]


# Worker and beat processes -------------------------------------------------------------------------


def _environment(broker: str, **extra: str) -> dict[str, str]:
    test_db = connection.settings_dict["NAME"]
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{test_db}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "PYTHONPATH": str(REPO / "backend"),
        "NOTIFICATIONS_QUIET_HOURS": "",
    }
    env.update(extra)
    return env


@contextmanager
def celery(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`celery -A config.celery_app <args>` in its own process group, stopped (SIGKILL) at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", *args, "--loglevel=INFO"],
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        kill(process)


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@contextmanager
def own_redis(workdir: Path) -> Iterator[dict]:
    """A redis-server of this test on port 8138, restartable; never the machine's shared one."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed (Debian package redis-server)")
    state: dict = {"url": f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"}

    def start():
        state["process"] = subprocess.Popen(
            [
                binary,
                "--port",
                str(OWN_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(workdir),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(state["url"])), timeout=10)

    def stop():
        state["process"].terminate()
        state["process"].wait(10)

    state["start"], state["stop"] = start, stop
    start()
    try:
        yield state
    finally:
        if state["process"].poll() is None:
            stop()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _send_scan(broker: str) -> None:
    """Put one scan on the queue of the worker's broker, as beat does."""
    from config.celery_app import app

    with app.connection_for_write(broker) as conn:
        scan.apply_async(queue="notifications", connection=conn)


def _notified_units() -> list[tuple[int, str]]:
    return list(Notification.objects.order_by("id").values_list("assignment__unit_id", "occasion"))


def _due_soon_for(units: list[int], title: str, people) -> None:
    published_task(
        people["district_officer"],
        people["district_officer"].memberships.get().unit,
        [{"unit": unit} for unit in units],
        title=title,
        due_at=timezone.now() + timedelta(minutes=10),
    )


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="wt_notify-celery-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_scan_loses_nothing_and_doubles_nothing(world, people, workdir):
    # 60 communities with a worker each: the scan makes 60 notifications in one statement.
    units = bulk_units(world["A"], 1, "K", children_each=60)
    from orgs.models import OrgUnit

    communities = list(OrgUnit.objects.filter(parent_id=units[0]).order_by("id"))
    workers = {unit.pk: make_member(unit, Role.WORKER) for unit in communities}
    _due_soon_for([unit.pk for unit in communities], "防汛安全宣传", people)
    first = communities[0]
    assignment = first.assignments.get()

    with own_redis(workdir) as redis_server:
        env = _environment(redis_server["url"], CELERY_VISIBILITY_TIMEOUT="3")
        worker_args = [
            "worker",
            "-Q",
            "notifications",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
        ]
        log = workdir / "worker.log"
        # Hold one of the rows the scan will write, uncommitted: the scan blocks in the middle of its
        # statement, after it has started writing, until this transaction ends.
        blocker = psycopg.connect(env["DATABASE_URL"])
        observer = psycopg.connect(env["DATABASE_URL"], autocommit=True)
        try:
            blocker.execute(
                "INSERT INTO notifications_notification (recipient_id, kind, subject, occasion, data, created_at) "
                "VALUES (%s, 'due_soon', %s, 'before:120', '{}', now())",
                [workers[first.pk].pk, f"assignment:{assignment.pk}"],
            )
            with celery(worker_args, env, log) as worker:
                _send_scan(redis_server["url"])
                wait_for(
                    lambda: observer.execute(
                        # (pg_stat_activity keeps the first 1 kB of a query: match its start)
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE '%WITH notice AS%'"
                    ).fetchone()[0],
                    timeout=60,
                    message=lambda: "the scan never reached the held row; worker log:\n" + _tail(log),
                )
                os.killpg(worker.pid, signal.SIGKILL)  # the whole worker, mid-statement
                worker.wait(10)
        finally:
            blocker.rollback()
            blocker.close()
        # The killed scan's transaction ends with its connection: nothing of it is committed.
        wait_for(
            lambda: not observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%WITH notice AS%' "
                "AND state <> 'idle' AND pid <> pg_backend_pid()"
            ).fetchone()[0],
            timeout=20,
        )
        observer.close()
        assert Notification.objects.count() == 0
        time.sleep(3.5)  # past the visibility timeout: the unacknowledged scan is handed out again
        with celery(worker_args, env, log):
            wait_for(lambda: Notification.objects.count() >= 60, timeout=60, message=lambda: _tail(log))
            time.sleep(1)
    rows = list(Notification.objects.values_list("recipient_id", "kind", "occasion"))
    assert len(rows) == len(set(rows)) == 60
    assert {recipient for recipient, _kind, _occasion in rows} == {user.pk for user in workers.values()}
    assert {kind for _r, kind, _o in rows} == {Kind.DUE_SOON}


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_double_nothing_and_a_redis_restart_is_survived(world, people, workdir):
    worker_c1 = people["community_worker"]
    c3_worker = make_member(world["C3"], Role.WORKER)
    with own_redis(workdir) as redis_server:
        env = _environment(redis_server["url"], NOTIFICATIONS_SCAN_SECONDS="1")
        log = workdir / "celery.log"
        worker_args = [
            "worker",
            "-Q",
            "notifications,celery",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
        ]
        beat_args = ["beat", "--scheduler=django_celery_beat.schedulers:DatabaseScheduler"]
        with (
            celery(worker_args, env, log) as worker,
            celery([*beat_args, f"--schedule={workdir / 'beat1'}"], env, log) as beat1,
            celery([*beat_args, f"--schedule={workdir / 'beat2'}"], env, log) as beat2,
        ):
            _due_soon_for([world["C1"].pk], "第一项", people)
            wait_for(
                lambda: Notification.objects.filter(recipient=worker_c1).exists(),
                timeout=60,
                message=lambda: _tail(log),
            )
            time.sleep(4)  # several scans from both beats
            assert Notification.objects.count() == 1

            redis_server["stop"]()
            time.sleep(2)
            redis_server["start"]()
            _due_soon_for([world["C3"].pk], "第二项", people)
            wait_for(
                lambda: Notification.objects.filter(recipient=c3_worker).exists(),
                timeout=90,
                message=lambda: _tail(log),
            )
            time.sleep(3)
            assert all(process.poll() is None for process in (worker, beat1, beat2))
    rows = list(Notification.objects.values_list("recipient_id", "kind", "subject", "occasion"))
    assert len(rows) == len(set(rows)) == 2
