"""The Django admin: the tree as a draggable tree, every write through orgs.services."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from orgs.models import Membership, OrgEvent, OrgUnit, Role, User
from orgs.tree import tree_problems
from tests.factories import make_member

CHANGELIST = reverse("admin:orgs_orgunit_changelist")


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_superuser(username="admin", password="pass-12345", real_name="系统管理员")
    client.force_login(user)
    client.user = user
    return client


def _drag(client, cut: OrgUnit, pasted_on: OrgUnit, position: str = "last-child"):
    # Exactly what mptt/draggable-admin.js posts when a row is dropped.
    return client.post(
        CHANGELIST, {"cmd": "move_node", "position": position, "cut_item": cut.pk, "pasted_on": pasted_on.pk}
    )


def _unit_form(unit: OrgUnit, **changes) -> dict:
    data = {
        "parent": unit.parent_id or "",
        "name": unit.name,
        "code": unit.code,
        "station_name": unit.station_name,
        "address": unit.address,
        "contact_phone": unit.contact_phone,
        "latitude": unit.latitude or "",
        "longitude": unit.longitude or "",
        "is_active": "on" if unit.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_changelist_shows_the_tree_to_the_superuser(admin_client, world):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for unit in ("中原区", "秦岭路街道", "建西社区", "二七区"):
        assert unit in html
    assert "draggable-admin-context" in html  # the drag-and-drop widget is wired up
    assert 'data-level="2"' in html  # rows carry their depth for the indentation


def test_search_by_name_and_code(admin_client, world):
    by_name = admin_client.get(CHANGELIST, {"q": "杜康"}).content.decode()
    by_code = admin_client.get(CHANGELIST, {"q": "410103001001"}).content.decode()

    assert "杜康社区" in by_name and "建西社区" not in by_name
    assert "陇西社区" in by_code and "杜康社区" not in by_code


def test_drag_and_drop_moves_the_unit_through_the_service(admin_client, world):
    community, new_street = world["C1"], world["S2"]

    response = _drag(admin_client, community, new_street, "last-child")

    assert response.content == b"OK, moved."
    community.refresh_from_db()
    assert community.parent_id == new_street.pk
    event = OrgEvent.objects.get(verb=OrgEvent.Verb.UNIT_MOVED, unit=community)
    assert event.actor == admin_client.user
    assert event.data == {"from": world["S1"].code, "to": new_street.code}
    assert tree_problems() == []


def test_dropping_beside_a_unit_makes_it_a_sibling(admin_client, world):
    # "right of 电新街社区" means "under 建设路街道", 电新街社区's parent.
    response = _drag(admin_client, world["C2"], world["C3"], "right")

    assert response.content == b"OK, moved."
    assert OrgUnit.objects.get(pk=world["C2"].pk).parent_id == world["S2"].pk
    assert tree_problems() == []


@pytest.mark.parametrize(
    ("cut", "pasted_on", "position"),
    [
        ("S1", "C3", "last-child"),  # a street below a community: deeper than the three tiers
        ("S1", "C1", "last-child"),  # into its own subtree
        ("S1", "B", "left"),  # beside a district: would become a district itself
        ("A", "S2", "last-child"),  # a district under a street
    ],
)
def test_refused_drops_change_nothing(admin_client, world, cut, pasted_on, position):
    before = list(OrgUnit.objects.order_by("pk").values_list("pk", "parent_id", "tree_id", "lft", "rght"))

    response = _drag(admin_client, world[cut], world[pasted_on], position)

    assert response.content.startswith(b"FAIL")
    assert (
        list(OrgUnit.objects.order_by("pk").values_list("pk", "parent_id", "tree_id", "lft", "rght"))
        == before
    )
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.UNIT_MOVED).exists()


def test_staff_administrator_cannot_drag_units_of_another_district(client, world):
    other = make_member(world["B"], Role.ADMINISTRATOR, "other_admin")
    other.is_staff = True
    other.save()
    other.user_permissions.add(*Permission.objects.filter(codename__in=["view_orgunit", "change_orgunit"]))
    client.force_login(other)

    page = client.get(CHANGELIST).content.decode()
    response = _drag(client, world["C1"], world["S2"])

    assert "陇西社区" in page and "建西社区" not in page  # the same access rule as the API
    assert response.content.startswith(b"FAIL")
    assert OrgUnit.objects.get(pk=world["C1"].pk).parent_id == world["S1"].pk


def test_adding_a_unit_goes_through_unit_create(admin_client, world):
    response = admin_client.post(
        reverse("admin:orgs_orgunit_add"),
        {"parent": world["S1"].pk, "name": "秦江社区", "code": "410102010003", "is_active": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    unit = OrgUnit.objects.get(code="410102010003")
    assert unit.parent_id == world["S1"].pk and unit.level == 2
    assert OrgEvent.objects.filter(
        verb=OrgEvent.Verb.UNIT_CREATED, unit=unit, actor=admin_client.user
    ).exists()
    assert tree_problems() == []


def test_editing_a_unit_records_the_change_and_the_move(admin_client, world):
    unit = world["C1"]
    url = reverse("admin:orgs_orgunit_change", args=[unit.pk])

    response = admin_client.post(
        url, _unit_form(unit, parent=world["S2"].pk, station_name="建西社区新时代文明实践站")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert unit.parent_id == world["S2"].pk
    assert unit.station_name == "建西社区新时代文明实践站"
    assert OrgEvent.objects.filter(verb=OrgEvent.Verb.UNIT_MOVED, unit=unit).exists()
    updated = OrgEvent.objects.get(verb=OrgEvent.Verb.UNIT_UPDATED, unit=unit)
    assert "station_name" in updated.data["changes"]
    assert tree_problems() == []


def test_units_cannot_be_deleted_in_the_admin(admin_client, world):
    response = admin_client.get(reverse("admin:orgs_orgunit_delete", args=[world["C1"].pk]))

    assert response.status_code == 403
    assert OrgUnit.objects.filter(pk=world["C1"].pk).exists()


def test_granting_a_membership_in_the_admin_is_audited(admin_client, world):
    person = User.objects.create_user(username="zhang", password="pass-12345", real_name="张三")

    response = admin_client.post(
        reverse("admin:orgs_membership_add"), {"user": person.pk, "unit": world["C3"].pk, "role": Role.WORKER}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.filter(user=person, unit=world["C3"], role=Role.WORKER).exists()
    assert OrgEvent.objects.filter(
        verb=OrgEvent.Verb.MEMBERSHIP_CREATED, unit=world["C3"], actor=admin_client.user
    ).exists()


def test_user_pages_show_real_name_and_memberships(admin_client, people):
    worker = people["community_worker"]

    listing = admin_client.get(
        reverse("admin:orgs_user_changelist"), {"q": worker.real_name}
    ).content.decode()
    page = admin_client.get(reverse("admin:orgs_user_change", args=[worker.pk])).content.decode()

    assert worker.username in listing
    assert worker.real_name in page
    assert "建西社区" in page  # the membership inline


def test_the_audit_trail_is_read_only(admin_client, world):
    event = OrgEvent.objects.filter(unit=world["C1"]).first()

    assert admin_client.get(reverse("admin:orgs_orgevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:orgs_orgevent_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:orgs_orgevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert OrgEvent.objects.filter(pk=event.pk).exists()


def test_a_refused_write_is_shown_as_a_message_not_a_server_error(client, world):
    other = make_member(world["B"], Role.ADMINISTRATOR, "other_admin")
    other.is_staff = True
    other.save()
    other.user_permissions.add(*Permission.objects.filter(codename__in=["view_membership", "add_membership"]))
    person = User.objects.create_user(username="zhang", password="pass-12345")
    client.force_login(other)
    url = reverse("admin:orgs_membership_add")

    response = client.post(url, {"user": person.pk, "unit": world["C1"].pk, "role": Role.WORKER}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    (message,) = response.context["messages"]
    assert message.level_tag == "error"
    assert "建西社区" in str(message)  # the service's own explanation, naming the unit
    assert not Membership.objects.filter(user=person).exists()
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.MEMBERSHIP_CREATED, data__user=person.pk).exists()


def _resubmit(page) -> dict:
    """The POST a browser would send for an admin change page as rendered (forms and inline formsets)."""
    from django.forms import MultiWidget

    data: dict = {}

    def add(form):
        for field in form:
            if field.field.disabled:
                continue
            value = field.value()
            if isinstance(field.field.widget, MultiWidget):
                for index, part in enumerate(field.field.widget.decompress(value)):
                    data[f"{field.html_name}_{index}"] = part if part is not None else ""
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_memberships_granted_and_revoked_inline_are_audited(admin_client, people, world):
    worker = people["community_worker"]
    url = reverse("admin:orgs_user_change", args=[worker.pk])
    data = _resubmit(admin_client.get(url))
    prefix = "memberships"
    existing = int(data[f"{prefix}-TOTAL_FORMS"])
    assert existing == 1
    data[f"{prefix}-0-DELETE"] = "on"  # revoke the worker role at 建西社区
    data[f"{prefix}-TOTAL_FORMS"] = existing + 1
    data[f"{prefix}-1-unit"] = world["C3"].pk  # grant a worker role at 电新街社区
    data[f"{prefix}-1-role"] = Role.WORKER

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Membership.objects.filter(user=worker).values_list("unit__code", "role")) == [
        (world["C3"].code, Role.WORKER)
    ]
    verbs = set(
        OrgEvent.objects.filter(actor=admin_client.user, data__user=worker.pk).values_list("verb", flat=True)
    )
    assert verbs == {OrgEvent.Verb.MEMBERSHIP_CREATED, OrgEvent.Verb.MEMBERSHIP_DELETED}
