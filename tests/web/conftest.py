import pytest
from django.core.cache import cache
from django.test import Client

from orgs.models import Role, User
from tasks import services
from tests.factories import make_member
from tests.scoring.conftest import march  # noqa: F401 (March 2026 by hand, for the score pages)
from tests.web.helpers import assignment_of, fresh, overdue_task, report, review, task_for

PASSWORD = "pass-12345"  # tests.factories.UserFactory


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Photos and attachments of each test in a folder of its own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def _fresh_login_counters():
    """The failed-login counters live in the cache, which outlives a test."""
    cache.clear()


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Photos are processed inline by the helpers; nothing goes to a broker."""
    monkeypatch.setattr("evidence.services.enqueue_processing", lambda ids: None)


def browser_client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def site(world, people):
    """District A with work in every state that the pages show.

    - 理论宣讲 to every community: C1 (the worker's) returned with a comment after a report with two
      photos, C2 submitted and waiting for S1's review, C3 approved with a rating.
    - 文明创建 to S1's communities, due yesterday: C1 overdue.
    - 志愿服务 to the streets, due tomorrow: S1 delegated it to C1 and C2.
    """
    officer, street, worker = people["district_officer"], people["street_officer"], people["community_worker"]
    mobiles = {
        "community_worker": "13700000001",
        "street_officer": "13700000002",
        "district_officer": "13700000003",
    }
    mobiles["district_admin"] = "13700000004"
    for who, mobile in mobiles.items():
        User.objects.filter(pk=people[who].pk).update(mobile=mobile)
    worker.refresh_from_db()
    viewer = make_member(world["A"], Role.VIEWER, "district_viewer")
    User.objects.filter(pk=viewer.pk).update(mobile="13700000005")
    worker2 = make_member(world["C2"], Role.WORKER, "worker_c2")
    worker3 = make_member(world["C3"], Role.WORKER, "worker_c3")
    street2 = make_member(world["S2"], Role.OFFICER, "street2_officer")

    lecture = task_for(
        officer,
        world["A"],
        [{"unit": world["A"].pk, "level": "community"}],
        title="党的创新理论“微宣讲”进社区",
        description="各社区组织宣讲员开展“微宣讲”。",
    )
    c1 = assignment_of(lecture, world["C1"])
    report(c1, worker, photos=2)
    review(c1, street, "return", comment="照片看不出宣讲内容，请补充横幅照片。")
    report(assignment_of(lecture, world["C2"]), worker2, photos=1)
    c3 = assignment_of(lecture, world["C3"])
    report(c3, worker3, photos=1)
    review(c3, street2, "approve", rating=5)

    campaign = overdue_task(
        officer, world["A"], [{"unit": world["S1"].pk, "level": "community"}], title="“门前五包”入户宣传"
    )
    volunteer = task_for(
        officer,
        world["A"],
        [{"unit": world["A"].pk, "level": "street"}],
        title="敬老爱老志愿服务",
        code="volunteer_service",
        days=1,
    )
    services.assignment_delegate(
        actor=street,
        assignment=fresh(assignment_of(volunteer, world["S1"])),
        targets=[{"unit": world["S1"].pk, "level": "community"}],
        due_at=volunteer.due_at,
    )
    return {
        **people,
        "mobiles": {**mobiles, "district_viewer": "13700000005"},
        "district_viewer": viewer,
        "worker_c2": worker2,
        "tasks": {"lecture": lecture, "campaign": campaign, "volunteer": volunteer},
        "returned": c1,
    }
