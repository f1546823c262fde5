"""Spreadsheets officials open: XLSX (openpyxl write-only) and CSV, written row by row.

- Chinese headers (the reader's language), the header row frozen, column widths that fit the
  content (CJK characters count twice).
- Text starting with =, +, -, @ (or a tab / carriage return) is written as text and never as a
  formula: a unit name like "=HYPERLINK(...)" cannot run in the reader's spreadsheet.
- Rows stream from a database cursor: the XLSX is written to a temporary file by openpyxl's
  write-only workbook (memory stays flat), then streamed out; the CSV streams as it is produced.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WIDTH = 60


@dataclass(frozen=True)
class Link:
    """A cell that opens `url`, showing `text`."""

    text: str
    url: str


@dataclass
class Column:
    header: str
    width: int = 0  # in character cells; at least the header's

    def fit(self) -> float:
        return min(MAX_WIDTH, max(self.width, display_width(self.header)) + 2)


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK and full-width characters take two."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def _local(value: datetime) -> datetime:
    return timezone.localtime(value).replace(tzinfo=None)


def cell_text(value: Any) -> str:
    """A value as CSV text; formula-like text gets a leading apostrophe (OWASP's advice)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Link):
        return value.url
    if isinstance(value, list | tuple):
        return " ".join(cell_text(item) for item in value)
    text = str(value)
    return f"'{text}" if isinstance(value, str) and is_formula_like(text) else text


def _filename_header(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def csv_response(
    filename: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """UTF-8 with a byte-order mark, so Excel reads the Chinese right."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow([column.header for column in columns])
        for row in rows:
            yield writer.writerow([cell_text(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename_header(filename)
    return response


@dataclass
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]


def xlsx_file(sheets: Sequence[Sheet]) -> Any:
    """The workbook in a temporary file, positioned at its start. A list in a row fills as many
    cells (the photo links of a report)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    link_font = Font(color="0563C1", underline="single")
    for spec in sheets:
        sheet = workbook.create_sheet(title=spec.title[:31])
        for index, column in enumerate(spec.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.fit()
        sheet.freeze_panes = "A2"

        def convert(value: Any, sheet: Any = sheet) -> Any:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=_local(value))
                cell.number_format = "yyyy-mm-dd hh:mm"
                return cell
            if isinstance(value, Link):
                cell = WriteOnlyCell(sheet, value=value.text)
                cell.data_type = "s"
                cell.hyperlink = value.url
                cell.font = link_font
                return cell
            if isinstance(value, str) and is_formula_like(value):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True  # and kept as text if someone edits it
                return cell
            if isinstance(value, Decimal):
                return float(value)
            return value

        header = []
        for column in spec.columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in spec.rows:
            flat: list[Any] = []
            for value in row:
                if isinstance(value, list):
                    flat.extend(value)
                else:
                    flat.append(value)
            sheet.append([convert(value) for value in flat])
    handle = tempfile.TemporaryFile()  # noqa: SIM115  (handed to FileResponse, which closes it)
    workbook.save(handle)
    handle.seek(0)
    return handle


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> FileResponse:
    handle = xlsx_file(sheets)
    response = FileResponse(handle, content_type=XLSX_TYPE)
    response["Content-Disposition"] = _filename_header(filename)
    return response


def export(fmt: str, *, filename: str, sheets: Sequence[Sheet]) -> FileResponse | StreamingHttpResponse:
    """`sheets[0]` as CSV, or every sheet as one workbook."""
    if fmt == "csv":
        return csv_response(f"{filename}.csv", sheets[0].columns, sheets[0].rows)
    return xlsx_response(f"{filename}.xlsx", sheets)
