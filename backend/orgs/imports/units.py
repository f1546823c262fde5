"""The division list: units and the tree they form, checked row by row, written in one transaction."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from common import events
from common.exceptions import Conflict, ValidationFailed
from orgs.imports.tables import (
    BATCH_SIZE,
    ImportResult,
    RowErrors,
    _annotated_units,
    _chunks,
    _column_label,
    _row_values,
    map_columns,
    read_table,
    read_upload,
    require_role_somewhere,
    units_refusal,
)
from orgs.models import MAX_DEPTH, OrgEvent, OrgUnit, User, code_validator
from orgs.scope import Action
from orgs.services import event_record
from orgs.tree import lock_new_roots, lock_trees, next_tree_id, rebuild_trees

# The division list -------------------------------------------------------------------------------

UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "代码", "区划代码", "统计用区划代码", "单位代码"),
    "name": ("name", "名称", "单位名称"),
    "parent_code": ("parent_code", "上级代码", "上级区划代码", "上级单位代码"),
    "station_name": ("station_name", "实践站名称"),
    "address": ("address", "地址"),
    "contact_phone": ("contact_phone", "联系电话"),
    "latitude": ("latitude", "纬度"),
    "longitude": ("longitude", "经度"),
    "is_active": ("is_active", "是否启用"),
}
UNIT_REQUIRED = ("code", "name", "parent_code")
_TEXT_FIELDS = ("station_name", "address", "contact_phone")
_TRUE = {"1", "true", "t", "yes", "y", "是", "启用", "有效"}
_FALSE = {"0", "false", "f", "no", "n", "否", "停用", "禁用", "无效"}
_EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.IGNORECASE)


@dataclass
class _UnitRow:
    row: int
    code: str
    name: str
    parent_code: str
    values: dict[str, Any] = field(default_factory=dict)


def _max_length(name: str, model: type[Model] = OrgUnit) -> int:
    column = model._meta.get_field(name)
    assert isinstance(column, CharField) and column.max_length is not None  # only text columns are measured
    return column.max_length


def _code_problem(code: str) -> str | None:
    try:
        code_validator(code)
    except ValidationError:
        if _EXCEL_NUMBER.match(code):
            return _(
                "%(code)s is a code that Excel turned into a number; format the column as text and type the code again."
            ) % {"code": code}
        return _("%(code)s is not a valid code: use 1–32 letters, digits, '-' or '_'.") % {"code": code}
    return None


def _coordinate(text: str, label: str, bound: int, errors: list[str]) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(_("%(label)s %(value)s is not a number.") % {"label": label, "value": text})
        return None
    if not value.is_finite() or not -bound <= value <= bound:
        errors.append(
            _(
                "%(label)s must be between -%(bound)d and %(bound)d, not %(value)s (are latitude and longitude swapped?)."
            )
            % {"label": label, "bound": bound, "value": text}
        )
        return None
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _parse_unit_rows(
    rows: list[tuple[int, list[str]]], columns: dict[str, int], errors: RowErrors
) -> list[_UnitRow]:
    """Rows that can take part in the tree checks (a valid code seen once); every row-local problem is recorded."""
    usable: list[_UnitRow] = []
    first_seen: dict[str, int] = {}
    for number, cells in rows:
        cell = _row_values(cells, columns)
        code, name, parent_code = cell["code"], cell["name"], cell["parent_code"]
        problems: list[str] = []
        code_ok = False
        if not code:
            problems.append(_("The code is empty."))
        elif problem := _code_problem(code):
            problems.append(problem)
        elif code in first_seen:
            problems.append(
                _("The code %(code)s already appears on row %(row)d; list each unit once.")
                % {"code": code, "row": first_seen[code]}
            )
        else:
            first_seen[code] = number
            code_ok = True
        if not name:
            problems.append(_("The name is empty."))
        elif len(name) > _max_length("name"):
            problems.append(_("The name is longer than %(max)d characters.") % {"max": _max_length("name")})
        parent_ok = True
        if parent_code and (problem := _code_problem(parent_code)):
            problems.append(_("Parent code: %(problem)s") % {"problem": problem})
            parent_ok = False

        values: dict[str, Any] = {}
        for text_field in _TEXT_FIELDS:
            if text_field in cell:
                if len(cell[text_field]) > _max_length(text_field):
                    problems.append(
                        _("%(field)s is longer than %(max)d characters.")
                        % {"field": _column_label(text_field, UNIT_COLUMNS), "max": _max_length(text_field)}
                    )
                values[text_field] = cell[text_field]
        if "latitude" in cell:
            values["latitude"] = _coordinate(cell["latitude"], _("Latitude"), 90, problems)
        if "longitude" in cell:
            values["longitude"] = _coordinate(cell["longitude"], _("Longitude"), 180, problems)
        if "is_active" in cell:
            flag = cell["is_active"].lower()
            if flag in _FALSE:
                values["is_active"] = False
            elif flag in _TRUE or not flag:
                values["is_active"] = True
            else:
                problems.append(
                    _("is_active must be 1 or 0 (是 or 否), not %(value)s.") % {"value": cell["is_active"]}
                )

        for problem in problems:
            errors.add(number, code, problem)
        if code_ok and parent_ok:
            usable.append(_UnitRow(row=number, code=code, name=name, parent_code=parent_code, values=values))
    return usable


_UNKNOWN = object()  # a parent that exists neither in the file nor in the database
_CYCLE = object()  # on or below a cycle


class _UnitPlan:
    """The tree as it will be after the import, checked against the database (read under the tree locks)."""

    def __init__(self, actor: User, rows: list[_UnitRow], errors: RowErrors):
        self.actor = actor
        self.rows = {row.code: row for row in rows}
        self.errors = errors
        # Existing units by code: the file's, their parents and ancestors, the subtrees of moved units.
        self.known: dict[str, OrgUnit] = {}
        self.by_id: dict[int, OrgUnit] = {}
        # code -> the parent code after the import: a code, None for a district, or _UNKNOWN.
        self.structural_parent: dict[str, Any] = {}
        # code -> (depth after the import, code of its district), or _UNKNOWN / _CYCLE.
        self.state: dict[str, Any] = {}

    # Loading, under the locks.

    def wanted_codes(self) -> set[str]:
        return set(self.rows) | {row.parent_code for row in self.rows.values() if row.parent_code}

    def _remember(self, units: Iterable[OrgUnit]) -> list[OrgUnit]:
        fresh = []
        for unit in units:
            if unit.pk not in self.by_id:
                self.by_id[unit.pk] = unit
                self.known[unit.code] = unit
                fresh.append(unit)
        return fresh

    def load(self) -> set[int]:
        """Load the file's existing units and their ancestors; returns their tree ids."""
        self.known, self.by_id = {}, {}
        units = _annotated_units(self.actor, Action.MANAGE_UNITS)
        for chunk in _chunks(self.wanted_codes()):
            self._remember(units.filter(code__in=chunk))
        for _level in range(MAX_DEPTH + 1):  # a parent, a grandparent: the tree is at most three levels deep
            missing = {
                u.parent_id for u in self.by_id.values() if u.parent_id and u.parent_id not in self.by_id
            }
            if not missing:
                break
            for chunk in _chunks(missing):
                self._remember(units.filter(pk__in=chunk))
        return {unit.tree_id for unit in self.by_id.values()}

    # Checks.

    def check(self) -> None:
        superuser = self.actor.is_superuser
        for code, row in self.rows.items():
            unit = self.known.get(code)
            parent = self.known.get(row.parent_code) if row.parent_code else None
            self.structural_parent[code] = row.parent_code or None
            if unit is not None and not unit.manageable:
                self.errors.add(
                    row.row,
                    code,
                    _("The code %(code)s is already used by another unit.") % {"code": code},
                )
            if (
                row.parent_code
                and row.parent_code not in self.rows
                and (parent is None or not parent.manageable)
            ):
                self.errors.add(
                    row.row,
                    code,
                    _("The parent code %(parent)s is neither in this file nor an existing unit you manage.")
                    % {"parent": row.parent_code},
                )
                self.structural_parent[code] = _UNKNOWN
            if unit is None and not row.parent_code and not superuser:
                self.errors.add(
                    row.row,
                    code,
                    _("Only a platform administrator can create a district (a row without a parent code)."),
                )
            if unit is not None and unit.parent_id is None and row.parent_code:
                self.errors.add(
                    row.row,
                    code,
                    _(
                        "%(code)s is a district; a district cannot be moved under another unit: leave its parent code empty."
                    )
                    % {"code": code},
                )
                self.structural_parent[code] = None
            if unit is not None and unit.parent_id is not None and not row.parent_code:
                self.errors.add(
                    row.row,
                    code,
                    _(
                        "%(code)s is a street or community and cannot become a district: fill in its parent code."
                    )
                    % {"code": code},
                )
                self.structural_parent[code] = self.by_id[unit.parent_id].code
        for code, unit in self.known.items():
            if code not in self.rows:
                self.structural_parent[code] = self.by_id[unit.parent_id].code if unit.parent_id else None
        self._walk_all()
        self._check_depths()

    def _walk_all(self) -> None:
        """Final depth and root of every known node, reporting each cycle once on the rows that form it."""
        for start in list(self.structural_parent):
            if start in self.state:
                continue
            path: list[str] = []
            on_path: dict[str, int] = {}
            current = start
            while True:
                if current in self.state:
                    base = self.state[current]
                    break
                if current in on_path:
                    cycle = path[on_path[current] :]
                    chain = " → ".join([*cycle, current])
                    for member in cycle:
                        self.state[member] = _CYCLE
                        if member in self.rows:
                            self.errors.add(
                                self.rows[member].row,
                                member,
                                _("The parent codes form a cycle (%(chain)s): a unit cannot be below itself.")
                                % {"chain": chain},
                            )
                    path = path[: on_path[current]]
                    base = _CYCLE
                    break
                parent = self.structural_parent.get(current, _UNKNOWN)
                if parent is None:
                    self.state[current] = base = (0, current)
                    break
                if parent is _UNKNOWN:
                    self.state[current] = base = _UNKNOWN
                    break
                on_path[current] = len(path)
                path.append(current)
                current = parent
            for code in reversed(path):
                if isinstance(base, tuple):
                    base = (base[0] + 1, base[1])
                self.state[code] = base

    def depth(self, code: str) -> int | None:
        state = self.state.get(code)
        return state[0] if isinstance(state, tuple) else None

    def _nearest_row(self, code: str) -> str | None:
        current: str | None = code
        seen = 0
        while current is not None and current not in self.rows and seen <= MAX_DEPTH + 2:
            parent = self.structural_parent.get(current)
            current = parent if isinstance(parent, str) else None
            seen += 1
        return current

    def _report_dragged_below(self, code: str) -> None:
        """An existing unit outside the file falls below a community: blame the moved row above it."""
        moved = self._nearest_row(code)
        if moved is not None:
            self.errors.add(
                self.rows[moved].row,
                moved,
                _("Moving %(code)s there would put its unit %(below)s below community level.")
                % {"code": moved, "below": code},
            )

    def _check_depths(self) -> None:
        for code, row in self.rows.items():
            depth = self.depth(code)
            if depth is not None and depth > MAX_DEPTH:
                self.errors.add(
                    row.row,
                    code,
                    _(
                        "%(code)s would sit below a community (under %(parent)s); the tree has only districts, streets and communities."
                    )
                    % {"code": code, "parent": self.structural_parent[code]},
                )
        for code in self.known:
            if code not in self.rows and (depth := self.depth(code)) is not None and depth > MAX_DEPTH:
                self._report_dragged_below(code)
        # Existing units that end up deeper than today drag their existing subtree along: load it
        # level by level (at most MAX_DEPTH queries) and report what would fall below a community.
        units = _annotated_units(self.actor, Action.MANAGE_UNITS)
        frontier = [
            unit.pk
            for code, unit in self.known.items()
            if (depth := self.depth(code)) is not None and unit.level < depth <= MAX_DEPTH
        ]
        for _level in range(MAX_DEPTH + 1):
            if not frontier:
                break
            children: list[OrgUnit] = []
            for chunk in _chunks(frontier):
                children.extend(u for u in units.filter(parent_id__in=chunk) if u.code not in self.known)
            self._remember(children)
            frontier = []
            for child in children:
                assert child.parent_id is not None  # fetched by parent_id__in
                self.structural_parent[child.code] = self.by_id[child.parent_id].code
                parent_state = self.state.get(self.by_id[child.parent_id].code)
                if not isinstance(parent_state, tuple):
                    continue
                depth = parent_state[0] + 1
                self.state[child.code] = (depth, parent_state[1])
                if depth > MAX_DEPTH:
                    self._report_dragged_below(child.code)
                elif depth > child.level:
                    frontier.append(child.pk)

    # Writing.

    def write(self, *, filename: str) -> ImportResult:
        now = timezone.now()
        new_rows = [row for code, row in self.rows.items() if code not in self.known]
        tree_of_root = {code: unit.tree_id for code, unit in self.known.items() if unit.parent_id is None}
        new_roots = sorted(row.code for row in new_rows if self.depth(row.code) == 0)
        if new_roots:
            first = next_tree_id()
            tree_of_root.update({code: first + offset for offset, code in enumerate(new_roots)})

        def final_tree(code: str) -> int:
            return tree_of_root[self.state[code][1]]

        touched: set[int] = set()
        ids: dict[str, int] = {code: unit.pk for code, unit in self.known.items()}
        for depth in range(MAX_DEPTH + 1):
            batch = []
            for row in new_rows:
                if self.depth(row.code) != depth:
                    continue
                tree_id = final_tree(row.code)
                touched.add(tree_id)
                # Placeholder nested-set numbers; rebuild_trees renumbers the touched trees below.
                batch.append(
                    OrgUnit(
                        code=row.code,
                        name=row.name,
                        parent_id=ids[row.parent_code] if row.parent_code else None,
                        tree_id=tree_id,
                        lft=0,
                        rght=0,
                        level=depth,
                        **row.values,
                    )
                )
            OrgUnit.objects.bulk_create(batch, batch_size=BATCH_SIZE)
            ids.update({unit.code: unit.pk for unit in batch})

        updated: list[OrgUnit] = []
        update_fields: set[str] = set()
        moved = 0
        for code, row in self.rows.items():
            unit = self.known.get(code)
            if unit is None:
                continue
            changed = False
            values = {"name": row.name, **row.values}
            for name, value in values.items():
                if getattr(unit, name) != value:
                    setattr(unit, name, value)
                    update_fields.add(name)
                    changed = True
            parent_id = ids[row.parent_code] if row.parent_code else None
            if unit.parent_id != parent_id:
                touched.add(unit.tree_id)
                unit.parent_id = parent_id
                unit.tree_id = final_tree(code)
                unit.level = self.depth(code)
                touched.add(unit.tree_id)
                update_fields.update({"parent", "tree_id", "level"})
                moved += 1
                changed = True
            if changed:
                unit.updated_at = now
                updated.append(unit)
        if updated:
            OrgUnit.objects.bulk_update(
                updated, sorted(update_fields | {"updated_at"}), batch_size=BATCH_SIZE
            )
        rebuild_trees(touched)
        if moved:
            # Scoring recomputes the touched districts (common.events).
            events.emit("units.moved", actor_id=self.actor.pk, data={"trees": sorted(touched)})

        result = ImportResult(
            created=len(new_rows),
            updated=len(updated),
            unchanged=len(self.rows) - len(new_rows) - len(updated),
        )
        event_record(
            verb=OrgEvent.Verb.UNITS_IMPORTED,
            actor=self.actor,
            data={
                "filename": filename,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "moved": moved,
            },
        )
        return result


def _existing_trees(codes: set[str]) -> set[int]:
    trees: set[int] = set()
    for chunk in _chunks(codes):
        trees.update(
            OrgUnit.objects.filter(code__in=chunk).values_list("tree_id", flat=True).order_by().distinct()
        )
    return trees


def units_import(*, actor: User, file: bytes | IO, filename: str = "") -> ImportResult:
    """Create or update units from a division list (CSV or XLSX); all rows or none.

    Columns: code, name, parent_code (empty for a district), optionally station_name, address,
    contact_phone, latitude, longitude, is_active; Chinese headers are accepted too. A code that
    exists is updated (a different parent code moves the unit, keeping its history and people).
    """
    require_role_somewhere(actor, Action.MANAGE_UNITS, units_refusal())
    headers, table = read_table(read_upload(file))
    columns = map_columns(headers, UNIT_COLUMNS, UNIT_REQUIRED)
    errors = RowErrors("code")
    rows = _parse_unit_rows(table, columns, errors)
    if not table:
        raise ValidationFailed(_("The file has column names but no units below them."))
    plan = _UnitPlan(actor, rows, errors)
    try:
        with transaction.atomic():
            # The checks must read the tree under its locks, so find the trees first, lock them, then
            # load; a unit moved to another tree in between makes us lock that tree too and reload.
            locked = _existing_trees(plan.wanted_codes())
            if actor.is_superuser and any(not row.parent_code for row in rows):
                lock_new_roots()
            lock_trees(locked)
            for _attempt in range(3):
                trees = plan.load()
                if trees <= locked:
                    break
                lock_trees(trees - locked)
                locked |= trees
            else:
                raise Conflict(
                    _("The organisation tree is changing right now; import the file again in a moment.")
                )
            plan.check()
            errors.raise_if_any()
            return plan.write(filename=filename)
    except IntegrityError as exc:  # someone created one of the file's codes while we were checking
        raise Conflict(
            _(
                "Someone else changed the same units during the import; nothing was imported. Import the file again."
            )
        ) from exc
