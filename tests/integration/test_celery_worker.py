"""orgs.check_tree on a real Celery worker over the real Redis broker, and its failure mode."""

import logging
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache

from orgs.jobs import CHECK_TREE_CACHE_KEY, TreeDamaged, check_tree
from orgs.models import OrgUnit
from orgs.tree import tree_problems


def _wait_for_marker(timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        marker = cache.get(CHECK_TREE_CACHE_KEY)
        if marker is not None:
            return marker
        time.sleep(0.05)
    pytest.fail(f"orgs.check_tree did not run within {timeout} s")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # the worker thread has its own connection: data must be committed
def test_check_tree_runs_on_a_real_worker(world):
    from config.celery_app import app

    # The settings send jobs to Redis whenever REDIS_URL is set; this test is about that path.
    assert app.conf.broker_url == settings.REDIS_URL
    # A queue of our own, so no other worker on the same Redis (a running demo, another test run)
    # can take the job, and this worker takes nothing else.
    queue = f"test-check-tree-{uuid.uuid4().hex[:12]}"
    cache.delete(CHECK_TREE_CACHE_KEY)

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        check_tree.apply_async(queue=queue)
        marker = _wait_for_marker()

    assert marker["problems"] == 0
    assert marker["at"]


@pytest.mark.django_db
def test_check_tree_fails_loudly_on_a_damaged_tree(world, caplog):
    assert check_tree() == 0
    # A raw update bypasses mptt, as a careless data migration would.
    OrgUnit.objects.filter(pk=world["C1"].pk).update(rght=world["C1"].rght + 100)
    assert tree_problems()

    with caplog.at_level(logging.ERROR, logger="orgs.jobs"), pytest.raises(TreeDamaged):
        check_tree()

    assert cache.get(CHECK_TREE_CACHE_KEY)["problems"] == len(tree_problems())
    assert any("damaged" in record.getMessage() for record in caplog.records)
