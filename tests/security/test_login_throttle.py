"""Guessing passwords is held back where it happens; a stranger cannot lock an official out."""

import pytest
from django.core.cache import cache

from orgs import login_throttle

pytestmark = pytest.mark.django_db

RIGHT = {"username": "street_officer", "password": "pass-12345"}
WRONG = {"username": "street_officer", "password": "wrong"}


@pytest.fixture(autouse=True)
def _fresh_throttle(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "3/min"}}
    settings.LOGIN_USERNAME_CEILING = "6/hour"
    settings.LOGIN_ADDRESS_CEILING = "6/hour"
    cache.clear()
    yield
    cache.clear()


def token(api, body, address):
    return api.post("/api/v1/auth/token/", body, format="json", REMOTE_ADDR=address)


def test_the_guessing_address_is_held_back_not_the_official(api, people):
    for _ in range(3):
        assert token(api, WRONG, "203.0.113.5").status_code == 401

    assert token(api, RIGHT, "203.0.113.5").status_code == 429  # even with the right password
    assert token(api, RIGHT, "10.1.1.1").status_code == 200  # the official, at their office


def test_many_addresses_reach_the_username_ceiling_but_not_a_known_address(api, people):
    assert token(api, RIGHT, "10.1.1.1").status_code == 200  # the official's usual address
    for index in range(6):  # a campaign from six addresses
        token(api, WRONG, f"203.0.113.{index}")

    assert token(api, RIGHT, "198.51.100.7").status_code == 429  # a new address: the ceiling holds
    assert token(api, RIGHT, "10.1.1.1").status_code == 200  # the official is not locked out


def test_retry_after_tells_the_real_remaining_time(api, people, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(login_throttle.time, "time", lambda: now[0])
    for _ in range(3):
        token(api, WRONG, "203.0.113.5")
    now[0] += 45

    locked = token(api, RIGHT, "203.0.113.5")

    assert locked.status_code == 429
    assert locked.json()["errors"]["retry_after"] == 15
    assert "1 分钟" in locked.json()["message"]


def test_one_address_trying_many_usernames_reaches_the_address_ceiling(api, people):
    for index in range(6):
        token(api, {"username": f"someone{index}", "password": "x"}, "203.0.113.5")

    assert token(api, RIGHT, "203.0.113.5").status_code == 429


def test_unlock_lifts_the_username_ceiling(api, people):
    for index in range(6):
        token(api, WRONG, f"203.0.113.{index}")
    assert token(api, RIGHT, "198.51.100.7").status_code == 429

    login_throttle.unlock("Street_Officer")

    assert token(api, RIGHT, "198.51.100.7").status_code == 200


def test_a_direct_client_cannot_choose_its_address_with_x_forwarded_for(api, people, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["172.30.81.1/32"]
    for index in range(3):  # the attacker rotates the header, from one address, straight to gunicorn
        api.post(
            "/api/v1/auth/token/",
            WRONG,
            format="json",
            REMOTE_ADDR="192.0.2.44",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{index}",
        )

    again = api.post(
        "/api/v1/auth/token/", RIGHT, format="json", REMOTE_ADDR="192.0.2.44", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert again.status_code == 429
    through_proxy = api.post(
        "/api/v1/auth/token/",
        RIGHT,
        format="json",
        REMOTE_ADDR="172.30.81.1",
        HTTP_X_FORWARDED_FOR="forged, 198.51.100.200",
    )
    assert through_proxy.status_code == 200
