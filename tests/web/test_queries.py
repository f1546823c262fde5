"""Every main page runs the same bounded number of queries whatever the amount of data behind it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs.models import Role
from tests.factories import make_member
from tests.tasks.helpers import bulk_units
from tests.web.conftest import browser_client
from tests.web.helpers import assignment_of, report, review, task_for

pytestmark = pytest.mark.django_db

# Session and user (2), the person's memberships for the navigation (1), the header bell's unread count
# (1, an indexed COUNT), then the page's own reads (a list of assignments loads its page's tasks,
# delegating assignments and current reports in one query each); a home page opened for the first time in a session also writes which home it was (3:
# savepoint, update, release).
BOUNDS = {
    "mine": 14,
    "assignment": 14,
    "inbox": 18,
    "overview": 14,
    "tasks": 7,
    "task": 14,
    "progress rows": 9,
    "unit": 11,
    "report form": 15,
    "review desk": 18,
    "delegate form": 8,
    "task form": 8,
    "publish confirmation": 9,
}


def grow(site, world, times: int) -> None:
    """More of everything each page lists: tasks, reports with photos, decisions, units, people."""
    officer, street, worker = site["district_officer"], site["street_officer"], site["community_worker"]
    bulk_units(world["S1"], 3 * times, "扩展社区")
    for index in range(times):
        make_member(world["S1"], Role.VIEWER)
        make_member(world["C1"], Role.WORKER)
        task = task_for(
            officer, world["A"], [{"unit": world["A"].pk, "level": "community"}], title=f"扩展任务{index}"
        )
        mine = assignment_of(task, world["C1"])
        report(mine, worker, photos=2, process=False)
        review(mine, street, "return", comment="请补充照片。")
        report(mine, worker, photos=1, process=False)
        report(assignment_of(task, world["C2"]), site["worker_c2"], photos=1, process=False)
    returned = site["returned"]
    for _ in range(times):  # a long history on the page of one assignment
        report(returned, worker, photos=2, process=False)
        review(returned, street, "return", comment="仍需补充。")


@pytest.fixture(autouse=True)
def _street_task(site, world):
    """A task the street still holds itself, for its delegation form."""
    site["tasks"]["street"] = task_for(
        site["district_officer"],
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}],
        title="街道自办任务",
    )


def pages(site, world) -> dict[str, tuple]:
    lecture = site["tasks"]["lecture"]
    return {
        "mine": (site["community_worker"], "/mine/"),
        "assignment": (site["community_worker"], f"/assignments/{site['returned'].pk}/"),
        "inbox": (site["street_officer"], "/inbox/"),
        "overview": (site["district_officer"], "/overview/"),
        "tasks": (site["district_officer"], "/tasks/"),
        "task": (site["district_officer"], f"/tasks/{lecture.pk}/"),
        "progress rows": (site["district_officer"], f"/tasks/{lecture.pk}/progress/?unit={world['S1'].pk}"),
        "unit": (site["district_officer"], f"/units/{world['S1'].pk}/"),
        "report form": (site["community_worker"], f"/assignments/{site['returned'].pk}/report/"),
        "review desk": (site["street_officer"], f"/review/{assignment_of(lecture, world['C2']).pk}/"),
        "delegate form": (
            site["street_officer"],
            f"/assignments/{assignment_of(site['tasks']['street'], world['S1']).pk}/delegate/",
        ),
        "task form": (site["district_officer"], f"/tasks/new/?unit={world['A'].pk}"),
        "publish confirmation": (site["district_officer"], f"/tasks/{lecture.pk}/publish/"),
    }


def count_queries(user, url: str) -> int:
    client = browser_client(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_every_main_page_runs_the_same_bounded_number_of_queries_at_two_sizes(site, world):
    small = {name: count_queries(user, url) for name, (user, url) in pages(site, world).items()}

    grow(site, world, times=4)
    large = {name: count_queries(user, url) for name, (user, url) in pages(site, world).items()}

    assert large == small
    assert {name: n for name, n in large.items() if n > BOUNDS[name]} == {}, large


def test_the_bound_holds_with_djangos_assertion(site, world, django_assert_max_num_queries):
    grow(site, world, times=2)
    for name, (user, url) in pages(site, world).items():
        client = browser_client(user)
        with django_assert_max_num_queries(BOUNDS[name]):
            assert client.get(url).status_code == 200, name
