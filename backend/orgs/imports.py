"""Bulk imports: the division list (the tree) and the onboarding sheet (people and their roles).

Both are all-or-nothing. Every row is checked first and every bad row is reported with its row
number (the header is row 1); only a file without a single error writes anything, in one
transaction. Both are idempotent: importing the same file again changes nothing.

Query counts are bounded whatever the row count: rows are looked up with chunked `IN` queries,
written with `bulk_create` / `bulk_update`, and a unit import renumbers each touched tree once
(`orgs.tree.rebuild_trees`) instead of letting mptt renumber per row.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, Model, OuterRef, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common import events
from common.exceptions import Conflict, Forbidden, PayloadTooLarge, ValidationFailed
from orgs.models import MAX_DEPTH, Membership, OrgEvent, OrgUnit, Role, User, code_validator, mobile_validator
from orgs.scope import Action, roles_for, unit_condition, units_for
from orgs.services import event_record
from orgs.tree import lock_new_roots, lock_trees, next_tree_id, rebuild_trees

BATCH_SIZE = 2000
# An XLSX is a zip: refuse archives that would inflate far beyond the upload limit (zip bombs).
XLSX_INFLATION_LIMIT = 20


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# Reading CSV / XLSX ---------------------------------------------------------------------------------


def read_upload(file: bytes | IO) -> bytes:
    """The file's bytes, refusing anything above `settings.IMPORT_MAX_BYTES` without reading it all."""
    limit = settings.IMPORT_MAX_BYTES
    if isinstance(file, bytes | bytearray | memoryview):
        content = bytes(file)
    else:
        if hasattr(file, "seek"):
            file.seek(0)
        content = file.read(limit + 1)
        if isinstance(content, str):
            content = content.encode("utf-8")
    if len(content) > limit:
        raise PayloadTooLarge(
            _("The file is larger than %(size)s MB; split it into several files.")
            % {"size": _megabytes(limit)}
        )
    return content


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def read_table(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header cells, [(row number, cells), ...]) of a CSV or XLSX file, told apart by content.

    The first non-blank row is the header (normally row 1); blank rows are dropped but keep their
    numbers, so a reported row number is the one the person sees in Excel.
    """
    if content.startswith(b"PK"):
        records = _xlsx_records(content)
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationFailed(
            _("Old Excel .xls files are not supported: open the file in Excel and save it as .xlsx or CSV.")
        )
    else:
        records = _csv_records(content)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(records, start=1):
        if not any(cells):
            continue
        if header is None:
            header = cells
        else:
            rows.append((number, cells))
    if header is None:
        raise ValidationFailed(_("The file is empty: the first row must hold the column names."))
    return header, rows


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores a division code typed as a number as 410102000000.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_records(content: bytes) -> list[list[str]]:
    import openpyxl

    not_readable = _(
        "The file looks like an Excel workbook but cannot be read; save it again as .xlsx or CSV."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationFailed(not_readable) from exc
    if inflated > XLSX_INFLATION_LIMIT * settings.IMPORT_MAX_BYTES:
        raise PayloadTooLarge(_("The workbook is too large once unpacked; split it into several files."))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged or foreign zip
        raise ValidationFailed(not_readable) from exc
    try:
        if not workbook.worksheets:
            raise ValidationFailed(not_readable)
        # The first sheet, whichever sheet happened to be open when the file was saved.
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    except ValidationFailed:
        raise
    except Exception as exc:  # malformed sheet XML
        raise ValidationFailed(not_readable) from exc
    finally:
        workbook.close()


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    # UTF-8 with or without BOM first, then GBK (Excel's default on Chinese Windows); gb18030 is its superset.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(_("The file is neither an XLSX workbook nor a CSV text file (UTF-8 or GBK)."))


def _csv_records(content: bytes) -> list[list[str]]:
    text = _decode(content)
    if "\x00" in text:
        raise ValidationFailed(_("The file is neither an XLSX workbook nor a CSV text file (UTF-8 or GBK)."))
    start = text.lstrip()[:512].lower()
    if start.startswith(("<!doctype", "<html", "<?xml")) or "<html" in start:
        raise ValidationFailed(
            _(
                "The file is a web page, not a table: save the sheet from Excel as .xlsx or CSV and upload that."
            )
        )
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    try:
        return [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise ValidationFailed(
            _("The CSV file cannot be read (%(reason)s); save it again from Excel.") % {"reason": exc}
        ) from exc


def _normalise_header(text: str) -> str:
    text = text.strip().lstrip("\ufeff").strip("*＊ ").lower()
    text = re.sub(r"\s*[（(][^)）]*[)）]\s*$", "", text)  # "纬度（可选）", "code (required)"
    return re.sub(r"[\s\-]+", "_", text.strip())


def map_columns(
    headers: list[str], spec: dict[str, tuple[str, ...]], required: Iterable[str]
) -> dict[str, int]:
    """{field: column index} from header cells and each field's accepted names; unknown columns are ignored."""
    aliases = {_normalise_header(alias): name for name, names in spec.items() for alias in names}
    columns: dict[str, int] = {}
    problems: list[str] = []
    for index, header in enumerate(headers):
        name = aliases.get(_normalise_header(header))
        if name is None:
            continue
        if name in columns:
            problems.append(
                _("Columns %(first)s and %(second)s both hold %(field)s; keep one of them.")
                % {"first": headers[columns[name]], "second": header, "field": _column_label(name, spec)}
            )
            continue
        columns[name] = index
    missing = [_column_label(name, spec) for name in required if name not in columns]
    if missing:
        problems.insert(
            0,
            _("Missing column(s): %(columns)s. The first row must hold the column names.")
            % {"columns": ", ".join(missing)},
        )
    if problems:
        raise ValidationFailed(problems[0], {"file": problems})
    return columns


def _column_label(name: str, spec: dict[str, tuple[str, ...]]) -> str:
    chinese = next((alias for alias in spec[name] if not alias.isascii()), None)
    return f"{name}（{chinese}）" if chinese else name


def _row_values(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    return {name: (cells[index].strip() if index < len(cells) else "") for name, index in columns.items()}


class RowErrors:
    """Errors per row, reported together as `{"rows": [{"row": N, <key>: ..., "errors": [...]}, ...]}`."""

    def __init__(self, key: str):
        self.key = key
        self._rows: dict[int, dict[str, Any]] = {}

    def add(self, row: int, key_value: str, message: str) -> None:
        entry = self._rows.setdefault(row, {"row": row, self.key: key_value, "errors": []})
        if message not in entry["errors"]:
            entry["errors"].append(message)

    def __bool__(self) -> bool:
        return bool(self._rows)

    def raise_if_any(self) -> None:
        if not self._rows:
            return
        count = len(self._rows)
        message = ngettext(
            "Nothing was imported: %(count)d row has errors. Correct it and import the whole file again.",
            "Nothing was imported: %(count)d rows have errors. Correct them and import the whole file again.",
            count,
        ) % {"count": count}
        raise ValidationFailed(message, {"rows": [self._rows[row] for row in sorted(self._rows)]})


def units_refusal() -> str:  # translated when asked for, in the request's language
    return _("Importing units needs the administrator role of a district or street.")


def people_refusal() -> str:
    return _("Importing people needs the administrator role of a unit.")


def require_role_somewhere(actor: User, action: Action, message: str) -> None:
    if not actor.is_authenticated or not actor.is_active:
        raise Forbidden(message)
    if actor.is_superuser:
        return
    if not Membership.objects.filter(user_id=actor.pk, role__in=roles_for(action)).exists():
        raise Forbidden(message)


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


def _annotated_units(actor: User, action: Action) -> QuerySet[OrgUnit]:
    """Units with `manageable`: may the actor do `action` there (computed inside the same query)."""
    if actor.is_superuser:
        return OrgUnit.objects.annotate(manageable=Value(True))
    return OrgUnit.objects.annotate(manageable=Exists(units_for(actor, action).filter(pk=OuterRef("pk"))))


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
