"""The access rule as a matrix: role × unit (own / below / sibling / parent / other district) × read / write.

The expectations are written out by hand from the rule in the issue, not computed with orgs.scope,
so a change to the rule that widens or narrows access breaks this table.
"""

import copy

import pytest

from orgs.models import Membership, Role
from tests.conftest import build_people, build_world, login, made_once_for_the_scope
from tests.factories import make_member

ALL_A = {"A", "S1", "S2", "C1", "C2", "C3"}
S1_SUBTREE = {"S1", "C1", "C2"}
ALL_B = {"B", "T1", "D1"}
UNITS = ["A", "S1", "S2", "C1", "C2", "C3", "B", "T1", "D1"]

VISIBLE = {
    "district_admin": ALL_A,
    "district_officer": ALL_A,
    "street_admin": S1_SUBTREE,
    "street_officer": S1_SUBTREE,
    "street_viewer": S1_SUBTREE,
    "community_worker": {"C1"},
    "other_admin": ALL_B,
}
ADMINS = {"district_admin", "street_admin", "other_admin"}
CASES = [(role, unit) for role in VISIBLE for unit in UNITS]


@pytest.fixture(scope="module")
def _world_and_people(django_db_setup, django_db_blocker):
    """Some 300 cases share one arrangement: made once (150 queries), undone after every case."""

    def make():
        world = build_world()
        return world, build_people(world)

    yield from made_once_for_the_scope(django_db_blocker, make)


@pytest.fixture
def world(_world_and_people, db):
    return copy.deepcopy(_world_and_people[0])


@pytest.fixture
def people(_world_and_people, db):
    return copy.deepcopy(_world_and_people[1])


def _expected_write(role: str, unit: str) -> int:
    if unit not in VISIBLE[role]:
        return 404
    return 200 if role in ADMINS else 403


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit"), CASES)
def test_unit_detail_tree_and_events_follow_the_rule(api, world, people, role, unit):
    login(api, people[role])
    expected = 200 if unit in VISIBLE[role] else 404
    uid = world[unit].pk
    for url in (f"/api/v1/units/{uid}/", f"/api/v1/units/{uid}/tree/", f"/api/v1/units/{uid}/events/"):
        response = api.get(url)
        assert response.status_code == expected, (url, response.json())
    if expected == 404:
        assert world[unit].name not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(VISIBLE))
def test_unit_list_shows_exactly_the_visible_subtrees(api, world, people, role):
    login(api, people[role])
    response = api.get("/api/v1/units/", {"page_size": 100})
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {world[key].code for key in VISIBLE[role]}


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit"), CASES)
def test_unit_update_needs_an_administrator_in_scope(api, world, people, role, unit):
    login(api, people[role])
    response = api.patch(f"/api/v1/units/{world[unit].pk}/", {"address": "新地址 1 号"}, format="json")
    assert response.status_code == _expected_write(role, unit), response.json()
    world[unit].refresh_from_db()
    assert (world[unit].address == "新地址 1 号") == (response.status_code == 200)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit"), [(r, u) for r in VISIBLE for u in ["A", "S1", "S2", "B", "T1"]])
def test_unit_create_under_a_parent_needs_an_administrator_in_scope(api, world, people, role, unit):
    login(api, people[role])
    response = api.post(
        "/api/v1/units/", {"parent": world[unit].pk, "name": "新单位", "code": "NEW001"}, format="json"
    )
    expected = {200: 201}.get(_expected_write(role, unit), _expected_write(role, unit))
    assert response.status_code == expected, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit"), CASES)
def test_account_creation_needs_an_administrator_in_scope(api, world, people, role, unit):
    login(api, people[role])
    response = api.post(
        "/api/v1/users/",
        {"username": f"new_{unit.lower()}", "real_name": "新人", "unit": world[unit].pk, "role": Role.WORKER},
        format="json",
    )
    expected = {200: 201}.get(_expected_write(role, unit), _expected_write(role, unit))
    assert response.status_code == expected, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit"), CASES)
def test_people_and_memberships_are_visible_only_inside_scope(api, world, people, role, unit):
    person = make_member(world[unit], Role.VIEWER, username=f"person_{unit.lower()}")
    membership = Membership.objects.get(user=person)
    login(api, people[role])
    expected = 200 if unit in VISIBLE[role] else 404
    assert api.get(f"/api/v1/users/{person.pk}/").status_code == expected
    assert api.get(f"/api/v1/memberships/{membership.pk}/").status_code == expected
    listed = {row["username"] for row in api.get("/api/v1/users/", {"page_size": 200}).json()["results"]}
    assert (person.username in listed) == (expected == 200)
    deleted = api.delete(f"/api/v1/memberships/{membership.pk}/")
    assert deleted.status_code == {200: 204}.get(_expected_write(role, unit), _expected_write(role, unit))
    assert Membership.objects.filter(pk=membership.pk).exists() == (deleted.status_code != 204)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "unit", "target"), [(r, "C1", t) for r in VISIBLE for t in ["S2", "T1"]])
def test_moving_a_community_needs_administrator_rights_on_both_ends(api, world, people, role, unit, target):
    login(api, people[role])
    response = api.post(f"/api/v1/units/{world[unit].pk}/move/", {"parent": world[target].pk}, format="json")
    if unit not in VISIBLE[role] or target not in VISIBLE[role]:
        expected = 404
    elif role not in ADMINS:
        expected = 403
    else:
        expected = 200
    assert response.status_code == expected, response.json()


@pytest.mark.django_db
def test_anonymous_requests_are_refused(api, world):
    for url in (
        "/api/v1/units/",
        f"/api/v1/units/{world['A'].pk}/",
        "/api/v1/users/",
        "/api/v1/me/",
        "/api/v1/memberships/",
    ):
        assert api.get(url).status_code == 401
