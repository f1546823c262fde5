"""Changing a password, deactivating an account or removing its last membership ends its logins."""

import pytest
from django.core.cache import cache

from orgs import services
from orgs.models import Membership, Role, User
from tests.factories import platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def logged_in(api, people):
    """street_officer's tokens, issued before whatever the test does to the account."""
    tokens = api.post(
        "/api/v1/auth/token/", {"username": "street_officer", "password": "pass-12345"}, format="json"
    ).json()
    assert me(api, tokens["access"]).status_code == 200
    return tokens


def me(api, access):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api.get("/api/v1/me/")
    api.credentials()
    return response


def refresh(api, tokens):
    return api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")


def assert_ended(api, tokens, *, says_why: bool = True):
    used = me(api, tokens["access"])
    assert used.status_code == 401
    if says_why:
        assert "重新登录" in used.json()["message"]
    assert refresh(api, tokens).status_code == 401


def test_a_changed_password_ends_the_tokens(api, logged_in):
    user = User.objects.get(username="street_officer")
    user.set_password("another-long-password-9")
    user.save()

    assert_ended(api, logged_in)


def test_a_password_changed_through_the_admin_ends_the_tokens(api, client, logged_in):
    client.force_login(platform_admin())
    user = User.objects.get(username="street_officer")
    response = client.post(
        f"/admin/orgs/user/{user.pk}/password/",
        {"password1": "another-long-password-9", "password2": "another-long-password-9"},
    )
    assert response.status_code == 302

    assert_ended(api, logged_in)


def test_deactivating_ends_the_tokens_and_reactivating_does_not_revive_them(api, logged_in):
    user = User.objects.get(username="street_officer")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_ended(api, logged_in, says_why=False)  # "the account is disabled"

    user = User.objects.get(username="street_officer")
    user.is_active = True
    user.save()
    assert_ended(api, logged_in)


def test_removing_the_last_membership_ends_the_tokens(api, world, people, logged_in):
    user = people["street_officer"]
    extra = services.membership_create(actor=platform_admin(), user=user, unit=world["C1"], role=Role.VIEWER)
    services.membership_delete(actor=platform_admin(), membership=extra)
    assert me(api, logged_in["access"]).status_code == 200  # one membership left: still logged in

    services.membership_delete(actor=platform_admin(), membership=Membership.objects.get(user=user))

    assert_ended(api, logged_in)


def test_the_session_ends_with_the_tokens(client, people):
    client.force_login(people["street_officer"])
    assert client.get("/api/v1/me/").status_code == 200

    services.membership_delete(
        actor=platform_admin(), membership=Membership.objects.get(user=people["street_officer"])
    )

    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_other_accounts_are_untouched(api, people, logged_in):
    other = api.post(
        "/api/v1/auth/token/", {"username": "street_admin", "password": "pass-12345"}, format="json"
    ).json()
    user = User.objects.get(username="street_officer")
    user.set_password("another-long-password-9")
    user.save()

    assert me(api, other["access"]).status_code == 200
    assert refresh(api, other).status_code == 200


def test_a_refresh_token_of_a_deleted_account_is_a_401(api, logged_in):
    User.objects.filter(username="street_officer").delete()

    assert refresh(api, logged_in).status_code == 401


@pytest.mark.parametrize("password", ["12345678", "password1", "street_officer2"])
def test_account_creation_through_the_api_applies_the_password_validators(api, world, people, password):
    api.force_authenticate(people["district_admin"])

    response = api.post(
        "/api/v1/users/",
        {
            "username": "street_officer2",
            "real_name": "王五",
            "unit": world["C1"].pk,
            "role": "worker",
            "password": password,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["password"]
    assert not User.objects.filter(username="street_officer2").exists()


def test_a_good_password_is_accepted(api, world, people):
    api.force_authenticate(people["district_admin"])

    response = api.post(
        "/api/v1/users/",
        {
            "username": "wangwu",
            "real_name": "王五",
            "unit": world["C1"].pk,
            "role": "worker",
            "password": "qinling-road-7781",
        },
        format="json",
    )

    assert response.status_code == 201
