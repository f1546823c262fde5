"""Session login by username or mobile number, the API's throttle, log out, one's own password, homes."""

import re

import pytest

from orgs.models import Role
from tests.factories import make_member
from tests.web.conftest import PASSWORD, browser_client

pytestmark = pytest.mark.django_db


def log_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("community_worker", "/mine/"),
        ("street_officer", "/inbox/"),
        ("street_admin", "/inbox/"),
        ("district_officer", "/overview/"),
        ("district_admin", "/overview/"),
        ("district_viewer", "/overview/"),
        ("street_viewer", "/overview/"),
    ],
)
def test_each_role_lands_on_its_home(site, who, home):
    client = browser_client()

    response = log_in(client, site[who].username)

    assert response.status_code == 302 and response["Location"] == "/"
    landed = client.get("/", follow=True)
    assert landed.redirect_chain[-1][0].startswith(home)
    assert landed.status_code == 200


def test_the_mobile_number_logs_in_as_well(site):
    client = browser_client()

    response = log_in(client, "13700000001")

    assert response.status_code == 302
    assert client.get("/account/").context["user"] == site["community_worker"]


def test_a_wrong_password_says_so_in_chinese_and_keeps_the_name(site):
    client = browser_client()

    response = log_in(client, "community_worker", "wrong-password")

    assert response.status_code == 200
    page = response.content.decode()
    assert "账号或密码错误" in page
    assert 'value="community_worker"' in page
    assert "_auth_user_id" not in client.session


def test_the_login_page_needs_the_csrf_token(site):
    client = browser_client()
    client.handler.enforce_csrf_checks = True

    refused = log_in(client, "community_worker")
    assert refused.status_code == 403

    form = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode()).group(1)
    accepted = client.post(
        "/login/", {"username": "community_worker", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302


def test_failed_logins_share_the_api_throttle(site, settings, api):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/min"}}
    client = browser_client()
    for _ in range(2):
        log_in(client, "13700000001", "wrong")  # by mobile: counts against the account's name
    api.post("/api/v1/auth/token/", {"username": "community_worker", "password": "wrong"}, format="json")

    locked = log_in(client, "community_worker", PASSWORD)  # the same address: the pair is held back

    assert locked.status_code == 200
    assert "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    token = api.post(
        "/api/v1/auth/token/", {"username": "community_worker", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 429
    # The guesser's address is held back, not the official's: from another place they log in.
    elsewhere = browser_client()
    log_in(elsewhere, "community_worker", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert "_auth_user_id" in elsewhere.session


def test_logging_out_takes_a_post(site):
    client = browser_client(site["community_worker"])

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", follow=True)

    assert response.redirect_chain[-1][0] == "/login/"
    assert "您已退出登录" in response.content.decode()
    assert client.get("/mine/").status_code == 302


def test_pages_ask_for_login_first(site):
    response = browser_client().get("/mine/")

    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/mine/")


def test_changing_ones_password_applies_the_validators_and_keeps_the_session(site):
    worker = site["community_worker"]
    client = browser_client(worker)

    weak = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert weak.status_code == 200
    assert "这个密码太常见了" in weak.content.decode() or "密码全部为数字" in weak.content.decode()

    strong = "Jianxi-Station-2026"
    done = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == "/account/"
    assert "密码已修改" in done.content.decode()
    worker.refresh_from_db()
    assert worker.check_password(strong)
    assert client.get("/mine/").status_code == 200  # still logged in


def test_several_levels_land_on_the_highest_with_a_switcher(site, world):
    officer = site["street_officer"]
    make_member(world["C1"], Role.WORKER, None)  # someone else
    from orgs import services as org_services
    from tests.factories import platform_admin

    org_services.membership_create(actor=platform_admin(), user=officer, unit=world["C1"], role=Role.WORKER)
    org_services.membership_create(actor=platform_admin(), user=officer, unit=world["A"], role=Role.VIEWER)
    client = browser_client(officer)

    landed = client.get("/", follow=True)

    assert landed.redirect_chain[-1][0] == f"/overview/?unit={world['A'].pk}"
    page = landed.content.decode()
    assert "切换工作台" in page
    for label in ("郑州" if False else "中原区 · 总览", "秦岭路街道 · 待办", "建西社区 · 我的任务"):
        assert label in page
    # Opening another workspace makes it the home of this session.
    client.get(f"/inbox/?unit={world['S1'].pk}")
    assert client.get("/")["Location"] == f"/inbox/?unit={world['S1'].pk}"
