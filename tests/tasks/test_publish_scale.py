"""Publishing and delegating run a bounded number of queries whatever the number of targets."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Assignment
from tests.conftest import login
from tests.tasks.helpers import assignment_of, bulk_units, delegate_to_communities, make_task, published_task

pytestmark = pytest.mark.django_db

MAX_PUBLISH_QUERIES = 14


def _publish(api, task) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.post(f"/api/v1/tasks/{task.pk}/publish/")
    assert response.status_code == 200, response.json()
    return response.json()["created"], len(queries)


@pytest.mark.parametrize("as_levels", [False, True], ids=["explicit-units", "level-targets"])
def test_publishing_1000_targets_takes_as_many_queries_as_10(api, world, people, as_levels):
    officer = people["district_officer"]
    small_ids = bulk_units(world["S1"], 10, "SM")
    big_ids = bulk_units(world["S2"], 1000, "BG")
    if as_levels:
        small_targets = [{"unit": world["S1"].pk, "level": "community"}]
        big_targets = [{"unit": world["S2"].pk, "level": "community"}]
    else:
        small_targets = [{"unit": pk} for pk in small_ids]
        big_targets = [{"unit": pk} for pk in big_ids]
    small, big = make_task(officer, world["A"], small_targets), make_task(officer, world["A"], big_targets)
    login(api, officer)

    created_small, queries_small = _publish(api, small)
    created_big, queries_big = _publish(api, big)

    assert created_small == (12 if as_levels else 10)
    assert created_big == (1001 if as_levels else 1000)
    assert queries_big == queries_small <= MAX_PUBLISH_QUERIES
    assert Assignment.objects.filter(task=big).count() == created_big
    # and again: nothing more, still bounded
    assert _publish(api, big) == (0, queries_small - 3)  # no status change, audit row or announcement


def test_delegating_to_1000_units_takes_as_many_queries_as_to_10(
    world, people, django_assert_max_num_queries
):
    bulk_units(world["S1"], 10, "DS")
    bulk_units(world["S2"], 1000, "DB")
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["A"].pk, "level": "street"}]
    )
    for street, expected in (("S1", 12), ("S2", 1001)):
        parent = assignment_of(task, world[street])
        with django_assert_max_num_queries(10):
            result = delegate_to_communities(parent, people["district_officer"])
        assert result.created == expected


def test_cancelling_a_large_task_is_set_based(world, people, django_assert_max_num_queries):
    from tasks import services
    from tasks.models import AssignmentEvent

    bulk_units(world["S2"], 1000, "CX")
    task = published_task(
        people["district_officer"], world["A"], [{"unit": world["S2"].pk, "level": "community"}]
    )
    with django_assert_max_num_queries(8):
        result = services.task_cancel(actor=people["district_officer"], task=task, reason="重复派发")
    assert result.ended == 1001
    assert AssignmentEvent.objects.filter(assignment__task=task, verb="cancel").count() == 1001
