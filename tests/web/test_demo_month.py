"""`load_demo`'s month of tasks: every state the pages show, through the services, once."""

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Count

from evidence.models import EvidenceFlag, Photo
from tasks.models import Assignment, AssignmentEvent, PracticeTask, Submission, TaskEvent
from tasks.selectors import overdue_q
from tests.web.conftest import browser_client

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--quiet-table", stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        "tasks": PracticeTask.objects.count(),
        "assignments": Assignment.objects.count(),
        "submissions": Submission.objects.count(),
        "photos": Photo.objects.count(),
        "flags": EvidenceFlag.objects.count(),
        "task events": TaskEvent.objects.count(),
        "assignment events": AssignmentEvent.objects.count(),
    }


@pytest.fixture
def demo(db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    return load_demo()


def test_a_month_of_every_category_in_every_state(demo):
    assert re.search(r"Tasks of the demo month: 8 created with \d+ photos", demo)
    categories = set(PracticeTask.objects.values_list("category__code", flat=True))
    assert categories >= {
        "theory_lecture",
        "volunteer_service",
        "cultural_activity",
        "customs_reform",
        "civilization_campaign",
    }
    assert set(PracticeTask.objects.values_list("status", flat=True)) == {
        "draft",
        "published",
        "closed",
        "cancelled",
    }
    states = dict(Assignment.objects.values_list("status").annotate(n=Count("id")))
    assert {"pending", "accepted", "submitted", "approved", "returned", "cancelled"} <= set(states)
    assert Assignment.objects.filter(parent__isnull=False).exists()  # delegated
    assert Assignment.objects.filter(overdue_q()).exists()
    assert Submission.objects.filter(decision="approve", rating__isnull=False).exists()
    assert Submission.objects.filter(decision="return").exclude(review_comment="").exists()
    assert AssignmentEvent.objects.filter(verb="urge").exists()
    assert set(EvidenceFlag.objects.values_list("kind", flat=True)) >= {"duplicate", "no_exif"}
    # Every photo was processed at once, and has the EXIF time a phone writes (all but one).
    assert set(Photo.objects.values_list("status", flat=True)) == {"ready"}
    assert Photo.objects.filter(has_exif=False).count() == 1


def test_a_second_run_adds_nothing(demo):
    before = counts()

    output = load_demo()

    assert counts() == before
    assert "Tasks of the demo month: already there." in output


HOMES = [
    ("worker_004002", "/mine/", ["已退回", "已逾期", "还剩"]),
    ("street_qinlinglu", "/inbox/", ["待审核上报", "已上报", "已逾期"]),
    ("district_officer", "/overview/", ["草稿", "已结束", "已撤销"]),
    ("inspector", "/overview/", ["郑州市中原区派发的任务"]),
    ("admin", "/overview/", ["郑州市中原区派发的任务"]),
]


def test_the_month_happened_over_a_month_and_every_demo_account_has_something_to_see(demo):
    published = PracticeTask.objects.exclude(published_at=None).order_by("published_at")
    assert (published.last().published_at - published.first().published_at).days >= 25
    approved = AssignmentEvent.objects.filter(verb="approve").order_by("created_at")
    assert approved.first().created_at < approved.last().created_at

    for username, home, shows in HOMES:
        client = browser_client()
        assert client.post("/login/", {"username": username, "password": "chuanxi-demo"}).status_code == 302
        page = client.get("/", follow=True)
        assert page.redirect_chain[-1][0].startswith(home), username
        body = page.content.decode()
        for words in shows:
            assert words in body, (username, words)
