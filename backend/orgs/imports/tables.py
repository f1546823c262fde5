"""Reading an uploaded sheet (CSV or XLSX) into rows, matching its columns, and the pieces both
imports share: row errors, refusals, batching."""

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.exceptions import Forbidden, PayloadTooLarge, ValidationFailed
from orgs.models import Membership, OrgUnit, User
from orgs.scope import Action, roles_for, units_for

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
