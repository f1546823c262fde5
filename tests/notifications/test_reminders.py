"""The reminder scan: the right stage, to the right people, once, also when late or edited."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.messages import render
from notifications.models import Kind, Notification
from notifications.reminders import reminders_scan
from notifications.services import reminder_plan_set
from orgs.models import Role
from orgs.scope import Action, holders
from tasks import services as task_services
from tasks.models import Assignment
from tests.factories import make_member
from tests.notifications.helpers import at, kinds_of, local, scan_at, to_communities
from tests.tasks.helpers import assignment_of, bulk_units, published_task, review, submit

pytestmark = pytest.mark.django_db

T0 = local("2026-11-27 09:00")
DUE = local("2026-11-30 18:00")  # 3 days and 9 hours after T0


@pytest.fixture
def task(world, people):
    with at(T0):
        return to_communities(people["district_officer"], world["A"], due_at=DUE, title="垃圾分类宣传")


def test_each_offset_reaches_the_unit_once_at_its_time(task, people):
    worker = people["community_worker"]
    assert scan_at(T0).notifications == 0  # more than 72 h before the due time: nothing yet
    scan_at(DUE - timedelta(hours=72))
    scan_at(DUE - timedelta(hours=71))  # the same stage again: nothing new
    scan_at(DUE - timedelta(hours=23, minutes=59))
    scan_at(DUE - timedelta(hours=2))
    scan_at(DUE - timedelta(minutes=30))
    assert kinds_of(worker) == [
        ("due_soon", "before:4320"),
        ("due_soon", "before:1440"),
        ("due_soon", "before:120"),
    ]
    scan_at(DUE)
    scan_at(DUE + timedelta(hours=24))
    scan_at(DUE + timedelta(hours=30))
    assert kinds_of(worker)[3:] == [("due", "due"), ("overdue", "overdue")]


def test_the_reminder_names_task_unit_and_due_time_in_chinese(task, people):
    scan_at(DUE - timedelta(hours=2))
    notification = Notification.objects.get(recipient=people["community_worker"])
    title, body = render(notification.kind, notification.data)
    assert title == "临期提醒：《垃圾分类宣传》"
    assert body == "建西社区：任务《垃圾分类宣传》将于11月30日 18:00到期（还剩 2 小时），请及时完成并上报。"


def test_a_late_scan_sends_one_reminder_not_one_per_missed_offset(task, people):
    # The worker was down from before the first offset until 90 minutes before the due time.
    scan_at(DUE - timedelta(minutes=90))
    assert kinds_of(people["community_worker"]) == [("due_soon", "before:120")]
    # Down again until well past the due time: only the overdue reminder, not "due" as well.
    scan_at(DUE + timedelta(days=2))
    assert kinds_of(people["community_worker"])[1:] == [("overdue", "overdue")]


def test_reminders_go_to_the_people_who_work_on_the_unit_only(task, world, people):
    officer_c1 = make_member(world["C1"], Role.OFFICER)
    viewer_c1 = make_member(world["C1"], Role.VIEWER)
    scan_at(DUE - timedelta(hours=2))
    recipients = set(Notification.objects.values_list("recipient_id", flat=True))
    assert recipients == {people["community_worker"].pk, officer_c1.pk}
    # The same people the access rule names for the unit itself (orgs.scope.holders at distance 0).
    units = Assignment.objects.filter(task=task).values_list("unit_id", flat=True)
    expected = {user for found in holders(Action.WORK, units, max_distance=0).values() for user in found}
    assert recipients == expected
    assert viewer_c1.pk not in recipients


def test_escalation_tells_the_parent_units_officers_after_a_day(task, world, people):
    scan_at(DUE + timedelta(hours=23))
    assert not Notification.objects.filter(kind=Kind.ESCALATION).exists()
    scan_at(DUE + timedelta(hours=25))
    escalated = Notification.objects.filter(kind=Kind.ESCALATION, unit=world["C1"])
    assert set(escalated.values_list("recipient__username", flat=True)) == {"street_officer", "street_admin"}
    body = render(Kind.ESCALATION, escalated[0].data)[1]
    assert body == "秦岭路街道：建西社区逾期 1 天未完成《垃圾分类宣传》（截止时间 11月30日 18:00）。"
    scan_at(DUE + timedelta(hours=48))
    assert escalated.count() == 2  # once each


@pytest.mark.parametrize("ending", ["approved", "cancelled", "closed"])
def test_nothing_for_approved_cancelled_or_closed_assignments(task, world, people, ending):
    c1 = assignment_of(task, world["C1"])
    with at(DUE - timedelta(hours=3)):
        if ending == "approved":
            submit(c1, people["community_worker"])
            review(c1, people["street_officer"], "approve")
        elif ending == "cancelled":
            task_services.task_cancel(actor=people["district_officer"], task=task)
        else:
            task_services.task_close(actor=people["district_officer"], task=task)
    for moment in (DUE - timedelta(hours=2), DUE, DUE + timedelta(days=2)):
        scan_at(moment)
    assert not Notification.objects.filter(assignment=c1).exists()


def test_a_submitted_report_stops_the_due_reminders_and_reminds_its_reviewers(task, world, people):
    c1 = assignment_of(task, world["C1"])
    with at(DUE - timedelta(hours=30)):
        submission = submit(c1, people["community_worker"])
    scan_at(DUE - timedelta(hours=2))
    assert not Notification.objects.filter(assignment=c1, kind=Kind.DUE_SOON).exists()
    scan_at(DUE - timedelta(hours=5))  # 25 hours after the report: the street's officers are reminded
    waiting = Notification.objects.filter(kind=Kind.REVIEW_WAITING)
    assert set(waiting.values_list("recipient__username", flat=True)) == {"street_officer", "street_admin"}
    assert waiting[0].data["reviewer_name"] == "秦岭路街道"
    scan_at(DUE + timedelta(hours=19))  # 49 hours: one level up, the district
    above = Notification.objects.filter(kind=Kind.REVIEW_ESCALATION)
    assert set(above.values_list("recipient__username", flat=True)) == {"district_officer", "district_admin"}
    assert {n.subject for n in above} == {f"report:{submission.pk}"}
    body = render(Kind.REVIEW_ESCALATION, above[0].data)[1]
    assert body.startswith("中原区：建西社区于11月29日 12:00上报的《垃圾分类宣传》已等待秦岭路街道审核 2 天")


def test_reminders_follow_an_edited_due_time_and_never_repeat(task, people):
    worker = people["community_worker"]
    scan_at(DUE - timedelta(hours=24))
    assert kinds_of(worker) == [("due_soon", "before:1440")]
    later = DUE + timedelta(days=2)
    with at(DUE - timedelta(hours=20)):
        task_services.task_update(actor=people["district_officer"], task=task, data={"due_at": later})
    # The old due time's 2-hour mark is now 50 hours before the new one: the 72-hour reminder, never
    # sent before, goes out with the new due time; the old schedule is gone.
    scan_at(DUE - timedelta(hours=2))
    assert kinds_of(worker)[1:] == [("due_soon", "before:4320")]
    notification = Notification.objects.get(recipient=worker, occasion="before:4320")
    assert "12月2日 18:00到期（还剩 2 天）" in render(notification.kind, notification.data)[1]
    scan_at(later - timedelta(hours=24))  # the new due time's 24-hour mark: already sent once
    assert len(kinds_of(worker)) == 2
    scan_at(later - timedelta(hours=2))
    assert kinds_of(worker)[2:] == [("due_soon", "before:120")]
    scan_at(later + timedelta(minutes=1))
    assert kinds_of(worker)[3:] == [("due", "due")]


def test_a_task_may_have_its_own_offsets(task, people):
    with at(T0):
        reminder_plan_set(actor=people["district_officer"], task=task, hours=[6])
    scan_at(DUE - timedelta(hours=24))
    assert kinds_of(people["community_worker"]) == []
    scan_at(DUE - timedelta(hours=5))
    assert kinds_of(people["community_worker"]) == [("due_soon", "before:360")]


def test_two_scans_at_the_same_moment_add_nothing_twice(task, people):
    first = scan_at(DUE - timedelta(hours=2))
    second = scan_at(DUE - timedelta(hours=2))
    assert first.notifications == 1 and second.notifications == 0
    assert Notification.objects.count() == 1


@pytest.mark.postgres
def test_the_scan_makes_a_constant_number_of_queries(world, people):
    def measure(communities: int) -> tuple[int, int]:
        Notification.objects.all().delete()
        with at(T0):
            street = bulk_units(world["A"], 1, f"Q{communities}", children_each=communities)[0]
            task = published_task(
                people["district_officer"], world["A"], [{"unit": street, "level": "community"}], due_at=DUE
            )
        for assignment in Assignment.objects.filter(task=task).select_related("unit")[:3]:
            make_member(assignment.unit, Role.WORKER)
        with at(DUE - timedelta(hours=30)), CaptureQueriesContext(connection) as queries:
            reminders_scan()
        return len(queries), Notification.objects.count()

    small_queries, small_made = measure(5)
    large_queries, large_made = measure(300)
    assert small_made >= 3 and large_made >= 3
    assert small_queries == large_queries <= 5
