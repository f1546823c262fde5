import io

import pytest
from django.core.management import CommandError, call_command

from common.exceptions import Forbidden, ValidationFailed
from orgs import services
from orgs.models import OrgEvent, OrgUnit, Role
from orgs.tree import rebuild_trees, tree_problems
from tests.conftest import login
from tests.factories import make_member, make_unit, platform_admin
from tests.tasks.helpers import bulk_units


def build_district(streets: int, communities: int, prefix: str = "BIG") -> OrgUnit:
    """A district with streets × communities units, written in bulk and numbered by one rebuild."""
    root = make_unit(name=f"{prefix}区", code=f"{prefix}0")
    bulk_units(root, streets, prefix, children_each=communities)
    return root


@pytest.mark.django_db
def test_levels_follow_depth_and_show_practice_names(world):
    assert world["A"].level_key == "district"
    assert world["S1"].level_key == "street"
    assert world["C1"].level_key == "community"
    assert "站" in world["C1"].level_display or "community" in world["C1"].level_display.lower()


@pytest.mark.django_db
def test_a_community_cannot_have_children(world):
    with pytest.raises(ValidationFailed):
        make_unit(world["C1"], code="TOO-DEEP")
    assert not OrgUnit.objects.filter(code="TOO-DEEP").exists()


@pytest.mark.django_db
def test_duplicate_code_is_refused_with_a_field_error(world, people, api):
    login(api, people["district_admin"])
    response = api.post(
        "/api/v1/units/", {"parent": world["S1"].pk, "name": "重复", "code": world["C1"].code}, format="json"
    )
    assert response.status_code == 400
    assert "code" in response.json()["errors"]


@pytest.mark.django_db
def test_only_a_platform_administrator_creates_districts(world, people):
    with pytest.raises(Forbidden):
        services.unit_create(actor=people["district_admin"], parent=None, name="新区", code="NEWROOT")
    root = services.unit_create(actor=platform_admin(), parent=None, name="新区", code="NEWROOT")
    assert root.level == 0 and root.tree_id not in {world["A"].tree_id, world["B"].tree_id}
    assert tree_problems() == []


@pytest.mark.django_db
def test_moving_a_community_keeps_its_people_and_history(world, people, api):
    worker = people["community_worker"]
    login(api, people["district_admin"])
    response = api.post(f"/api/v1/units/{world['C1'].pk}/move/", {"parent": world["S2"].pk}, format="json")
    assert response.status_code == 200
    assert response.json()["parent"]["code"] == world["S2"].code
    # same row: the worker's membership follows, and the history shows creation then the move
    assert worker.memberships.get().unit_id == world["C1"].pk
    verbs = list(
        OrgEvent.objects.filter(unit=world["C1"]).order_by("created_at", "id").values_list("verb", flat=True)
    )
    assert verbs[0] == OrgEvent.Verb.UNIT_CREATED and verbs[-1] == OrgEvent.Verb.UNIT_MOVED
    # the street officer of S1 no longer sees it; S2's tree does
    s1_officer = people["street_officer"]
    login(api, s1_officer)
    assert api.get(f"/api/v1/units/{world['C1'].pk}/").status_code == 404
    assert tree_problems() == []


@pytest.mark.django_db
def test_moves_that_would_break_the_tree_are_refused(world, people):
    admin = people["district_admin"]
    with pytest.raises(ValidationFailed):  # under its own child
        services.unit_move(actor=admin, unit=world["S1"], new_parent=world["C1"])
    with pytest.raises(ValidationFailed):  # a street with communities under another street: too deep
        services.unit_move(actor=admin, unit=world["S1"], new_parent=world["S2"])
    with pytest.raises(ValidationFailed):  # a district is a root
        services.unit_move(actor=platform_admin(), unit=world["A"], new_parent=world["T1"])
    assert tree_problems() == []


@pytest.mark.django_db
def test_moving_between_districts_renumbers_both_trees(world):
    services.unit_move(actor=platform_admin(), unit=world["S1"], new_parent=world["B"])
    world["S1"].refresh_from_db()
    assert world["S1"].tree_id == world["B"].tree_id
    assert set(OrgUnit.objects.get(pk=world["S1"].pk).get_descendants().values_list("code", flat=True)) == {
        world["C1"].code,
        world["C2"].code,
    }
    assert tree_problems() == []


@pytest.mark.django_db
def test_check_tree_command_exits_non_zero_on_damage(world):
    out = io.StringIO()
    call_command("check_tree", stdout=out)
    assert "healthy" in out.getvalue()
    OrgUnit.objects.filter(pk=world["C2"].pk).update(lft=world["C1"].lft, rght=world["C1"].rght)  # overlap
    with pytest.raises(CommandError):
        call_command("check_tree", stderr=io.StringIO())
    rebuild_trees([world["A"].tree_id])
    call_command("check_tree", stdout=io.StringIO())


@pytest.mark.django_db
def test_rebuild_detects_and_repairs_a_wrong_parent_nesting(world):
    # C2 numbered inside C1 although its parent is S1: invariants by parent links catch it
    c1 = world["C1"]
    OrgUnit.objects.filter(pk=c1.pk).update(rght=c1.rght + 2)
    OrgUnit.objects.filter(pk=world["C2"].pk).update(lft=c1.rght, rght=c1.rght + 1)
    assert tree_problems()
    assert rebuild_trees([world["A"].tree_id]) > 0
    assert tree_problems() == []


@pytest.mark.django_db
@pytest.mark.parametrize(("streets", "communities"), [(3, 3), (20, 49)])
def test_tree_endpoint_runs_a_constant_number_of_queries(
    api, streets, communities, django_assert_max_num_queries
):
    root = build_district(streets, communities)
    admin = make_member(root, Role.ADMINISTRATOR)
    login(api, admin)
    with django_assert_max_num_queries(4):
        response = api.get(f"/api/v1/units/{root.pk}/tree/")
    assert response.status_code == 200
    tree = response.json()
    assert len(tree) == 1 and tree[0]["member_count"] == 1
    assert len(tree[0]["children"]) == streets
    assert sum(len(s["children"]) for s in tree[0]["children"]) == streets * communities
    assert tree[0]["children"][0]["children"][0]["level"] == "community"


@pytest.mark.django_db
@pytest.mark.parametrize("size", [5, 300])
def test_unit_list_runs_a_constant_number_of_queries(api, size, django_assert_max_num_queries):
    root = build_district(size // 5, 4, prefix=f"L{size}")
    login(api, make_member(root, Role.OFFICER))
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/units/", {"level": "community", "page_size": 500})
    assert response.json()["count"] == (size // 5) * 4


@pytest.mark.django_db
def test_the_history_of_a_unit_cannot_be_rewritten(world):
    event = OrgEvent.objects.filter(unit=world["C1"]).first()
    event.data = {"forged": True}
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    assert OrgEvent.objects.get(pk=event.pk).data != {"forged": True}
