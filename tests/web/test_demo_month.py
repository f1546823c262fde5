"""`load_demo`'s month of tasks: every state the pages show, through the services, once."""

import io
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from evidence.models import EvidenceFlag, Photo
from orgs import demo_data
from orgs.models import OrgUnit
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


RATING_FACTOR = {
    5: Decimal("1.0"),
    4: Decimal("0.9"),
    3: Decimal("0.8"),
    2: Decimal("0.6"),
    1: Decimal("0.4"),
}


def test_the_demo_streets_month_ranking_is_right_by_hand(demo):
    """The default policy, by hand from the assignments: the streets' month scores are there at first
    login (load_demo computes them), and each is its own points + the mean of its communities'."""
    from scoring.models import PeriodScore

    dues = Assignment.objects.filter(status="approved").values_list("due_at", flat=True)
    months = Counter(timezone.localtime(due).date().replace(day=1) for due in dues)
    month = months.most_common(1)[0][0]
    stop = (month + timedelta(days=32)).replace(day=1)

    def own_points(unit) -> Decimal:
        points = Decimal(0)
        for assignment in Assignment.objects.filter(
            unit=unit, due_at__date__gte=month, due_at__date__lt=stop, status="approved"
        ).select_related("task", "current_submission"):
            report = assignment.current_submission
            factor = RATING_FACTOR.get(report.rating, Decimal(1))
            full = assignment.task.points * factor
            late = report.created_at - assignment.due_at
            days = 0 if late <= timedelta(0) else -(-late // timedelta(days=1))
            points += max(full - assignment.task.points * Decimal("0.1") * days, full * Decimal("0.3"))
        return points

    scores = {s.unit_id: s.score for s in PeriodScore.objects.filter(kind="month", start=month)}
    district = OrgUnit.objects.get(level=0, code=demo_data.units()[0].code)
    streets = list(district.get_children())
    assert any(scores[street.pk] > 0 for street in streets)
    for street in streets:
        communities = list(street.get_children())
        children = sum((own_points(c) for c in communities), Decimal(0)) / len(communities)
        assert scores[street.pk] == (own_points(street) + children).quantize(Decimal("0.01")), street.name
