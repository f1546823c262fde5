"""The onboarding sheet: people, their mobile numbers and their roles in units."""

import re
from dataclasses import dataclass
from typing import IO

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from common.exceptions import Conflict, ValidationFailed
from orgs.imports.tables import (
    BATCH_SIZE,
    ImportResult,
    RowErrors,
    _annotated_units,
    _chunks,
    _row_values,
    map_columns,
    people_refusal,
    read_table,
    read_upload,
    require_role_somewhere,
)
from orgs.imports.units import _max_length
from orgs.models import Membership, OrgEvent, OrgUnit, Role, User, mobile_validator
from orgs.scope import Action, unit_condition
from orgs.services import event_record

# People ------------------------------------------------------------------------------------------

USER_COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("username", "用户名", "账号"),
    "real_name": ("real_name", "姓名"),
    "mobile": ("mobile", "手机号", "手机号码", "手机"),
    "unit_code": ("unit_code", "单位代码"),
    "role": ("role", "角色"),
    "password": ("password", "密码", "初始密码"),
}
USER_REQUIRED = ("username", "real_name", "mobile", "unit_code", "role")
ROLE_ALIASES: dict[str, str] = {
    "administrator": Role.ADMINISTRATOR,
    "admin": Role.ADMINISTRATOR,
    "管理员": Role.ADMINISTRATOR,
    "officer": Role.OFFICER,
    "专干": Role.OFFICER,
    "干部": Role.OFFICER,
    "worker": Role.WORKER,
    "工作人员": Role.WORKER,
    "viewer": Role.VIEWER,
    "查看": Role.VIEWER,
    "查看人员": Role.VIEWER,
}
_username_validator = UnicodeUsernameValidator()


@dataclass
class _PersonRow:
    row: int
    username: str
    real_name: str
    mobile: str
    unit_code: str
    role: str
    password: str


def _normalise_mobile(text: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def _parse_person_rows(
    rows: list[tuple[int, list[str]]], columns: dict[str, int], errors: RowErrors
) -> list[_PersonRow]:
    people: list[_PersonRow] = []
    usernames: dict[str, int] = {}
    mobiles: dict[str, int] = {}
    max_username = _max_length("username", User)
    max_real_name = _max_length("real_name", User)
    for number, cells in rows:
        cell = _row_values(cells, columns)
        person = _PersonRow(
            row=number,
            username=cell["username"],
            real_name=cell["real_name"],
            mobile=_normalise_mobile(cell["mobile"]),
            unit_code=cell["unit_code"],
            role=ROLE_ALIASES.get(cell["role"].lower(), ""),
            password=cell.get("password", ""),
        )
        problems: list[str] = []
        if not person.username:
            problems.append(_("The username is empty."))
        elif len(person.username) > max_username:
            problems.append(_("The username is longer than %(max)d characters.") % {"max": max_username})
        else:
            try:
                _username_validator(person.username)
            except ValidationError:
                problems.append(
                    _("The username %(username)s may only hold letters, digits and @ . + - _.")
                    % {"username": person.username}
                )
            if person.username in usernames:
                problems.append(
                    _(
                        "The username %(username)s already appears on row %(row)d; give each person one row (add further roles in the app)."
                    )
                    % {"username": person.username, "row": usernames[person.username]}
                )
            else:
                usernames[person.username] = number
        if not person.real_name:
            problems.append(_("The real name is empty."))
        elif len(person.real_name) > max_real_name:
            problems.append(_("The real name is longer than %(max)d characters.") % {"max": max_real_name})
        if person.mobile:
            try:
                mobile_validator(person.mobile)
            except ValidationError:
                problems.append(
                    _("%(mobile)s is not a mainland mobile number of 11 digits.") % {"mobile": cell["mobile"]}
                )
            else:
                if person.mobile in mobiles:
                    problems.append(
                        _("The mobile number %(mobile)s already appears on row %(row)d.")
                        % {"mobile": person.mobile, "row": mobiles[person.mobile]}
                    )
                else:
                    mobiles[person.mobile] = number
        if not person.unit_code:
            problems.append(_("The unit code is empty."))
        if not person.role:
            problems.append(
                _(
                    "Unknown role %(role)s: use administrator, officer, worker or viewer (管理员, 专干, 工作人员, 查看)."
                )
                % {"role": cell["role"] or "—"}
            )
        if person.password:
            try:
                password_validation.validate_password(
                    person.password, User(username=person.username, real_name=person.real_name)
                )
            except ValidationError as exc:
                problems.extend(_("Password: %(problem)s") % {"problem": message} for message in exc.messages)
        for problem in problems:
            errors.add(number, person.username, problem)
        people.append(person)
    return people


def _load_by(model_field: str, values: set[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(values):
        for user in User.objects.filter(**{f"{model_field}__in": chunk}):
            found[getattr(user, model_field)] = user
    return found


def users_import(*, actor: User, file: bytes | IO, filename: str = "") -> ImportResult:
    """Create accounts with their memberships from an onboarding sheet (CSV or XLSX); all rows or none.

    Columns: username, real_name, mobile, unit_code, role, optionally password (otherwise the
    account gets an unusable password until someone sets one). A username that already exists
    with the same mobile number (or, without a mobile, the same real name) and already holding a
    membership the actor manages is the same person: the import only adds the missing membership,
    so importing a sheet twice creates nothing new. Any other existing username is "taken".
    Passwords are hashed one by one, which is slow by design: prefer sheets without passwords.
    """
    require_role_somewhere(actor, Action.MANAGE_PEOPLE, people_refusal())
    headers, table = read_table(read_upload(file))
    columns = map_columns(headers, USER_COLUMNS, USER_REQUIRED)
    errors = RowErrors("username")
    people = _parse_person_rows(table, columns, errors)
    if not people:
        raise ValidationFailed(_("The file has column names but no people below them."))

    units = _annotated_units(actor, Action.MANAGE_PEOPLE)
    unit_by_code: dict[str, OrgUnit] = {}
    for chunk in _chunks({p.unit_code for p in people if p.unit_code}):
        unit_by_code.update({unit.code: unit for unit in units.filter(code__in=chunk)})
    by_username = _load_by("username", {p.username for p in people if p.username})
    by_mobile = _load_by("mobile", {p.mobile for p in people if p.mobile})
    held: set[tuple[int, int, str]] = set()
    managed: set[int] = set()  # existing accounts the actor already manages somewhere
    for chunk in _chunks({user.pk for user in by_username.values()}):
        held.update(Membership.objects.filter(user_id__in=chunk).values_list("user_id", "unit_id", "role"))
        managed.update(
            Membership.objects.filter(user_id__in=chunk)
            .filter(unit_condition(actor, Action.MANAGE_PEOPLE))
            .values_list("user_id", flat=True)
        )

    new_users: list[tuple[_PersonRow, User]] = []
    grants: list[tuple[_PersonRow, User | None]] = []  # None = one of new_users, matched by row below
    unchanged = updated = 0
    for person in people:
        unit = unit_by_code.get(person.unit_code)
        if person.unit_code and (unit is None or not unit.manageable):
            # The same answer for "does not exist" and "not yours": existence never leaks.
            errors.add(
                person.row,
                person.username,
                _("Unknown unit code %(code)s, or not a unit whose people you manage.")
                % {"code": person.unit_code},
            )
        existing = by_username.get(person.username)
        if existing is not None:
            # Only an account the actor already manages can gain a role here: matching a name is
            # no proof of identity, and it would let an administrator pull in (and then read) any
            # account of another district.
            if existing.pk not in managed:
                same = False
            elif person.mobile and existing.mobile:
                same = existing.mobile == person.mobile
            else:
                same = existing.real_name == person.real_name
            if not same:
                errors.add(
                    person.row,
                    person.username,
                    _("The username %(username)s is already taken by another account; choose another.")
                    % {"username": person.username},
                )
                continue
        owner = by_mobile.get(person.mobile) if person.mobile else None
        if owner is not None and (existing is None or owner.pk != existing.pk):
            errors.add(
                person.row,
                person.username,
                _("The mobile number %(mobile)s already belongs to another account.")
                % {"mobile": person.mobile},
            )
            continue
        if errors or unit is None or not person.role:
            continue
        if existing is None:
            user = User(username=person.username, real_name=person.real_name, mobile=person.mobile or None)
            new_users.append((person, user))
            grants.append((person, user))
        elif (existing.pk, unit.pk, person.role) in held:
            unchanged += 1
        else:
            grants.append((person, existing))
            updated += 1
    errors.raise_if_any()

    for person, user in new_users:
        if person.password:
            user.set_password(person.password)
        else:
            user.set_unusable_password()
    try:
        with transaction.atomic():
            User.objects.bulk_create([user for _person, user in new_users], batch_size=BATCH_SIZE)
            Membership.objects.bulk_create(
                [Membership(user=user, unit=unit_by_code[p.unit_code], role=p.role) for p, user in grants],
                batch_size=BATCH_SIZE,
                ignore_conflicts=True,
            )
            result = ImportResult(created=len(new_users), updated=updated, unchanged=unchanged)
            event_record(
                verb=OrgEvent.Verb.USERS_IMPORTED,
                actor=actor,
                data={
                    "filename": filename,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "usernames": [user.username for _person, user in new_users],
                },
            )
    except IntegrityError as exc:  # a username or mobile number taken by someone else meanwhile
        raise Conflict(
            _(
                "A username or mobile number in the file was just taken by someone else; nothing was imported. Import the file again."
            )
        ) from exc
    return result
