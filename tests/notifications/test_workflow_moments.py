"""Workflow moments, delivered from the domain events: new assignments, returned, approved, urged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.models import DomainEvent
from notifications.messages import render
from notifications.models import Kind, Notification
from orgs.models import Role
from tasks import services as task_services
from tests.factories import make_member
from tests.notifications.helpers import dispatch, to_communities
from tests.tasks.helpers import assignment_of, published_task, review, submit

pytestmark = pytest.mark.django_db


def texts(user, kind):
    return [
        render(n.kind, n.data) for n in Notification.objects.filter(recipient=user, kind=kind).order_by("id")
    ]


def test_a_published_task_tells_each_receiving_unit(world, people):
    c3_worker = make_member(world["C3"], Role.WORKER)
    task = to_communities(people["district_officer"], world["A"], title="理论宣讲进社区")
    dispatch()
    for worker, unit in ((people["community_worker"], "建西社区"), (c3_worker, "电新街社区")):
        [(title, body)] = texts(worker, Kind.ASSIGNED)
        assert title == "新任务：《理论宣讲进社区》"
        assert body.startswith(f"中原区向{unit}下达了任务《理论宣讲进社区》，截止时间 ")
    assert not Notification.objects.filter(recipient=people["street_officer"]).exists()
    # Redelivered events add nothing (handlers are idempotent).
    DomainEvent.objects.update(dispatched_at=None)
    dispatch()
    assert Notification.objects.filter(kind=Kind.ASSIGNED).count() == 2
    assert Notification.objects.get(recipient=c3_worker).task_id == task.pk


def test_a_delegation_tells_the_communities_it_reached(world, people):
    task = published_task(people["district_officer"], world["A"], [{"unit": world["S1"].pk}])
    dispatch()
    street = assignment_of(task, world["S1"])
    task_services.assignment_delegate(
        actor=people["street_officer"],
        assignment=street,
        targets=[{"unit": world["S1"].pk, "level": "community"}],
        due_at=task.due_at - timedelta(days=1),
    )
    dispatch()
    [(title, body)] = texts(people["community_worker"], Kind.ASSIGNED)
    assert body.startswith("秦岭路街道向建西社区下达了任务《文明实践志愿服务月》")


def test_returned_approved_and_urged_name_who_and_why(world, people):
    people["street_officer"].real_name = "王主任"
    people["street_officer"].save()
    task = to_communities(people["district_officer"], world["A"])
    c1 = assignment_of(task, world["C1"])
    worker = people["community_worker"]
    submit(c1, worker)
    review(c1, people["street_officer"], "return", comment="照片看不清活动现场，请补充。")
    task_services.assignment_urge(
        actor=people["street_officer"], assignment=assignment_of(task, world["C1"]), comment="明天前完成"
    )
    task_services.assignment_urge(actor=people["street_officer"], assignment=assignment_of(task, world["C1"]))
    dispatch()
    [(title, body)] = texts(worker, Kind.RETURNED)
    assert title == "上报被退回：《文明实践志愿服务月》"
    assert body.startswith(
        "秦岭路街道 王主任退回了建西社区上报的《文明实践志愿服务月》：照片看不清活动现场，请补充。"
    )
    urged = texts(worker, Kind.URGED)
    assert len(urged) == 2  # two urges, two notifications
    assert urged[0][1].startswith("秦岭路街道 王主任催办建西社区尽快完成《文明实践志愿服务月》")
    assert urged[0][1].endswith("：明天前完成")
    submit(c1, worker)
    review(c1, people["street_officer"], "approve")
    dispatch()
    [(title, _body)] = texts(worker, Kind.APPROVED)
    assert title == "审核通过：《文明实践志愿服务月》"


def test_an_urge_reaches_the_app_at_once_even_in_quiet_hours(world, people, settings):
    settings.NOTIFICATIONS_QUIET_HOURS = "00:00-23:59"
    task = to_communities(people["district_officer"], world["A"])
    task_services.assignment_urge(actor=people["street_officer"], assignment=assignment_of(task, world["C1"]))
    dispatch()
    notification = Notification.objects.get(kind=Kind.URGED)
    assert notification.recipient == people["community_worker"]
    assert notification.created_at <= timezone.now()
