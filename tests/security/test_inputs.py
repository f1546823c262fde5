"""Input that used to be a 500 is a 4xx with a message a person can act on."""

import json

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.exceptions import ParseError

from common.parsers import BoundedJSONParser, RequestTooLarge
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def post_json(api, path, body: bytes, **extra):
    return api.generic("POST", path, body, content_type="application/json", **extra)


# --- JSON bodies ---------------------------------------------------------------------------------


def test_an_oversized_json_body_is_413_before_it_is_read(api, settings):
    settings.API_JSON_MAX_BYTES = 1024
    body = json.dumps({"username": "x" * 2000, "password": "y"}).encode()

    response = post_json(api, "/api/v1/auth/token/", body)

    assert response.status_code == 413
    assert response.json()["message"] == "请求体超过 1 KB，这是 JSON 请求的上限。"


def test_a_body_longer_than_declared_is_cut_at_the_limit_while_reading(settings):
    """A chunked body declares no length: the reading itself stops one byte past the limit."""
    settings.API_JSON_MAX_BYTES = 1024
    request = RequestFactory().post("/", data=b"[" + b"1," * 5000 + b"1]", content_type="application/json")
    request.META.pop("CONTENT_LENGTH")

    class Counting:
        read_bytes = 0

        def __init__(self, stream):
            self.stream = stream

        def read(self, size=-1):
            data = self.stream.read(size)
            Counting.read_bytes += len(data)
            return data

    with pytest.raises(RequestTooLarge):
        BoundedJSONParser().parse(Counting(request), parser_context={"request": request})
    assert Counting.read_bytes == 1025


def test_deep_nesting_is_a_400_not_a_recursion_error(api, people):
    login(api, people["district_admin"])
    for depth in (40, 100_000):
        body = b"[" * depth + b"]" * depth

        response = post_json(api, "/api/v1/units/", body)

        assert response.status_code == 400, depth
        assert "嵌套" in response.json()["message"]


def test_nul_characters_in_json_text_are_a_400(api, people, world):
    login(api, people["district_admin"])
    body = json.dumps({"parent": world["A"].pk, "name": "新\u0000街道", "code": "410102099000"}).encode()

    response = post_json(api, "/api/v1/units/", body)

    assert response.status_code == 400
    assert "NUL" in response.json()["message"]


def test_malformed_json_is_a_400_with_a_message(api, people):
    login(api, people["district_admin"])

    response = post_json(api, "/api/v1/units/", b'{"name": ')

    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON")


# --- login ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"username": ["street_officer"], "password": "pass-12345"},
        {"username": {"$ne": ""}, "password": "pass-12345"},
        {"username": "street_officer", "password": ["pass-12345"]},
        {"username": None, "password": None},
        ["street_officer", "pass-12345"],
        "street_officer",
    ],
)
def test_non_string_credentials_are_a_400(api, people, body):
    response = post_json(api, "/api/v1/auth/token/", json.dumps(body).encode())

    assert response.status_code == 400
    assert response.json()["message"]


def test_non_string_credentials_at_the_session_login_fail_quietly(client, people):
    response = client.post(
        "/api-auth/login/", json.dumps({"username": ["x"]}), content_type="application/json"
    )

    assert response.status_code == 200  # the form again, with its errors
    from django.contrib.auth import authenticate

    assert authenticate(username=["street_officer"], password="pass-12345") is None


# --- query strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users/?search=a%00b",
        "/api/v1/units/?search=%00",
        "/api/v1/units/?code=41%00",
        "/api/v1/memberships/?role=%00",
        "/api/v1/units/?%00=1",
    ],
)
def test_nul_in_the_query_string_is_a_400(api, people, path):
    login(api, people["district_admin"])

    response = api.get(path)

    assert response.status_code == 400
    assert response.json()["message"]


def test_nul_in_an_admin_search_is_a_400(client, people):
    client.force_login(people["district_admin"])

    response = client.get("/admin/orgs/orgunit/?q=%00")

    assert response.status_code == 400


def test_user_search_still_finds_people(api, people):
    login(api, people["district_admin"])

    found = api.get("/api/v1/users/?search=street_off").json()

    assert [person["username"] for person in found["results"]] == ["street_officer"]


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00"],
)
def test_date_times_that_overflow_in_utc_are_refused(value):
    from common.filters import IsoDateTimeFilter
    from orgs.models import OrgUnit

    class Filter(__import__("django_filters").FilterSet):
        after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

        class Meta:
            model = OrgUnit
            fields = ["after"]

    filterset = Filter({"after": value}, queryset=OrgUnit.objects.all())

    assert not filterset.is_valid()
    assert "after" in filterset.errors
    assert list(Filter({"after": "2026-01-01T08:00:00+08:00"}, queryset=OrgUnit.objects.all()).qs) == []
    # Python takes offsets up to ±23:59, PostgreSQL up to ±15:59: the query gets UTC
    assert list(Filter({"after": "2999-01-01T08:00:00-23:20"}, queryset=OrgUnit.objects.all()).qs) == []


def test_a_json_parse_error_is_never_a_500():
    with pytest.raises(ParseError):
        BoundedJSONParser().parse(
            __import__("io").BytesIO(b"\xff\xfe"), parser_context={"request": RequestFactory().post("/")}
        )
