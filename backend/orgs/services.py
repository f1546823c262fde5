"""Writes to the organisation: the only module that changes the tree, people and memberships."""

import logging
from decimal import Decimal
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from common import events
from common.exceptions import Conflict, Forbidden, ValidationFailed
from orgs import selectors
from orgs.models import MAX_DEPTH, Membership, OrgEvent, OrgUnit, Role, User
from orgs.scope import Action, can, unit_condition
from orgs.tree import lock_new_roots, lock_trees, next_tree_id

logger = logging.getLogger(__name__)

UNIT_FIELDS = (
    "name",
    "code",
    "station_name",
    "address",
    "contact_phone",
    "latitude",
    "longitude",
    "is_active",
)


def _require(actor: User, action: Action, unit: OrgUnit | None) -> None:
    if unit is None:
        if not actor.is_superuser:
            raise Forbidden(_("Only a platform administrator can create a new district."))
        return
    if not can(actor, action, unit):
        raise Forbidden(_("You do not have permission to do this in %(unit)s.") % {"unit": unit.name})


def event_record(
    *, verb: str, actor: User | None, unit: OrgUnit | None = None, data: dict | None = None
) -> OrgEvent:
    return OrgEvent.objects.create(verb=verb, actor=actor, unit=unit, data=data or {})


def _clean_unit(unit: OrgUnit) -> None:
    unit.full_clean(exclude=["parent", "lft", "rght", "tree_id", "level"], validate_unique=False)


def _check_code_free(code: str, exclude_pk: int | None = None) -> None:
    qs = OrgUnit.objects.filter(code=code)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationFailed(
            _("The code %(code)s is already used by another unit.") % {"code": code},
            {"code": [_("This code is already in use.")]},
        )


@transaction.atomic
def unit_create(
    *,
    actor: User,
    parent: OrgUnit | None,
    name: str,
    code: str,
    station_name: str = "",
    address: str = "",
    contact_phone: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    is_active: bool = True,
) -> OrgUnit:
    _require(actor, Action.MANAGE_UNITS, parent)
    if parent is not None:
        lock_trees([parent.tree_id])
        parent = OrgUnit.objects.get(pk=parent.pk)  # fresh lft/rght, read under the lock
        if parent.level >= MAX_DEPTH:
            raise ValidationFailed(
                _("A community cannot have units below it."),
                {"parent": [_("Choose a district or a street.")]},
            )
    unit = OrgUnit(
        parent=parent,
        name=name,
        code=code,
        station_name=station_name,
        address=address,
        contact_phone=contact_phone,
        latitude=latitude,
        longitude=longitude,
        is_active=is_active,
    )
    _clean_unit(unit)
    _check_code_free(code)
    if parent is None:
        lock_new_roots()
        unit.tree_id = next_tree_id()
        unit.lft, unit.rght, unit.level = 1, 2, 0
        with OrgUnit.objects.disable_mptt_updates():
            unit.save()
    else:
        unit.save()
    event_record(verb=OrgEvent.Verb.UNIT_CREATED, actor=actor, unit=unit, data={"code": code, "name": name})
    return unit


@transaction.atomic
def unit_update(*, actor: User, unit: OrgUnit, data: dict[str, Any]) -> OrgUnit:
    _require(actor, Action.MANAGE_UNITS, unit)
    lock_trees([unit.tree_id])
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    changes = {}
    for field in UNIT_FIELDS:
        if field in data and getattr(unit, field) != data[field]:
            changes[field] = [str(getattr(unit, field)), str(data[field])]
            setattr(unit, field, data[field])
    if not changes:
        return unit
    _clean_unit(unit)
    if "code" in changes:
        _check_code_free(unit.code, exclude_pk=unit.pk)
    unit.save()  # a changed code re-sorts the unit among its siblings (order_insertion_by)
    event_record(verb=OrgEvent.Verb.UNIT_UPDATED, actor=actor, unit=unit, data={"changes": changes})
    return unit


def _subtree_height(unit: OrgUnit) -> int:
    from django.db.models import Max

    deepest = OrgUnit.objects.filter(tree_id=unit.tree_id, lft__gte=unit.lft, rght__lte=unit.rght).aggregate(
        m=Max("level")
    )["m"]
    return (deepest or unit.level) - unit.level


@transaction.atomic
def unit_move(*, actor: User, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Hand a unit (with its subtree, people and history) to another parent."""
    _require(actor, Action.MANAGE_UNITS, unit)
    _require(actor, Action.MANAGE_UNITS, new_parent)
    lock_trees([unit.tree_id, new_parent.tree_id])
    unit = OrgUnit.objects.get(pk=unit.pk)
    new_parent = OrgUnit.objects.get(pk=new_parent.pk)
    if unit.parent_id is None:
        raise ValidationFailed(
            _("A district cannot be moved under another unit."), {"parent": [_("Not allowed.")]}
        )
    if unit.parent_id == new_parent.pk:
        return unit
    if new_parent.tree_id == unit.tree_id and unit.lft <= new_parent.lft and new_parent.rght <= unit.rght:
        raise ValidationFailed(
            _("A unit cannot be moved under itself or one of its own units."),
            {"parent": [_("Would form a cycle.")]},
        )
    if new_parent.level + 1 + _subtree_height(unit) > MAX_DEPTH:
        raise ValidationFailed(
            _("The move would put units below community level."),
            {"parent": [_("Choose a higher-level parent.")]},
        )
    old_parent = unit.parent
    old_tree = unit.tree_id
    unit.move_to(new_parent, "last-child")
    unit.refresh_from_db()
    event_record(
        verb=OrgEvent.Verb.UNIT_MOVED,
        actor=actor,
        unit=unit,
        data={"from": old_parent.code if old_parent else None, "to": new_parent.code},
    )
    events.emit(
        "unit.moved",
        unit_id=unit.pk,
        actor_id=actor.pk,
        data={
            "from_parent": old_parent.pk if old_parent else None,
            "to_parent": new_parent.pk,
            "from_tree": old_tree,
            "to_tree": unit.tree_id,
        },
    )
    return unit


# People -------------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    real_name: str,
    unit: OrgUnit,
    role: str,
    mobile: str | None = None,
    password: str | None = None,
) -> User:
    """Create an account with its first membership; only an administrator of an ancestor-or-self unit."""
    _require(actor, Action.MANAGE_PEOPLE, unit)
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role %(role)s.") % {"role": role}, {"role": [_("Unknown role.")]})
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username=username).exists():
        # Login names are unique across the deployment, so "taken" cannot be hidden; nothing more is said.
        errors["username"] = [_("This username is already taken.")]
    owner = User.objects.filter(mobile=mobile).first() if mobile else None
    if owner is not None:
        if selectors.user_list(user=actor).filter(pk=owner.pk).exists():
            errors["mobile"] = [
                _("This mobile number already belongs to %(name)s (%(username)s) in your units.")
                % {"name": owner.real_name or owner.username, "username": owner.username}
            ]
        else:
            # Someone outside the actor's units: uniqueness forces a refusal, which says no more
            # than that (not whose, not where); the attempt is logged, as probing would be.
            errors["mobile"] = [_("This mobile number cannot be used; leave it empty or check it.")]
            logger.warning("user_create by %s: mobile number of an account outside their units", actor.pk)
    if errors:
        raise ValidationFailed(_("The account could not be created."), errors)
    user = User(username=username, real_name=real_name, mobile=mobile or None)
    if password:
        try:  # the same validators as the import and the admin (AUTH_PASSWORD_VALIDATORS)
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed(
                _("The password is not safe enough: %(problem)s") % {"problem": " ".join(exc.messages)},
                {"password": exc.messages},
            ) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    try:
        user.save()
    except IntegrityError as exc:  # a concurrent request took the same username or mobile
        raise Conflict(_("This username or mobile number was just taken; try another.")) from exc
    Membership.objects.create(user=user, unit=unit, role=role)
    event_record(
        verb=OrgEvent.Verb.USER_CREATED,
        actor=actor,
        unit=unit,
        data={"user": user.pk, "username": username, "role": role},
    )
    return user


@transaction.atomic
def membership_create(*, actor: User, user: User, unit: OrgUnit, role: str) -> Membership:
    _require(actor, Action.MANAGE_PEOPLE, unit)
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role %(role)s.") % {"role": role}, {"role": [_("Unknown role.")]})
    if (
        not actor.is_superuser
        and not user.memberships.filter(unit_condition(actor, Action.MANAGE_PEOPLE)).exists()
    ):
        # Seeing someone (e.g. as an inspector above them) is not managing them: only an
        # administrator of one of their units may give them more roles.
        raise Forbidden(
            _("Only an administrator of one of %(user)s's units can give them another role.") % {"user": user}
        )
    membership, created = Membership.objects.get_or_create(user=user, unit=unit, role=role)
    if not created:
        raise Conflict(_("%(user)s already has this role in %(unit)s.") % {"user": user, "unit": unit.name})
    event_record(
        verb=OrgEvent.Verb.MEMBERSHIP_CREATED,
        actor=actor,
        unit=unit,
        data={"user": user.pk, "role": role},
    )
    return membership


@transaction.atomic
def membership_delete(*, actor: User, membership: Membership) -> None:
    _require(actor, Action.MANAGE_PEOPLE, membership.unit)
    data = {"user": membership.user_id, "role": membership.role}
    unit = membership.unit
    membership.delete()
    if not Membership.objects.filter(user_id=membership.user_id).exists():
        # Out of every unit: whatever tokens and sessions the account holds end now (orgs/tokens.py).
        User.objects.filter(pk=membership.user_id).update(token_version=F("token_version") + 1)
    event_record(verb=OrgEvent.Verb.MEMBERSHIP_DELETED, actor=actor, unit=unit, data=data)
