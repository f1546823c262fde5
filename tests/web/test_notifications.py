"""The notification pages: the bell, 通知, 通知设置, and for administrators 群机器人 and 发送记录."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import selectors
from notifications.deliveries import deliveries_send
from notifications.models import ChannelPreference, Delivery, Kind, Notification, Robot
from notifications.reminders import reminders_scan
from notifications.services import robot_create
from orgs.models import Role
from tests.factories import make_member
from tests.notifications.helpers import dispatch
from tests.notifications.robot_server import RobotServer
from tests.web.conftest import browser_client
from tests.web.helpers import assignment_of, report, task_for

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def told(site, world):
    """Everything the site's work told people (the domain events dispatched, one scan of due times),
    and a group robot on C1 (its administrators: the street's and the district's)."""
    site["robot"] = robot_create(
        actor=site["street_admin"],
        unit=world["C1"],
        name="建西社区工作群",
        platform="dingtalk",
        webhook_url="https://oapi.dingtalk.com/robot/send?access_token=abcdef123456",
        secret="SEC-very-secret-value",
    )
    dispatch()
    reminders_scan()
    site["street2_admin"] = make_member(world["S2"], Role.ADMINISTRATOR, "street2_admin")
    return site


def bell_count(page: str) -> str | None:
    found = re.search(r'class="bell-count num">([^<]+)<', page)
    return found.group(1) if found else None


# The bell -----------------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_on_every_page_and_no_badge_at_zero(told):
    worker = told["community_worker"]
    unread = selectors.unread_count(user=worker)
    assert unread > 0
    client = browser_client(worker)
    for url in ("/mine/", "/tasks/", "/account/", "/notifications/settings/"):
        page = html(client.get(url))
        assert bell_count(page) == str(unread), url
        assert 'href="/notifications/"' in page and 'hx-trigger="every 60s"' in page

    client.post("/notifications/read-all/")
    page = html(client.get("/mine/"))
    assert 'id="bell"' in page and bell_count(page) is None
    assert 'aria-label="通知"' in page


def test_the_bell_alone_for_polling_and_none_for_the_logged_out(told):
    worker = told["community_worker"]
    response = browser_client(worker).get("/notifications/bell/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert bell_count(html(response)) == str(selectors.unread_count(user=worker))
    assert "<html" not in html(response)
    assert browser_client().get("/notifications/bell/").status_code == 286  # htmx stops polling
    assert 'id="bell"' not in html(browser_client().get("/login/"))


# 通知 ---------------------------------------------------------------------------------------------


def test_the_list_shows_ones_own_newest_first_with_unread_marked(told):
    worker = told["community_worker"]
    mine = list(selectors.notification_list(user=worker))
    page = html(browser_client(worker).get("/notifications/"))
    links = re.findall(r'href="/notifications/(\d+)/open/"', page)
    assert links == [str(n.pk) for n in mine][: len(links)] and links
    assert "退回" in page  # the returned report, in Chinese
    assert page.count("is-unread") == len(links)
    assert "全部标为已读" in page
    # nobody else's notifications appear
    others = Notification.objects.exclude(recipient=worker).values_list("pk", flat=True)
    assert not set(links) & {str(pk) for pk in others}


def test_the_list_filters_unread_and_by_kind(told):
    worker = told["community_worker"]
    client = browser_client(worker)
    first = selectors.notification_list(user=worker).first()
    client.get(f"/notifications/{first.pk}/open/")
    unread = html(client.get("/notifications/?show=unread"))
    assert f"/notifications/{first.pk}/open/" not in unread
    assert f"/notifications/{first.pk}/open/" in html(client.get("/notifications/?show=all"))
    returned = html(client.get("/notifications/?kind=returned"))
    kinds = set(
        Notification.objects.filter(
            pk__in=re.findall(r'href="/notifications/(\d+)/open/"', returned)
        ).values_list("kind", flat=True)
    )
    assert kinds == {Kind.RETURNED}


def test_following_a_notification_marks_it_read_and_opens_where_one_acts(told, world):
    worker, street = told["community_worker"], told["street_officer"]
    returned = Notification.objects.get(recipient=worker, kind=Kind.RETURNED)
    response = browser_client(worker).get(f"/notifications/{returned.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == f"/assignments/{told['returned'].pk}/"
    returned.refresh_from_db()
    assert returned.read_at is not None

    waiting = Notification.objects.filter(recipient=street, kind=Kind.REVIEW_WAITING).first()
    if waiting is None:  # the scan's review reminder comes after a while; the report is there now
        lecture = told["tasks"]["lecture"]
        waiting = Notification.objects.create(
            recipient=street,
            kind=Kind.REVIEW_WAITING,
            subject="report:1",
            occasion="review",
            task=lecture,
            assignment=assignment_of(lecture, world["C2"]),
            unit=world["C2"],
        )
    response = browser_client(street).get(f"/notifications/{waiting.pk}/open/")
    assert response["Location"] == f"/review/{waiting.assignment_id}/"
    assert browser_client(street).get(response["Location"]).status_code == 200

    # someone else's notification: not found
    assert browser_client(street).get(f"/notifications/{returned.pk}/open/").status_code == 404


def test_mark_all_read_is_a_post_with_csrf_and_answers_htmx(told):
    worker = told["community_worker"]
    client = browser_client(worker)
    assert client.get("/notifications/read-all/").status_code == 405
    response = client.post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/notifications/"
    assert selectors.unread_count(user=worker) == 0
    assert ">全部标为已读</button>" not in html(client.get("/notifications/"))

    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(worker)
    assert strict.post("/notifications/read-all/").status_code == 403


# 通知设置 ---------------------------------------------------------------------------------------


@pytest.fixture
def channels(settings):
    settings.NOTIFICATIONS_EMAIL = True
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.sms.LoggingSmsBackend"
    settings.NOTIFICATIONS_QUIET_HOURS = "22:00-07:00"


def checked(page: str, name: str) -> bool:
    found = re.search(rf'<input type="checkbox" name="{re.escape(name)}"([^>]*)>', page)
    assert found, name
    return " checked" in found.group(1)


def test_settings_show_the_backends_defaults_and_quiet_hours_in_words(told, channels):
    page = html(browser_client(told["community_worker"]).get("/notifications/settings/"))
    assert checked(page, "due_soon.sms") and checked(page, "due_soon.email")
    assert not checked(page, "assigned.sms") and not checked(page, "approved.email")
    assert "每天 22:00 至次日 07:00" in page
    assert "站内" in page


def test_settings_are_saved_through_the_service(told, channels):
    worker = told["community_worker"]
    client = browser_client(worker)
    response = client.post(
        "/notifications/settings/", {"assigned.sms": "on", "due_soon.email": "on"}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == "/notifications/settings/"
    kinds = {row["kind"]: row for row in selectors.preferences_of(user=worker)["kinds"]}
    assert kinds["assigned"]["sms"] is True
    assert kinds["due_soon"]["sms"] is False and kinds["due_soon"]["email"] is True
    page = html(client.get("/notifications/settings/"))
    assert checked(page, "assigned.sms") and not checked(page, "due_soon.sms")


def test_a_channel_the_deployment_lacks_is_offered_disabled_and_left_alone(told, settings):
    settings.NOTIFICATIONS_EMAIL = False
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.sms.LoggingSmsBackend"
    worker = told["community_worker"]
    client = browser_client(worker)
    page = html(client.get("/notifications/settings/"))
    assert re.search(r'name="due_soon.email"[^>]* disabled', page)
    client.post("/notifications/settings/", {})
    assert not ChannelPreference.objects.filter(user=worker, channel="email").exists()
    assert ChannelPreference.objects.filter(user=worker, channel="sms", enabled=False).count() == len(
        Kind.values
    )


# 群机器人 ---------------------------------------------------------------------------------------


def test_an_administrator_adds_a_robot_and_its_secret_is_never_shown(told, world):
    admin = told["street_admin"]
    client = browser_client(admin)
    page = html(client.get("/notifications/robots/new/"))
    assert world["C2"].name in page and world["S2"].name not in page  # only units they administer
    response = client.post(
        "/notifications/robots/new/",
        {
            "unit": world["C2"].pk,
            "name": "杜康社区群",
            "platform": "feishu",
            "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/0123-secret-key-9876",
            "secret": "feishu-sign-secret",
            "kinds": ["overdue", "urged"],
        },
    )
    assert response.status_code == 302
    robot = Robot.objects.get(name="杜康社区群")
    assert (robot.unit, robot.platform, robot.kinds, robot.secret) == (
        world["C2"],
        "feishu",
        ["overdue", "urged"],
        "feishu-sign-secret",
    )
    listing = html(client.get("/notifications/robots/"))
    assert "杜康社区群" in listing and "https://open.feishu.cn/…9876" in listing
    assert "feishu-sign-secret" not in listing and "0123-secret-key" not in listing
    edit = html(client.get(f"/notifications/robots/{robot.pk}/edit/"))
    assert "feishu-sign-secret" not in edit and "0123-secret-key" not in edit


def test_a_refused_robot_form_names_the_problems_and_keeps_what_was_typed(told, world):
    client = browser_client(told["street_admin"])
    response = client.post(
        "/notifications/robots/new/",
        {
            "unit": world["C3"].pk,
            "name": "别人的群",
            "platform": "wecom",
            "webhook_url": "https://x.example/h",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "别人的群" in html(response) and "<html" not in html(response)
    response = client.post(
        "/notifications/robots/new/", {"unit": world["C1"].pk, "name": "群", "platform": "wecom"}
    )
    assert response.status_code == 400 and "webhook_url-error" in html(response)
    assert not Robot.objects.filter(name__in=["别人的群", "群"]).exists()


def test_editing_keeps_the_address_and_secret_unless_replaced_and_disabling_stops_posts(told):
    robot = told["robot"]
    client = browser_client(told["district_admin"])
    response = client.post(
        f"/notifications/robots/{robot.pk}/edit/",
        {"name": "建西社区工作群（新）", "platform": "dingtalk", "kinds": ["overdue"], "is_active": "1"},
    )
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.name == "建西社区工作群（新）" and robot.kinds == ["overdue"]
    assert robot.secret == "SEC-very-secret-value" and robot.webhook_url.endswith("abcdef123456")

    client.post(f"/notifications/robots/{robot.pk}/active/", {"active": "0"})
    robot.refresh_from_db()
    assert robot.is_active is False
    assert "已停用" in html(client.get("/notifications/robots/"))


def test_the_test_message_reaches_a_local_server_and_a_refusal_is_shown_in_place(told, world):
    admin = told["street_admin"]
    client = browser_client(admin)
    with RobotServer() as server:
        good = robot_create(
            actor=admin, unit=world["C1"], name="好群", platform="wecom", webhook_url=f"{server.url}/ok/w"
        )
        bad = robot_create(
            actor=admin, unit=world["C1"], name="坏群", platform="wecom", webhook_url=f"{server.url}/refuse/w"
        )
        sent = client.post(f"/notifications/robots/{good.pk}/test/", HTTP_HX_REQUEST="true")
        refused = client.post(f"/notifications/robots/{bad.pk}/test/", HTTP_HX_REQUEST="true")
        plain = client.post(f"/notifications/robots/{bad.pk}/test/")
    assert sent.status_code == 200 and "测试消息已发送" in html(sent) and "<html" not in html(sent)
    assert "sign not match" in html(refused) and "alert-error" in html(refused)
    assert plain.status_code == 200 and "sign not match" in html(plain) and "<html" in html(plain)
    assert [r["path"] for r in server.requests] == ["/ok/w", "/refuse/w", "/refuse/w"]
    assert "传习" in server.requests[0]["body"]["text"]["content"]


# Who sees what: own / sibling / other district ----------------------------------------------------

ROBOT_PAGES = {
    "district_admin": 200,
    "street_admin": 200,  # C1 is below S1
    "street2_admin": 404,  # the sibling street's administrator
    "other_admin": 404,  # another district's
    "street_officer": 404,  # officers do not keep robots
    "district_officer": 404,
    "community_worker": 404,
    "street_viewer": 404,
}


@pytest.mark.parametrize(("who", "expected"), ROBOT_PAGES.items())
def test_a_robot_is_reached_only_by_those_who_administer_its_unit(told, who, expected):
    robot = told["robot"]
    client = browser_client(told[who])
    assert client.get(f"/notifications/robots/{robot.pk}/edit/").status_code == expected
    assert client.post(f"/notifications/robots/{robot.pk}/active/", {"active": "0"}).status_code in (
        {302} if expected == 200 else {404}
    )
    assert client.post(f"/notifications/robots/{robot.pk}/test/").status_code == expected
    listing = client.get("/notifications/robots/")
    if who in ("street2_admin", "other_admin"):
        assert listing.status_code == 200 and robot.name not in html(listing)
    else:
        assert listing.status_code == expected


@pytest.mark.parametrize(
    ("who", "sees_c1", "status"),
    [
        ("district_admin", True, 200),
        ("street_admin", True, 200),
        ("street2_admin", False, 200),
        ("other_admin", False, 200),
        ("street_officer", False, 404),
        ("community_worker", False, 404),
        ("district_viewer", False, 404),
    ],
)
def test_delivery_records_cover_the_administrators_subtree(told, who, sees_c1, status):
    assert Delivery.objects.filter(robot=told["robot"]).exists()
    response = browser_client(told[who]).get("/notifications/deliveries/")
    assert response.status_code == status
    assert (told["robot"].name in html(response)) is sees_c1


def test_delivery_records_filter_by_status_and_show_the_error(told, world, settings):
    settings.NOTIFICATIONS_QUIET_HOURS = ""  # sent at once whatever the hour the test runs
    admin = told["street_admin"]
    Delivery.objects.filter(robot=told["robot"]).delete()  # a real platform's address: never posted to
    with RobotServer() as server:
        robot_create(
            actor=admin,
            unit=world["C1"],
            name="签名错的群",
            platform="wecom",
            webhook_url=f"{server.url}/refuse/x",
            kinds=["assigned"],
        )
        task_for(
            told["district_officer"],
            world["A"],
            [{"unit": world["S1"].pk, "level": "community"}],
            title="新任务",
        )
        dispatch()
        deliveries_send()
    client = browser_client(admin)
    failed = html(client.get("/notifications/deliveries/?status=failed"))
    assert "签名错的群" in failed and "sign not match" in failed
    assert "tone-green" not in failed
    assert "签名错的群" not in html(client.get("/notifications/deliveries/?status=sent"))


# Every role's pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        "community_worker",
        "street_officer",
        "street_admin",
        "district_officer",
        "district_admin",
        "district_viewer",
    ],
)
def test_each_role_reads_its_notifications_and_settings(told, who):
    client = browser_client(told[who])
    for url in ("/notifications/", "/notifications/?show=unread", "/notifications/settings/", "/account/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in html(response) and " style=" not in html(response)
    admin_links = 'href="/notifications/robots/"' in html(client.get("/account/"))
    assert admin_links is (who in ("street_admin", "district_admin"))


# Query counts at two sizes ---------------------------------------------------------------------------

# Session, user, memberships for the navigation, and the page's own reads; the bell is one COUNT (the
# list counts once for the tab and the bell).
BOUNDS = {
    "notifications": 7,
    "unread": 7,
    "settings": 6,
    "robots": 7,
    "robot form": 7,
    "deliveries": 8,
    "bell": 3,
}


def note_pages(site) -> dict[str, tuple]:
    robot = site["robot"]
    return {
        "notifications": (site["community_worker"], "/notifications/"),
        "unread": (site["street_officer"], "/notifications/?show=unread"),
        "settings": (site["community_worker"], "/notifications/settings/"),
        "robots": (site["district_admin"], "/notifications/robots/"),
        "robot form": (site["district_admin"], f"/notifications/robots/{robot.pk}/edit/"),
        "deliveries": (site["district_admin"], "/notifications/deliveries/"),
        "bell": (site["community_worker"], "/notifications/bell/"),
    }


def count(user, url: str) -> int:
    client = browser_client(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


def more(site, world, times: int) -> None:
    """More notifications, robots and deliveries behind every page."""
    for index in range(times):
        task = task_for(
            site["district_officer"],
            world["A"],
            [{"unit": world["A"].pk, "level": "community"}],
            title=f"扩展任务{index}",
            days=0.5,
        )
        report(assignment_of(task, world["C2"]), site["worker_c2"], photos=1, process=False)
        robot_create(
            actor=site["district_admin"],
            unit=world["C2"],
            name=f"扩展群{index}",
            platform="wecom",
            webhook_url=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={index}",
        )
    dispatch()
    reminders_scan()


def test_every_notification_page_runs_the_same_bounded_number_of_queries_at_two_sizes(told, world):
    small = {name: count(user, url) for name, (user, url) in note_pages(told).items()}
    more(told, world, times=25)  # past one page of the list
    assert Notification.objects.filter(recipient=told["community_worker"]).count() > 20
    large = {name: count(user, url) for name, (user, url) in note_pages(told).items()}
    assert large == small
    assert {name: n for name, n in large.items() if n > BOUNDS[name]} == {}, large


def test_the_bound_holds_with_djangos_assertion(told, world, django_assert_max_num_queries):
    more(told, world, times=3)
    for name, (user, url) in note_pages(told).items():
        client = browser_client(user)
        with django_assert_max_num_queries(BOUNDS[name], info=name):
            assert client.get(url).status_code == 200, name


def test_a_push_held_for_the_quiet_hours_says_when_it_goes_out(told, world, settings):
    settings.NOTIFICATIONS_QUIET_HOURS = "00:00-23:59"  # quiet whatever the hour the test runs
    robot_create(
        actor=told["street_admin"],
        unit=world["C2"],
        name="杜康社区群",
        platform="wecom",
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=held",
        kinds=["assigned"],
    )
    task_for(
        told["district_officer"],
        world["A"],
        [{"unit": world["S1"].pk, "level": "community"}],
        title="夜里发布",
    )
    dispatch()
    page = html(browser_client(told["street_admin"]).get("/notifications/deliveries/?status=held"))
    assert "杜康社区群" in page and "免打扰时段暂缓" in page
    assert "23:59 发出" in page


def test_settings_name_a_missing_address_only_for_a_channel_the_deployment_has(told, settings):
    settings.NOTIFICATIONS_EMAIL = True
    settings.NOTIFICATIONS_SMS_BACKEND = ""
    page = html(browser_client(told["community_worker"]).get("/notifications/settings/"))
    assert "没有填写邮箱" in page  # the worker has no email address
    assert "没有填写手机号" not in page and "本系统未开通短信" in page
