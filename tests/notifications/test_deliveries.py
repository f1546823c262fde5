"""Pushes: email, SMS and group robots, quiet hours, preferences, retries, recorded failures."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from django.core import mail

from notifications.deliveries import LEASE, deliveries_send
from notifications.models import ChannelPreference, Delivery, Kind, Robot
from notifications.schedule import quiet_until
from notifications.services import robot_create
from tests.notifications.helpers import at, local, scan_at, to_communities
from tests.notifications.robot_server import RobotServer

pytestmark = pytest.mark.django_db

T0 = local("2026-11-27 09:00")
DUE = local("2026-11-30 18:00")
Status = Delivery.Status


@pytest.fixture
def channels(settings):
    settings.NOTIFICATIONS_EMAIL = True
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.sms.LoggingSmsBackend"
    settings.NOTIFICATIONS_HTTP_TIMEOUT = 0.5
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def worker(people):
    user = people["community_worker"]
    user.email, user.mobile = "jianxi@example.org", "13800138000"
    user.save()
    return user


@pytest.fixture
def task(world, people):
    with at(T0):
        return to_communities(people["district_officer"], world["A"], due_at=DUE, title="垃圾分类宣传")


def robot(world, people, path: str, server: RobotServer, platform: str = "wecom", secret: str = "") -> Robot:
    return robot_create(
        actor=people["street_admin"],
        unit=world["C1"],
        name="建西社区工作群",
        platform=platform,
        webhook_url=f"{server.url}/{path}",
        secret=secret,
    )


def test_quiet_hours_boundaries_in_shanghai_time(settings):
    settings.NOTIFICATIONS_QUIET_HOURS = "22:00-07:00"
    assert quiet_until(local("2026-11-29 21:59")) is None
    assert quiet_until(local("2026-11-29 22:00")) == local("2026-11-30 07:00")
    assert quiet_until(local("2026-11-30 00:00")) == local("2026-11-30 07:00")
    assert quiet_until(local("2026-11-30 06:59")) == local("2026-11-30 07:00")
    assert quiet_until(local("2026-11-30 07:00")) is None
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    assert quiet_until(local("2026-11-30 03:00")) is None


def test_email_sms_and_robot_each_once(channels, world, people, worker, task, caplog):
    with RobotServer() as server:
        robot(world, people, "ok/wecom", server)
        scan_at(DUE - timedelta(hours=2))
        scan_at(DUE - timedelta(hours=2))
        with at(DUE - timedelta(hours=2)), caplog.at_level("INFO", logger="notifications.channels.sms"):
            result = deliveries_send()
            assert deliveries_send()["sent"] == 0
    assert result["sent"] == 3
    assert [m.to for m in mail.outbox] == [["jianxi@example.org"]]
    assert mail.outbox[0].subject == "临期提醒：《垃圾分类宣传》"
    assert any("13800138000" in r.getMessage() and "垃圾分类宣传" in r.getMessage() for r in caplog.records)
    [text] = server.texts("/ok/wecom")
    assert text.startswith("临期提醒：《垃圾分类宣传》\n建西社区：任务《垃圾分类宣传》将于11月30日 18:00到期")
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_person_chooses_the_channels_per_kind(channels, worker, task):
    ChannelPreference.objects.create(user=worker, kind=Kind.DUE_SOON, channel="sms", enabled=False)
    ChannelPreference.objects.create(user=worker, kind=Kind.ASSIGNED, channel="email", enabled=True)
    scan_at(DUE - timedelta(hours=2))
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"email"}


def test_quiet_hours_hold_pushes_until_morning_but_not_the_app(channels, worker, world, people):
    due = local("2026-11-30 23:30")
    with at(T0):
        to_communities(people["district_officer"], world["A"], due_at=due)
    made = scan_at(local("2026-11-30 22:10"))  # 80 minutes before the due time, in quiet hours
    assert made.notifications == 1
    assert set(Delivery.objects.values_list("status", "next_attempt_at")) == {
        (Status.HELD, local("2026-12-01 07:00"))
    }
    with at(local("2026-12-01 06:59")):
        assert deliveries_send()["sent"] == 0
    with at(local("2026-12-01 07:00")):
        assert deliveries_send()["sent"] == 2
    assert len(mail.outbox) == 1


def test_a_retry_falling_into_quiet_hours_is_held(channels, world, people, task):
    with RobotServer() as server:
        robot(world, people, "fail/wecom", server)
        scan_at(local("2026-11-30 21:50"))
        with at(local("2026-11-30 21:50")):
            assert deliveries_send()["retrying"] == 1
        with at(local("2026-11-30 22:30")):
            assert deliveries_send()["held"] == 1
        assert Delivery.objects.get().next_attempt_at == local("2026-12-01 07:00")


@pytest.mark.parametrize("path", ["fail", "hang"])
def test_a_failing_robot_is_retried_then_recorded_and_blocks_nothing(
    channels, world, people, worker, task, path
):
    with RobotServer(hang_seconds=1.5) as server:
        robot(world, people, f"{path}/wecom", server)
        moment = DUE - timedelta(hours=2)
        scan_at(moment)
        for attempt in range(3):
            with at(moment):
                result = deliveries_send()
            robot_delivery = Delivery.objects.get(channel="robot")
            assert robot_delivery.attempts == attempt + 1
            if attempt < 2:
                assert robot_delivery.status == Status.RETRYING
                # exponential back-off with jitter: between half and all of 60 s, 120 s
                waited = robot_delivery.next_attempt_at - moment
                assert timedelta(seconds=30 * 2**attempt) <= waited <= timedelta(seconds=60 * 2**attempt)
                moment = robot_delivery.next_attempt_at
        assert len(server.requests) == 3
    assert robot_delivery.status == Status.FAILED
    assert ("HTTP 500" if path == "fail" else "no answer from the webhook") in robot_delivery.error
    # The other channels went out at the first attempt.
    assert set(Delivery.objects.exclude(channel="robot").values_list("status", flat=True)) == {Status.SENT}
    assert len(mail.outbox) == 1
    assert result["failed"] == 1


def test_a_refused_message_fails_at_once(channels, world, people, task):
    with RobotServer() as server:
        robot(world, people, "refuse/dingtalk", server, platform="dingtalk", secret="SECabc")
        scan_at(DUE - timedelta(hours=2))
        with at(DUE - timedelta(hours=2)):
            deliveries_send()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert "310000" in delivery.error and "sign not match" in delivery.error


def test_dingtalk_and_feishu_messages_are_signed(channels, world, people, task):
    with RobotServer() as server, at(DUE - timedelta(hours=2)):
        robot(world, people, "ok/dingtalk", server, platform="dingtalk", secret="SECdemo")
        robot(world, people, "ok/feishu", server, platform="feishu", secret="feishu-secret")
        scan_at(DUE - timedelta(hours=2))
        assert deliveries_send()["sent"] == 2
    by_path = {request["path"]: request for request in server.requests}
    ding = by_path["/ok/dingtalk"]
    timestamp, sign = ding["query"]["timestamp"][0], ding["query"]["sign"][0]
    expected = hmac.new(b"SECdemo", f"{timestamp}\nSECdemo".encode(), hashlib.sha256).digest()
    assert base64.b64decode(sign) == expected
    assert ding["body"]["msgtype"] == "text"
    feishu = by_path["/ok/feishu"]["body"]
    expected = hmac.new(f"{feishu['timestamp']}\nfeishu-secret".encode(), b"", hashlib.sha256).digest()
    assert base64.b64decode(feishu["sign"]) == expected
    assert feishu["msg_type"] == "text" and "垃圾分类宣传" in feishu["content"]["text"]


def test_a_delivery_whose_worker_died_while_sending_is_not_sent_again(channels, worker, task):
    scan_at(DUE - timedelta(hours=2))
    Delivery.objects.filter(channel="email").update(
        status=Status.SENDING, claimed_at=DUE - timedelta(hours=3)
    )
    with at(DUE - timedelta(hours=2)):
        result = deliveries_send()
    assert result["lost"] == 1
    lost = Delivery.objects.get(channel="email")
    assert lost.status == Status.FAILED and "outcome unknown" in lost.error
    assert mail.outbox == []
    assert LEASE < timedelta(hours=1)
