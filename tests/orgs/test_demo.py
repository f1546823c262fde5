"""`manage.py load_demo` and `manage.py serve_demo`: what a newcomer sees after `make demo`."""

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from orgs import demo_data
from orgs.models import Membership, OrgEvent, OrgUnit, Role, User
from orgs.scope import Action, can, units_for
from orgs.tree import tree_problems
from tests.conftest import made_once_for_the_scope

REPO = Path(__file__).resolve().parents[2]


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "units": list(
            OrgUnit.objects.order_by("code").values_list("code", "parent__code", "lft", "rght", "name")
        ),
        "users": list(User.objects.order_by("username").values_list("username", "password", "real_name")),
        "memberships": list(
            Membership.objects.order_by("user__username").values_list("user__username", "unit__code", "role")
        ),
        "events": OrgEvent.objects.count(),
    }


@pytest.fixture(scope="class")
def _demo_loaded(django_db_setup, django_db_blocker):
    """The tree and the accounts, loaded once for the tests of TestTheLoadedDemo (thousands of queries);
    each test's changes are undone after it. The month of tasks has its own tests
    (tests/web/test_demo_month.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEMO_PASSWORD", raising=False)
        yield from made_once_for_the_scope(django_db_blocker, lambda: load_demo("--skip-month"))


@pytest.fixture
def demo(_demo_loaded, db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    return _demo_loaded


class TestTheLoadedDemo:
    def test_the_district_with_its_fourteen_streets(self, demo):
        district = OrgUnit.objects.get(code="410102000000")
        streets = OrgUnit.objects.filter(parent=district)

        assert district.name == "郑州市中原区" and district.level == 0
        assert streets.count() == 14
        assert {s.name for s in streets} >= {"林山寨街道", "秦岭路街道", "须水街道", "柳湖街道"}
        assert OrgUnit.objects.get(code="410102004000").name == "秦岭路街道"
        assert tree_problems() == []

    def test_qinlinglu_street_has_its_real_communities(self, demo):
        qinlinglu = OrgUnit.objects.get(name="秦岭路街道")

        names = {unit.name for unit in qinlinglu.get_children()}

        assert names == {
            f"{name}社区"
            for name in ("六厂前街", "建西", "电新街", "杜康", "秦江", "金源", "锦艺东", "锦艺西")
        }

    def test_every_unit_is_a_plausible_practice_site_near_zhengzhou(self, demo):
        units = list(OrgUnit.objects.all())

        assert 90 <= len(units) <= 120
        for unit in units:
            assert re.fullmatch(r"410102\d{6}", unit.code), unit.code
            assert Decimal("34.6") < unit.latitude < Decimal("34.9"), unit
            assert Decimal("113.5") < unit.longitude < Decimal("113.75"), unit
            suffix = {0: "新时代文明实践中心", 1: "新时代文明实践所", 2: "新时代文明实践站"}[unit.level]
            assert unit.station_name.endswith(suffix), unit.station_name
        for street in OrgUnit.objects.filter(level=1):
            assert 3 <= street.get_children().count() <= 8, street.name

    def test_the_tree_was_built_through_the_services(self, demo):
        # Every unit and account has the audit event its service writes.
        assert OrgEvent.objects.filter(verb=OrgEvent.Verb.UNIT_CREATED).count() == OrgUnit.objects.count()
        assert OrgEvent.objects.filter(verb=OrgEvent.Verb.USER_CREATED).count() == User.objects.count()

    def test_accounts_and_their_reach(self, demo):
        district = OrgUnit.objects.get(code="410102000000")
        qinlinglu = OrgUnit.objects.get(name="秦岭路街道")
        jianxi = OrgUnit.objects.get(name="建西社区")
        admin = User.objects.get(username="admin")
        street_officer = User.objects.get(username="street_qinlinglu")
        worker = User.objects.get(username=f"worker_{jianxi.code[-6:]}")
        inspector = User.objects.get(username="inspector")

        assert admin.is_superuser and admin.is_staff
        assert Membership.objects.filter(user=admin, unit=district, role=Role.ADMINISTRATOR).exists()
        assert Membership.objects.filter(
            user__username="district_officer", unit=district, role=Role.OFFICER
        ).exists()
        assert set(units_for(street_officer)) == {qinlinglu, *qinlinglu.get_children()}
        assert can(street_officer, Action.REVIEW, jianxi)
        assert can(worker, Action.WORK, jianxi) and not can(worker, Action.WORK, qinlinglu)
        assert can(inspector, Action.VIEW, jianxi) and not can(inspector, Action.DISPATCH, district)
        assert User.objects.filter(username__startswith="street_").count() == 14
        assert (
            User.objects.filter(username__startswith="worker_").count()
            == OrgUnit.objects.filter(level=2).count()
        )

    def test_the_default_password_works_and_is_printed_with_the_accounts(self, demo):
        assert authenticate(username="admin", password=demo_data.DEFAULT_PASSWORD) is not None
        assert authenticate(username="worker_004002", password=demo_data.DEFAULT_PASSWORD) is not None
        assert "chuanxi-demo" in demo
        for username in ("admin", "district_officer", "inspector", "street_qinlinglu", "worker_004002"):
            assert re.search(rf"^{username}\s", demo, flags=re.MULTILINE), username
        assert "秦岭路街道" in demo

    def test_running_it_twice_changes_nothing(self, demo):
        before = snapshot()

        output = load_demo("--skip-month")

        assert snapshot() == before
        assert "0 created" in output

    def test_an_explicit_demo_password_opens_every_existing_account(self, demo, monkeypatch):
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
        load_demo("--skip-month")  # a plain re-run keeps the passwords people may have changed
        assert authenticate(username="inspector", password=demo_data.DEFAULT_PASSWORD) is not None

        monkeypatch.setenv("DEMO_PASSWORD", "changed-Secret-42")
        load_demo("--skip-month")

        assert authenticate(username="inspector", password="changed-Secret-42") is not None
        assert authenticate(username="admin", password="changed-Secret-42") is not None


def test_demo_password_comes_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-Secret-42")

    output = load_demo("--skip-month")

    assert authenticate(username="street_qinlinglu", password="another-Secret-42") is not None
    assert authenticate(username="street_qinlinglu", password=demo_data.DEFAULT_PASSWORD) is None
    assert "another-Secret-42" in output


def test_it_refuses_to_take_over_an_ordinary_admin_account(db):
    User.objects.create_user(username="admin", password="x-12345678")

    with pytest.raises(CommandError, match="not a superuser"):
        load_demo()
    assert not OrgUnit.objects.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def throwaway_database_url(db):
    """An empty database of its own on the tests' server, as a DATABASE_URL for a subprocess; dropped
    afterwards. (Not a copy of the test database: a live server's thread may hold a session on it.)"""
    import psycopg
    from django.db import connection
    from psycopg import sql

    config = connection.settings_dict
    name = f"{config['NAME']}_serve_demo"
    server = {
        "host": config["HOST"],
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"],
    }

    def admin(statement: sql.Composable) -> None:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin_connection:
            admin_connection.execute(statement)

    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    credentials = quote(server["user"], safe="") + (
        f":{quote(server['password'], safe='')}" if server["password"] else ""
    )
    yield f"postgres://{credentials}@{quote(server['host'], safe='')}:{server['port']}/{name}"
    admin(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_serve_demo_runs_web_worker_and_beat_and_stops_them_all(throwaway_database_url):
    """What `make demo` does after migrate + load_demo, on a throwaway database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["DATABASE_URL"] = throwaway_database_url
    port = _free_port()
    manage = [sys.executable, str(REPO / "backend" / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, timeout=120)

    server = subprocess.Popen(
        [*manage, "serve_demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read()
                break
            except OSError:
                assert server.poll() is None, "serve_demo exited early"
                time.sleep(0.3)
        assert b'"status": "ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/docs/", timeout=5) as response:
            assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.read()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()

    pids = [int(pid) for pid in re.findall(r"Celery (?:worker|beat): pid (\d+)", output)]
    assert len(pids) == 2, output
    assert f"http://127.0.0.1:{port}/admin/" in output
    assert f"http://127.0.0.1:{port}/\n" in output  # the web app
    assert "Stopped Celery worker" in output and "Stopped Celery beat" in output
    time.sleep(0.2)
    assert not [pid for pid in pids if _alive(pid)], "a Celery child survived serve_demo"
