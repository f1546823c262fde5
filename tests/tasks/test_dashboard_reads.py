"""The reads the pages show before acting and on the dashboard: how many units a task would reach
(the same unit set the fan-out inserts), the work below a unit per unit one level down, and the
first-level counts of a page of tasks. Each a bounded number of statements."""

import pytest
from django.utils import timezone

from common.exceptions import NotFound
from tasks import selectors, services
from tasks.models import Assignment
from tests.factories import make_unit
from tests.tasks.helpers import assignment_of, make_task, published_task

pytestmark = pytest.mark.django_db
Status = Assignment.Status


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (lambda w: [{"unit": w["A"].pk, "level": "community"}], 3),
        (lambda w: [{"unit": w["A"].pk, "level": "street"}], 2),
        (lambda w: [{"unit": w["C1"].pk}, {"unit": w["S2"].pk}], 2),
        (lambda w: [{"unit": w["S1"].pk, "level": "community"}, {"unit": w["C1"].pk}], 2),  # no unit twice
        (lambda w: [{"unit": w["D1"].pk}], 0),  # outside the issuer: reaches nobody
        (lambda w: [], 0),
    ],
)
def test_the_count_is_what_publishing_creates(world, people, targets, expected):
    officer = people["district_officer"]
    chosen = targets(world)
    counted = selectors.target_count(user=officer, issuer_unit_id=world["A"].pk, targets=chosen)
    assert counted == expected
    inside = [t for t in chosen if t["unit"] != world["D1"].pk]
    if inside:
        task = make_task(officer, world["A"], inside)
        assert services.task_publish(actor=officer, task=task).created == expected


def test_units_already_holding_the_task_are_not_counted_again(world, people, django_assert_max_num_queries):
    officer = people["district_officer"]
    targets = [{"unit": world["A"].pk, "level": "community"}]
    task = published_task(officer, world["A"], targets)
    make_unit(world["S2"], name="新建社区", code="410102002009")
    with django_assert_max_num_queries(2):
        assert (
            selectors.target_count(
                user=officer, issuer_unit_id=world["A"].pk, targets=targets, task_id=task.pk
            )
            == 1
        )
    assert services.task_publish(actor=officer, task=task).created == 1


def test_the_count_of_an_issuer_out_of_sight_is_404(world, people):
    with pytest.raises(NotFound):
        selectors.target_count(
            user=people["other_admin"], issuer_unit_id=world["A"].pk, targets=[{"unit": world["C1"].pk}]
        )


def test_the_dashboard_counts_per_street_in_one_statement(world, people, django_assert_max_num_queries):
    officer, street = people["district_officer"], people["street_officer"]
    task = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    c1, c2 = assignment_of(task, world["C1"]), assignment_of(task, world["C2"])
    services.assignment_submit(
        actor=people["community_worker"],
        assignment=c1,
        summary="已开展。",
        held_at=timezone.now(),
        participants=20,
        location_text="党群服务中心",
    )
    c1.refresh_from_db()
    services.assignment_review(actor=street, assignment=c1, decision="approve", rating=5)
    cancelled = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "community"}])
    services.task_cancel(actor=officer, task=cancelled)  # ended tasks are not under way

    with django_assert_max_num_queries(2):
        board = selectors.unit_dashboard(user=officer, unit_id=world["A"].pk)
    rows = {row["name"]: row for row in board["units"]}
    assert set(rows) == {"秦岭路街道", "建设路街道"}
    s1 = rows["秦岭路街道"]
    assert (s1["total"], s1["approved"], s1["on_time"], s1["waiting"]) == (2, 1, 1, 0)
    assert s1["completion_rate"] == 0.5 and s1["on_time_rate"] == 0.5
    assert rows["建设路街道"]["total"] == 1 and rows["建设路街道"]["completion_rate"] == 0
    assert board["totals"]["total"] == 3
    assert c2.status == Status.PENDING

    street_board = selectors.unit_dashboard(user=street, unit_id=world["S1"].pk)
    assert [row["name"] for row in street_board["units"]] == ["建西社区", "杜康社区"]
    with pytest.raises(NotFound):
        selectors.unit_dashboard(user=street, unit_id=world["A"].pk)


def test_first_level_counts_of_a_page_of_tasks(world, people):
    officer, street = people["district_officer"], people["street_officer"]
    task = published_task(officer, world["A"], [{"unit": world["A"].pk, "level": "street"}])
    services.assignment_delegate(
        actor=street,
        assignment=assignment_of(task, world["S1"]),
        targets=[{"unit": world["S1"].pk, "level": "community"}],
        due_at=task.due_at,
    )
    draft = make_task(officer, world["A"], [{"unit": world["C1"].pk}])
    counts = selectors.task_first_level_counts(user=officer, task_ids=[task.pk, draft.pk])
    assert counts == {task.pk: {"assigned": 2, "approved": 0}}  # the delegated ones are the street's
    assert selectors.task_first_level_counts(user=people["other_admin"], task_ids=[task.pk]) == {}
