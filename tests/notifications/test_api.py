"""The notifications API: the bell, the list, reading; preferences; robots; deliveries; a task's reminders."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Delivery, Notification, Robot
from notifications.services import robot_create
from tasks import services as task_services
from tests.conftest import login
from tests.notifications.helpers import at, dispatch, local, scan_at, to_communities
from tests.notifications.robot_server import RobotServer
from tests.tasks.helpers import assignment_of

pytestmark = pytest.mark.django_db

T0 = local("2026-11-27 09:00")
DUE = local("2026-11-30 18:00")
ROLES = [
    "district_admin",
    "district_officer",
    "street_admin",
    "street_officer",
    "street_viewer",
    "community_worker",
    "other_admin",
]
# endpoint -> expected status per role, in the order of ROLES. 404: not theirs / not in scope.
MATRIX = {
    "list": [200, 200, 200, 200, 200, 200, 200],
    "unread count": [200, 200, 200, 200, 200, 200, 200],
    "read worker's": [404, 404, 404, 404, 404, 200, 404],
    "read all": [200, 200, 200, 200, 200, 200, 200],
    "preferences": [200, 200, 200, 200, 200, 200, 200],
    "set preferences": [200, 200, 200, 200, 200, 200, 200],
    "robots": [200, 200, 200, 200, 200, 200, 200],
    "add robot to C1": [201, 403, 201, 403, 403, 403, 400],
    "robot C1": [200, 404, 200, 404, 404, 404, 404],
    "change robot C1": [200, 404, 200, 404, 404, 404, 404],
    "test robot C1": [200, 404, 200, 404, 404, 404, 404],
    "delete robot C1": [204, 404, 204, 404, 404, 404, 404],
    "deliveries": [200, 200, 200, 200, 200, 200, 200],
    "task reminders": [200, 200, 200, 200, 200, 200, 404],
    "set task reminders": [200, 200, 403, 403, 403, 403, 404],
}
# What the lists show each role: C1's robot and its delivery only to those who administer C1.
SEES_C1_ROBOT = {"district_admin", "street_admin"}
CASES = [(endpoint, role, MATRIX[endpoint][i]) for endpoint in MATRIX for i, role in enumerate(ROLES)]


@pytest.fixture
def setting(world, people, settings):
    settings.NOTIFICATIONS_QUIET_HOURS = ""
    with at(T0):
        task = to_communities(people["district_officer"], world["A"], due_at=DUE, title="垃圾分类宣传")
        dispatch()
    server = RobotServer()
    server.__enter__()
    bot = robot_create(
        actor=people["street_admin"],
        unit=world["C1"],
        name="建西社区工作群",
        platform="wecom",
        webhook_url=f"{server.url}/ok/wecom?key=secret-key-1234",
    )
    scan_at(DUE - timedelta(hours=2))
    yield task, bot
    server.__exit__()


def _call(api, people, setting, endpoint, role):
    task, bot = setting
    worker_note = Notification.objects.filter(recipient=people["community_worker"]).first()
    calls = {
        "list": lambda: api.get("/api/v1/notifications/"),
        "unread count": lambda: api.get("/api/v1/notifications/unread-count/"),
        "read worker's": lambda: api.post(f"/api/v1/notifications/{worker_note.pk}/read/"),
        "read all": lambda: api.post("/api/v1/notifications/read-all/"),
        "preferences": lambda: api.get("/api/v1/notifications/preferences/"),
        "set preferences": lambda: api.put(
            "/api/v1/notifications/preferences/", {"preferences": {"due_soon": {"sms": False}}}, format="json"
        ),
        "robots": lambda: api.get("/api/v1/robots/"),
        "add robot to C1": lambda: api.post(
            "/api/v1/robots/",
            {
                "unit": bot.unit_id,
                "name": "钉钉群",
                "platform": "dingtalk",
                "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
                "secret": "SEC123",
            },
            format="json",
        ),
        "robot C1": lambda: api.get(f"/api/v1/robots/{bot.pk}/"),
        "change robot C1": lambda: api.patch(
            f"/api/v1/robots/{bot.pk}/", {"is_active": False}, format="json"
        ),
        "test robot C1": lambda: api.post(f"/api/v1/robots/{bot.pk}/test/"),
        "delete robot C1": lambda: api.delete(f"/api/v1/robots/{bot.pk}/"),
        "deliveries": lambda: api.get("/api/v1/deliveries/"),
        "task reminders": lambda: api.get(f"/api/v1/tasks/{task.pk}/reminders/"),
        "set task reminders": lambda: api.put(
            f"/api/v1/tasks/{task.pk}/reminders/", {"before_due_hours": [48, 4]}, format="json"
        ),
    }
    return calls[endpoint]()


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_access_matrix(api, people, setting, endpoint, role, expected):
    login(api, people[role])
    response = _call(api, people, setting, endpoint, role)
    assert response.status_code == expected, (endpoint, role, getattr(response, "data", None))
    if expected >= 400:
        assert response.json()["message"]
    if endpoint == "robots":
        assert bool(response.json()) == (role in SEES_C1_ROBOT)
    if endpoint == "deliveries":
        assert (response.json()["count"] > 0) == (role in SEES_C1_ROBOT)
    if endpoint == "list":
        # Only one's own: the worker's reminder and new assignment, nobody else's.
        mine = Notification.objects.filter(recipient=people[role]).count()
        assert response.json()["count"] == mine


def test_the_bell_list_and_reading(api, people, setting):
    worker = people["community_worker"]
    login(api, worker)
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    page = api.get("/api/v1/notifications/").json()
    newest = page["results"][0]
    task, _bot = setting
    assert newest["kind"] == "due_soon"
    assert newest["kind_display"] == "临期提醒"
    assert newest["title"] == "临期提醒：《垃圾分类宣传》"
    assert newest["body"].startswith("建西社区：任务《垃圾分类宣传》将于11月30日 18:00到期")
    assert newest["task"] == {"id": task.pk, "title": "垃圾分类宣传"}
    assert newest["unit"]["name"] == "建西社区"
    assert newest["url"] == f"/api/v1/assignments/{newest['assignment']}/"
    assert newest["read_at"] is None and newest["created_at"]
    assert [row["kind"] for row in page["results"]] == ["due_soon", "assigned"]  # newest first

    assert [r["kind"] for r in api.get("/api/v1/notifications/", {"kind": "assigned"}).json()["results"]] == [
        "assigned"
    ]
    read = api.post(f"/api/v1/notifications/{newest['id']}/read/").json()
    assert read["read_at"]
    assert api.post(f"/api/v1/notifications/{newest['id']}/read/").json()["read_at"] == read["read_at"]
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert api.get("/api/v1/notifications/", {"unread": "true"}).json()["count"] == 1
    assert api.get("/api/v1/notifications/", {"unread": "false"}).json()["count"] == 1
    assert api.post("/api/v1/notifications/read-all/").json() == {"unread": 0}
    bad = api.get("/api/v1/notifications/", {"kind": "nonsense"})
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]


def test_english_on_request(api, people, setting):
    login(api, people["community_worker"])
    row = api.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert row["title"] == "Due soon: “垃圾分类宣传”"
    assert "(2 hours left)" in row["body"]


def test_the_list_makes_a_constant_number_of_queries(api, people, setting, world):
    worker = people["community_worker"]
    login(api, worker)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/notifications/").status_code == 200
        return len(queries)

    few = count()
    task, _bot = setting
    for _ in range(30):
        task_services.assignment_urge(
            actor=people["street_officer"], assignment=assignment_of(task, world["C1"])
        )
    dispatch()
    assert Notification.objects.filter(recipient=worker).count() > 30
    assert count() == few <= 4


def test_preferences_default_and_choices(api, people, setting, settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.sms.LoggingSmsBackend"
    login(api, people["community_worker"])
    prefs = api.get("/api/v1/notifications/preferences/").json()
    by_kind = {row["kind"]: row for row in prefs["kinds"]}
    assert by_kind["due_soon"] == {"kind": "due_soon", "app": True, "email": True, "sms": True}
    assert by_kind["assigned"] == {"kind": "assigned", "app": True, "email": False, "sms": False}
    assert prefs["quiet_hours"] == ""
    assert {"channel": "sms", "available": True} in prefs["channels"]
    changed = api.put(
        "/api/v1/notifications/preferences/",
        {"preferences": {"due_soon": {"sms": False}, "urged": {"sms": True}}},
        format="json",
    ).json()
    by_kind = {row["kind"]: row for row in changed["kinds"]}
    assert (by_kind["due_soon"]["sms"], by_kind["urged"]["sms"]) == (False, True)
    bad = api.put(
        "/api/v1/notifications/preferences/",
        {"preferences": {"due_soon": {"app": False, "fax": True}, "nonsense": {}}},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"due_soon.app", "due_soon.fax", "nonsense"}


def test_robots_are_configured_and_tested_by_the_units_administrators(api, people, setting, world):
    task, bot = setting
    robots = f"http://127.0.0.1:{urlsplit(bot.webhook_url).port}"  # the test's robot server
    login(api, people["street_admin"])
    shown = api.get(f"/api/v1/robots/{bot.pk}/").json()
    assert shown["webhook_url"] == f"{robots}/…1234"  # the key is never shown whole
    assert shown["kinds"] == ["due_soon", "due", "overdue", "escalation", "returned", "urged"]
    assert api.post(f"/api/v1/robots/{bot.pk}/test/").json() == {"ok": True, "error": ""}
    bad = api.post(
        "/api/v1/robots/",
        {
            "unit": world["C1"].pk,
            "name": " ",
            "platform": "qq",
            "webhook_url": "ftp://x",
            "kinds": ["digest"],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert {"platform", "webhook_url"} <= set(bad.json()["errors"])
    failing = api.post(
        "/api/v1/robots/",
        {
            "unit": world["C1"].pk,
            "name": "坏机器人",
            "platform": "wecom",
            "webhook_url": f"{robots}/fail/x",
        },
        format="json",
    ).json()
    answer = api.post(f"/api/v1/robots/{failing['id']}/test/").json()
    assert answer["ok"] is False and "HTTP 500" in answer["error"]
    changed = api.patch(f"/api/v1/robots/{bot.pk}/", {"kinds": ["urged"], "unit": 1}, format="json")
    assert changed.status_code == 400 and "unit" in changed.json()["errors"]
    assert api.patch(f"/api/v1/robots/{bot.pk}/", {"kinds": ["urged"]}, format="json").json()["kinds"] == [
        "urged"
    ]
    assert Robot.objects.get(pk=bot.pk).kinds == ["urged"]


def test_delivery_records_for_the_administrators_subtree(api, people, setting):
    login(api, people["street_admin"])
    rows = api.get("/api/v1/deliveries/").json()["results"]
    assert [(row["channel"], row["status"], row["unit"]["name"]) for row in rows] == [
        ("robot", "pending", "建西社区")
    ]
    assert rows[0]["robot"]["name"] == "建西社区工作群"
    assert rows[0]["status_display"] == "待发送"
    Delivery.objects.update(status=Delivery.Status.FAILED, error="HTTP 500 Internal Server Error")
    failed = api.get("/api/v1/deliveries/", {"status": "failed"}).json()["results"]
    assert failed[0]["error"] == "HTTP 500 Internal Server Error"


def test_a_tasks_reminders(api, people, setting):
    task, _bot = setting
    login(api, people["district_officer"])
    shown = api.get(f"/api/v1/tasks/{task.pk}/reminders/").json()
    assert shown == {
        "task": task.pk,
        "before_due_hours": [72.0, 24.0, 2.0],
        "custom": False,
        "overdue_hours": 24.0,
        "escalation_hours": 24.0,
    }
    saved = api.put(f"/api/v1/tasks/{task.pk}/reminders/", {"before_due_hours": [4, 48, 0.5]}, format="json")
    assert saved.json()["before_due_hours"] == [48.0, 4.0, 0.5] and saved.json()["custom"]
    bad = api.put(f"/api/v1/tasks/{task.pk}/reminders/", {"before_due_hours": [0, 5000]}, format="json")
    assert bad.status_code == 400 and "before_due_hours" in bad.json()["errors"]
    reset = api.put(f"/api/v1/tasks/{task.pk}/reminders/", {"before_due_hours": None}, format="json")
    assert reset.json()["custom"] is False


PLATFORM_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com", "open.feishu.cn", "open.larksuite.com"]


def test_a_robot_posts_only_to_the_platforms_hosts(api, people, setting, world, settings):
    """An administrator's robot must not make the server post inside its network (SSRF): the webhook's
    host is one of NOTIFICATIONS_ROBOT_HOSTS (the platforms' own by default), when saved and when sent."""
    _task, bot = setting
    settings.NOTIFICATIONS_ROBOT_HOSTS = PLATFORM_HOSTS
    login(api, people["street_admin"])
    for address in (
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "https://x.example/",
    ):
        refused = api.post(
            "/api/v1/robots/",
            {"unit": world["C1"].pk, "name": "内网", "platform": "wecom", "webhook_url": address},
            format="json",
        )
        assert refused.status_code == 400, address
        assert "qyapi.weixin.qq.com" in refused.json()["errors"]["webhook_url"][0]
    assert not Robot.objects.filter(name="内网").exists()
    moved = api.patch(f"/api/v1/robots/{bot.pk}/", {"webhook_url": "http://10.0.0.5/hook"}, format="json")
    assert moved.status_code == 400 and "webhook_url" in moved.json()["errors"]
    accepted = api.post(
        "/api/v1/robots/",
        {
            "unit": world["C1"].pk,
            "name": "钉钉群",
            "platform": "dingtalk",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
        },
        format="json",
    )
    assert accepted.status_code == 201
    # A robot saved while its host was allowed is not posted to once it is not (the local one here).
    answer = api.post(f"/api/v1/robots/{bot.pk}/test/").json()
    assert answer["ok"] is False and "NOTIFICATIONS_ROBOT_HOSTS" in answer["error"]
