import os
import sys

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from config import embedded_db
from orgs.models import Role
from tests.factories import make_member, make_unit

IN_CI = bool(os.environ.get("CI"))


def pytest_collection_modifyitems(config, items):
    """A test that needs Redis skips on a laptop without it but fails in CI if it is missing."""
    for item in items:
        if item.get_closest_marker("redis"):
            item.fixturenames.append("_require_redis")


def pytest_make_parametrize_id(config, val, argname):
    """Long byte strings (generated files) by their first bytes: a full dump is unreadable, and the
    timestamps inside a generated zip (even its compressed length) would give each pytest-xdist
    worker other test ids. pytest numbers ids that come out equal."""
    if isinstance(val, bytes) and len(val) > 32:
        return f"{val[:4].decode('ascii', 'backslashreplace')}..."
    return None


def made_once_for_the_scope(django_db_blocker, make):
    """For a module- or class-scoped fixture: `make()` the data once, inside a transaction that stays
    open around the scope's tests and is rolled back after them. Each test still starts from exactly
    that data: pytest-django runs it in a savepoint of this transaction, rolled back after it. Hand the
    tests `copy.deepcopy`s of model objects, so none sees another's in-memory changes. Every test of
    the scope runs inside the transaction, so none may be transactional or close the connection."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            data = make()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield data
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def pytest_sessionfinish(session):
    """Without DATABASE_URL the tests ran on the embedded server, started by their first connection:
    stop it now (when no other process uses it) rather than at exit, after pytest closed the log's streams."""
    embedded_db.leave_all()


@pytest.fixture
def _require_redis():
    import redis
    from django.conf import settings

    url = settings.REDIS_URL
    try:
        if not url:
            raise ConnectionError("REDIS_URL is not set")
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"needs Redis at REDIS_URL: {exc}")
        pytest.skip(f"needs Redis: {exc}")


@pytest.fixture
def api():
    """An API client speaking Chinese unless a test asks otherwise."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    return client


def login(client: APIClient, user) -> APIClient:
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def people(world):
    return build_people(world)


def build_world() -> dict:
    """Two districts. District A: streets S1 (communities C1, C2) and S2 (community C3). District B: street T1 (D1)."""
    a = make_unit(name="中原区", code="410102000000")
    s1 = make_unit(a, name="秦岭路街道", code="410102010000")
    s2 = make_unit(a, name="建设路街道", code="410102002000")
    c1 = make_unit(s1, name="建西社区", code="410102010001")
    c2 = make_unit(s1, name="杜康社区", code="410102010002")
    c3 = make_unit(s2, name="电新街社区", code="410102002001")
    b = make_unit(name="二七区", code="410103000000")
    t1 = make_unit(b, name="淮河路街道", code="410103001000")
    d1 = make_unit(t1, name="陇西社区", code="410103001001")
    return {"A": a, "S1": s1, "S2": s2, "C1": c1, "C2": c2, "C3": c3, "B": b, "T1": t1, "D1": d1}


def build_people(world: dict) -> dict:
    """One person per role at each level of district A's first branch (plus an administrator of B)."""
    return {
        "district_admin": make_member(world["A"], Role.ADMINISTRATOR, "district_admin"),
        "district_officer": make_member(world["A"], Role.OFFICER, "district_officer"),
        "street_admin": make_member(world["S1"], Role.ADMINISTRATOR, "street_admin"),
        "street_officer": make_member(world["S1"], Role.OFFICER, "street_officer"),
        "street_viewer": make_member(world["S1"], Role.VIEWER, "street_viewer"),
        "community_worker": make_member(world["C1"], Role.WORKER, "community_worker"),
        "other_admin": make_member(world["B"], Role.ADMINISTRATOR, "other_admin"),
    }


@pytest.fixture(autouse=True)
def dispatch_enqueued(monkeypatch):
    """After-commit dispatch jobs of domain events (common.events), recorded instead of sent to a
    broker. Tests dispatch by calling common.events.dispatch_pending, or start a real worker."""
    calls: list[bool] = []
    monkeypatch.setattr("common.events.enqueue_dispatch", lambda: calls.append(True))
    return calls


@pytest.fixture(autouse=True)
def sending_enqueued(monkeypatch):
    """After-commit jobs that push new notifications (notifications.notices), recorded instead of
    sent to a broker. Tests push by calling notifications.deliveries.deliveries_send, or start a
    real worker."""
    calls: list[bool] = []
    monkeypatch.setattr("notifications.notices.enqueue_sending", lambda: calls.append(True))
    return calls
