"""The access rule answered three ways must agree: SQL for sets (units_for), Python for objects in
memory (Grants), and the reverse question (holders: who may act on these units)."""

import pytest

from orgs import services
from orgs.models import Membership, OrgUnit, Role
from orgs.scope import Action, Grants, holders, refused_units, unit_condition, units_for
from tests.factories import make_member, platform_admin

pytestmark = pytest.mark.django_db


def test_grants_answer_exactly_what_the_sql_rule_answers(world, people):
    extra = make_member(world["C3"], Role.VIEWER, "two_places")
    services.membership_create(actor=platform_admin(), user=extra, unit=world["S1"], role=Role.OFFICER)
    units = list(OrgUnit.objects.all())
    for user in [*people.values(), extra, platform_admin()]:
        grants = Grants.of(user)
        for action in Action:
            allowed = set(units_for(user, action).values_list("pk", flat=True))
            in_python = {unit.pk for unit in units if grants.can(action, unit)}
            assert in_python == allowed, (user.username, action)
            by_ranges = set(
                Membership.objects.filter(grants.unit_q(action, "unit")).values_list("pk", flat=True)
            )
            by_exists = set(
                Membership.objects.filter(unit_condition(user, action, "unit")).values_list("pk", flat=True)
            )
            assert by_ranges == by_exists, (user.username, action)


@pytest.fixture
def tree(world):
    """The fixture's units as the database has them now (later inserts renumbered the early ones)."""
    return {key: OrgUnit.objects.get(pk=unit.pk) for key, unit in world.items()}


def test_a_deactivated_account_may_do_nothing(tree, people):
    officer = people["district_officer"]
    officer.is_active = False
    grants = Grants.of(officer)
    assert not grants.can(Action.VIEW, tree["A"])
    assert not grants.can_above(Action.REVIEW, tree["C1"])


def test_review_belongs_to_the_units_strictly_above(tree, people):
    grants = Grants.of(people["street_officer"])
    assert grants.can_above(Action.REVIEW, tree["C1"])
    assert not grants.can_above(Action.REVIEW, tree["S1"])  # their own street: the district reviews it
    assert not grants.can_above(Action.REVIEW, tree["C3"])  # another street's community


def test_refused_units_names_what_may_not_be_done(world, people):
    refused = refused_units(
        people["street_admin"], Action.MANAGE_UNITS, [world["C1"], world["C3"], world["S1"]]
    )
    assert refused == [world["C3"]]


def test_who_may_act_on_many_units_in_one_query(world, people, django_assert_num_queries):
    inactive = make_member(world["C1"], Role.WORKER, "left_the_job")
    inactive.is_active = False
    inactive.save()
    platform_admin()
    units = [world["C1"], world["C3"], world["S1"], world["D1"]]
    with django_assert_num_queries(1):
        found = holders(Action.WORK, [unit.pk for unit in units])
    assert found[world["C1"].pk] == {
        people["community_worker"].pk: 0,
        people["street_officer"].pk: 1,
        people["district_officer"].pk: 2,
    }
    assert found[world["C3"].pk] == {people["district_officer"].pk: 2}
    assert found[world["D1"].pk] == {}  # district B has no worker or officer
    nearest = holders(Action.WORK, [world["C1"].pk], max_distance=0)
    assert nearest[world["C1"].pk] == {people["community_worker"].pk: 0}
    reviewers = holders(Action.REVIEW, [world["S1"].pk])
    assert set(reviewers[world["S1"].pk]) == {
        people["street_admin"].pk,
        people["street_officer"].pk,
        people["district_admin"].pk,
        people["district_officer"].pk,
    }
    assert holders(Action.WORK, []) == {}
