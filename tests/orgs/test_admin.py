"""The Django admin: the tree as a draggable tree, every write through orgs.services."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from orgs import services
from orgs.models import Membership, OrgEvent, OrgUnit, Role, User
from orgs.tree import tree_problems
from tests.factories import make_member, platform_admin

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


def _staff(user: User, *codenames: str) -> User:
    """Give a member the admin: staff status and exactly these model permissions."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_a_refused_write_is_shown_as_a_message_not_a_server_error(client, people, world):
    # An officer sees 建西社区 and its worker (so the form accepts them) but may not manage people.
    officer = _staff(people["street_officer"], "view_membership", "add_membership")
    person = people["community_worker"]
    client.force_login(officer)
    url = reverse("admin:orgs_membership_add")

    response = client.post(url, {"user": person.pk, "unit": world["C2"].pk, "role": Role.WORKER}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    (message,) = response.context["messages"]
    assert message.level_tag == "error"
    assert "杜康社区" in str(message)  # the service's own explanation, naming the unit
    assert not Membership.objects.filter(user=person, unit=world["C2"]).exists()
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.MEMBERSHIP_CREATED, actor=officer).exists()


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


# Non-superuser staff: the admin follows the access rule ---------------------------------------------

USER_PERMISSIONS = ("view_user", "change_user", "view_membership", "add_membership", "delete_membership")


def _password_form(password: str) -> dict:
    return {"password1": password, "password2": password, "usable_password": "true", "set-password": ""}


def test_staff_sees_only_the_people_and_memberships_of_their_district(client, people, world):
    other = _staff(people["other_admin"], *USER_PERMISSIONS, "view_orgevent")
    client.force_login(other)

    users = client.get(reverse("admin:orgs_user_changelist")).content.decode()
    memberships = client.get(reverse("admin:orgs_membership_changelist")).content.decode()
    events = client.get(reverse("admin:orgs_orgevent_changelist")).content.decode()

    assert "other_admin" in users
    for name in ("district_admin", "street_admin", "community_worker"):
        assert name not in users
    assert "二七区" in memberships
    assert "中原区" not in memberships and "建西社区" not in memberships
    assert "二七区" in events  # the district's own history ...
    assert "中原区" not in events and "建西社区" not in events  # ... and nobody else's


def test_superuser_still_sees_every_district(admin_client, people):
    users = admin_client.get(reverse("admin:orgs_user_changelist")).content.decode()
    memberships = admin_client.get(reverse("admin:orgs_membership_changelist")).content.decode()

    assert "other_admin" in users and "district_admin" in users
    assert "二七区" in memberships and "中原区" in memberships


def test_another_districts_administrator_cannot_be_opened_or_have_their_password_reset(client, people):
    other = _staff(people["other_admin"], *USER_PERMISSIONS)
    target = people["district_admin"]
    client.force_login(other)

    change = client.get(reverse("admin:orgs_user_change", args=[target.pk]), follow=True)
    password_page = client.get(reverse("admin:auth_user_password_change", args=[target.pk]))
    posted = client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]), _password_form("taken-over-123")
    )

    # Django's answer for an object outside the queryset: back to the index, "does not exist".
    assert change.redirect_chain[-1][0] == reverse("admin:index")
    assert target.username not in change.content.decode()
    assert password_page.status_code == 404 and posted.status_code == 404
    target.refresh_from_db()
    assert target.check_password("pass-12345") and not target.check_password("taken-over-123")


def test_an_administrator_resets_the_password_of_someone_they_manage(client, people):
    admin = _staff(people["street_admin"], *USER_PERMISSIONS)
    worker = people["community_worker"]
    client.force_login(admin)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[worker.pk]), _password_form("new-pass-12345")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    worker.refresh_from_db()
    assert worker.check_password("new-pass-12345")


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        ("street_officer", "community_worker"),  # sees the worker, may not manage people
        ("street_admin", "district_admin"),  # a district administrator who also works in 建西社区
        ("street_admin", "superuser"),  # a superuser who also holds a role in 建西社区
    ],
)
def test_seeing_someone_is_not_taking_over_their_account(client, people, world, actor, target):
    staff = _staff(people[actor], *USER_PERMISSIONS)
    if target == "superuser":
        person = User.objects.create_superuser(username="root", password="pass-12345")
    else:
        person = people[target]
    if not person.memberships.filter(unit=world["C1"]).exists():
        services.membership_create(actor=platform_admin(), user=person, unit=world["C1"], role=Role.WORKER)
    client.force_login(staff)

    page = client.get(reverse("admin:orgs_user_change", args=[person.pk]))
    password_page = client.get(reverse("admin:auth_user_password_change", args=[person.pk]))
    posted = client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]), _password_form("taken-over-123")
    )

    assert page.status_code == 200  # visible, read-only
    assert 'name="username"' not in page.content.decode()
    assert password_page.status_code == 403 and posted.status_code == 403
    person.refresh_from_db()
    assert person.check_password("pass-12345")


def test_staff_cannot_make_themselves_superuser(client, people):
    other = _staff(people["other_admin"], *USER_PERMISSIONS)
    client.force_login(other)
    url = reverse("admin:orgs_user_change", args=[other.pk])
    page = client.get(url)
    html = page.content.decode()
    data = _resubmit(page)
    data.update(is_superuser="on", is_staff="on", user_permissions=[p.pk for p in Permission.objects.all()])
    data["real_name"] = "二七区管理员"

    response = client.post(url, data)

    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in html  # shown read-only
    assert response.status_code == 302, response.content.decode()[:3000]
    other.refresh_from_db()
    assert other.real_name == "二七区管理员"  # the rest of the form was saved ...
    assert not other.is_superuser  # ... the privileges were ignored
    assert set(other.user_permissions.values_list("codename", flat=True)) == set(USER_PERMISSIONS)


def test_membership_form_offers_only_units_and_people_in_scope(client, people, world):
    other = _staff(people["other_admin"], *USER_PERMISSIONS, "view_orgunit")
    client.force_login(other)
    autocomplete = reverse("admin:autocomplete")
    query = {"app_label": "orgs", "model_name": "membership"}

    page = client.get(reverse("admin:orgs_membership_add"))
    units = client.get(autocomplete, {**query, "field_name": "unit", "term": ""}).json()
    users = client.get(autocomplete, {**query, "field_name": "user", "term": ""}).json()
    posted = client.post(
        reverse("admin:orgs_membership_add"),
        {"user": people["community_worker"].pk, "unit": world["C1"].pk, "role": Role.WORKER},
    )

    form = page.context["adminform"].form
    assert set(form.fields["unit"].queryset.values_list("tree_id", flat=True)) == {world["B"].tree_id}
    assert list(form.fields["user"].queryset) == [other]
    assert {item["id"] for item in units["results"]} == {str(world[k].pk) for k in ("B", "T1", "D1")}
    assert [item["id"] for item in users["results"]] == [str(other.pk)]
    assert posted.status_code == 200
    assert set(posted.context["adminform"].form.errors) == {"user", "unit"}  # not valid choices
    assert not OrgEvent.objects.filter(actor=other).exists()


def test_a_membership_outside_ones_management_cannot_be_revoked(client, people, world):
    officer = _staff(people["street_officer"], *USER_PERMISSIONS)
    membership = Membership.objects.get(user=people["community_worker"])
    client.force_login(officer)

    single = client.post(reverse("admin:orgs_membership_delete", args=[membership.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:orgs_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
    )

    assert single.status_code == 403 and bulk.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not OrgEvent.objects.filter(verb=OrgEvent.Verb.MEMBERSHIP_DELETED).exists()
