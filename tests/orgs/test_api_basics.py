import pytest
from django.core.cache import cache

from orgs.models import Role
from tests.conftest import login
from tests.factories import make_member


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_me_lists_the_memberships(api, world, people):
    user = people["street_officer"]
    make_member(world["C2"], Role.VIEWER)  # someone else's membership does not show
    from orgs import services
    from tests.factories import platform_admin

    services.membership_create(actor=platform_admin(), user=user, unit=world["C3"], role=Role.VIEWER)
    login(api, user)
    body = api.get("/api/v1/me/").json()
    assert body["username"] == "street_officer"
    # in tree order: 建设路街道 (…002000) sorts before 秦岭路街道 (…010000) by code
    assert [(m["unit"]["code"], m["role"]) for m in body["memberships"]] == [
        (world["C3"].code, "viewer"),
        (world["S1"].code, "officer"),
    ]


@pytest.mark.django_db
def test_jwt_login_and_refresh(api, people):
    response = api.post(
        "/api/v1/auth/token/", {"username": "street_officer", "password": "pass-12345"}, format="json"
    )
    assert response.status_code == 200
    tokens = response.json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/me/").json()["username"] == "street_officer"
    refreshed = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and "access" in refreshed.json()


@pytest.mark.django_db
def test_repeated_failed_logins_are_throttled_even_with_the_right_password(api, people, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/min"}}
    for _ in range(3):
        bad = api.post(
            "/api/v1/auth/token/", {"username": "street_officer", "password": "wrong"}, format="json"
        )
        assert bad.status_code == 401
    locked = api.post(
        "/api/v1/auth/token/", {"username": "street_officer", "password": "pass-12345"}, format="json"
    )
    assert locked.status_code == 429
    assert locked.json()["errors"]["retry_after"] == 60
    assert "分钟" in locked.json()["message"]
    # the browser login from the same address is held back as well
    page = api.post("/api-auth/login/", {"username": "street_officer", "password": "pass-12345"})
    assert page.status_code == 200  # the form again, not the redirect of a login
    assert "_auth_user_id" not in api.session


@pytest.mark.django_db
def test_a_successful_login_resets_the_username_counter(api, people, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/min"}}
    for _ in range(2):
        api.post(
            "/api/v1/auth/token/",
            {"username": "street_officer", "password": "wrong"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
        )
    ok = api.post(
        "/api/v1/auth/token/",
        {"username": "street_officer", "password": "pass-12345"},
        format="json",
        REMOTE_ADDR="10.0.0.2",
    )
    assert ok.status_code == 200
    again = api.post(
        "/api/v1/auth/token/",
        {"username": "street_officer", "password": "wrong"},
        format="json",
        REMOTE_ADDR="10.0.0.3",
    )
    assert again.status_code == 401


@pytest.mark.django_db
def test_errors_are_json_in_the_requested_language(api, world, people):
    login(api, people["community_worker"])
    zh = api.get(f"/api/v1/units/{world['B'].pk}/")
    assert zh.status_code == 404
    assert zh.json()["message"] == "未找到该单位，或您无权访问。"
    en = api.get(f"/api/v1/units/{world['B'].pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["message"] == "Unit not found, or you do not have access to it."
    denied = api.patch(f"/api/v1/units/{world['C1'].pk}/", {"name": "x"}, format="json")
    assert denied.status_code == 403
    assert world["C1"].name in denied.json()["message"]


@pytest.mark.django_db
def test_validation_errors_name_every_field(api, world, people):
    login(api, people["district_admin"])
    response = api.post(
        "/api/v1/units/", {"parent": world["A"].pk, "code": "bad code!", "latitude": 123}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"name", "code", "latitude"} <= set(errors)
    assert response.json()["message"]


@pytest.mark.django_db
def test_user_creation_validates_mobile_and_duplicates(api, world, people):
    login(api, people["street_admin"])
    first = api.post(
        "/api/v1/users/",
        {
            "username": "wang",
            "real_name": "王芳",
            "mobile": "13800000001",
            "unit": world["C1"].pk,
            "role": "worker",
            "password": "a-long-pass-9",
        },
        format="json",
    )
    assert first.status_code == 201
    assert first.json()["memberships"][0]["unit"]["code"] == world["C1"].code
    dup = api.post(
        "/api/v1/users/",
        {
            "username": "wang",
            "real_name": "王芳",
            "mobile": "13800000001",
            "unit": world["C1"].pk,
            "role": "worker",
        },
        format="json",
    )
    assert dup.status_code == 400
    assert {"username", "mobile"} <= set(dup.json()["errors"])
    bad_mobile = api.post(
        "/api/v1/users/",
        {
            "username": "lisi",
            "real_name": "李四",
            "mobile": "12345",
            "unit": world["C1"].pk,
            "role": "worker",
        },
        format="json",
    )
    assert bad_mobile.status_code == 400 and "mobile" in bad_mobile.json()["errors"]
    login_ok = api.post(
        "/api/v1/auth/token/", {"username": "wang", "password": "a-long-pass-9"}, format="json"
    )
    assert login_ok.status_code == 200


@pytest.mark.django_db
def test_adding_the_same_role_twice_is_a_conflict(api, world, people):
    login(api, people["district_admin"])
    worker = people["community_worker"]
    response = api.post(
        "/api/v1/memberships/", {"user": worker.pk, "unit": world["C1"].pk, "role": "worker"}, format="json"
    )
    assert response.status_code == 409
    added = api.post(
        "/api/v1/memberships/", {"user": worker.pk, "unit": world["C2"].pk, "role": "worker"}, format="json"
    )
    assert added.status_code == 201


@pytest.mark.django_db
def test_unit_filters(api, world, people):
    login(api, people["district_admin"])
    streets = api.get("/api/v1/units/", {"level": "street"}).json()["results"]
    assert {u["code"] for u in streets} == {world["S1"].code, world["S2"].code}
    children = api.get("/api/v1/units/", {"parent": world["S1"].pk}).json()["results"]
    assert {u["name"] for u in children} == {"建西社区", "杜康社区"}
    found = api.get("/api/v1/units/", {"search": "杜康"}).json()["results"]
    assert [u["code"] for u in found] == [world["C2"].code]
    by_code = api.get("/api/v1/units/", {"code": world["C3"].code}).json()["results"]
    assert by_code[0]["level"] == "community" and by_code[0]["parent"]["code"] == world["S2"].code


@pytest.mark.django_db
def test_schema_and_local_swagger_ui(client, people):
    client.force_login(people["community_worker"])  # the docs are for logged-in users
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/units/{unit_id}/tree/" in schema.content
    docs = client.get("/api/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    body = response.json()
    embedded = not settings.DATABASE_URL  # `make test` on a fresh clone; CI sets DATABASE_URL
    assert body["database"] == {"ok": True, "engine": "postgresql", "embedded": embedded}
    assert response.status_code == (200 if body["broker"]["ok"] else 503)


def test_healthz_names_no_database_details_when_it_is_down(client, settings, monkeypatch, caplog):
    from django.db import OperationalError

    host = settings.DATABASES["default"]["HOST"] or "db.internal"
    message = f'connection to server on socket "{host}/.s.PGSQL.5432" failed: role "chuanxi" does not exist'

    class Unreachable:
        embedded = False

        def cursor(self):
            raise OperationalError(message)

    monkeypatch.setattr("common.health.connection", Unreachable())
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "engine": "postgresql", "embedded": False}
    assert host not in response.content.decode() and "chuanxi" not in response.content.decode()
    assert any(message in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_throttled_not_the_proxy(api, people, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    settings.LOGIN_ADDRESS_CEILING = "2/min"
    for name in ("nobody1", "nobody2"):  # one client guessing two usernames
        api.post(
            "/api/v1/auth/token/",
            {"username": name, "password": "x"},
            format="json",
            REMOTE_ADDR="10.0.0.9",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    blocked = api.post(
        "/api/v1/auth/token/",
        {"username": "street_officer", "password": "pass-12345"},
        format="json",
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert blocked.status_code == 429
    other_client = api.post(
        "/api/v1/auth/token/",
        {"username": "street_officer", "password": "pass-12345"},
        format="json",
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert other_client.status_code == 200
