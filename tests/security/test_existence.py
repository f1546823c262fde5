"""What an administrator learns about accounts and units outside their districts: no more than
uniqueness forces (a value is taken), never whose or where."""

import logging

import pytest

from orgs import services
from orgs.models import User
from tests.factories import platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider(world):
    """A worker of district B with a mobile number."""
    return services.user_create(
        actor=platform_admin(),
        username="b_worker",
        real_name="赵六",
        unit=world["D1"],
        role="worker",
        mobile="13900000001",
    )


def create(api, admin, unit, **fields):
    api.force_authenticate(admin)
    body = {"username": "newcomer", "real_name": "新人", "unit": unit.pk, "role": "worker", **fields}
    return api.post("/api/v1/users/", body, format="json")


def test_a_mobile_number_outside_the_district_is_refused_without_saying_whose(
    api, world, people, outsider, caplog
):
    with caplog.at_level(logging.WARNING, logger="orgs.services"):
        response = create(api, people["district_admin"], world["C1"], mobile="13900000001")

    assert response.status_code == 400
    text = response.content.decode()
    for secret in ("b_worker", "赵六", "陇西", "淮河路", "二七区", "410103"):
        assert secret not in text
    assert response.json()["errors"]["mobile"] == ["该手机号不能使用；请留空或核对。"]
    assert "outside their units" in caplog.text  # probing leaves a trace
    assert not User.objects.filter(username="newcomer").exists()


def test_a_mobile_number_inside_the_district_names_its_owner(api, world, people):
    services.user_create(
        actor=platform_admin(),
        username="a_worker",
        real_name="钱七",
        unit=world["C2"],
        role="worker",
        mobile="13900000002",
    )

    response = create(api, people["district_admin"], world["C1"], mobile="13900000002")

    assert response.status_code == 400
    assert "钱七" in response.json()["errors"]["mobile"][0]


def test_a_taken_username_says_only_that(api, world, people, outsider):
    response = create(api, people["district_admin"], world["C1"], username="b_worker")

    assert response.status_code == 400
    text = response.content.decode()
    assert "赵六" not in text and "陇西" not in text and "13900000001" not in text


def test_a_unit_code_of_another_district_is_refused_without_saying_where(api, world, people):
    api.force_authenticate(people["district_admin"])

    response = api.post(
        "/api/v1/units/",
        {"parent": world["S1"].pk, "name": "新社区", "code": world["D1"].code},
        format="json",
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert "陇西" not in text and "二七区" not in text
