"""CSV and Excel exports: neutralised against formula injection, streamed when large.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and so do LibreOffice for their full-width forms, and some for ``|``, DDE's pipe; blanks
and line breaks before them can hide such a start), so a unit name such as
``=HYPERLINK(...)`` from an integrator would run on a manager's machine. ``neutralise`` prefixes
such text, in cells and headers alike, with a single quote, so the spreadsheet shows it as text.
Numbers stay numbers (-3 is a number, not a formula).

Figures (``Figure``): a share, an NPS, a count or a mean is written as a number, never as text:
in Excel with the cell format people read it in on the dashboards (62.5%, +12, 2,933, 3.85),
in CSV in the same units (62.5, 12, 2933, 3.85) for a program to read. A figure that may not
be shown (too few responses) is an empty cell; the table says why in a note column.

Times (``app/timefmt``): CSV cells are ISO 8601 with the organisation's offset
(2026-12-07T10:00:00+03:00); Excel cells are date-times in the organisation's zone, which the
column header names. Both show the wall-clock time the staff pages show.

Streaming: CSV is written by a generator, a few hundred rows at a time, so the web process never
holds the whole file; Excel is written by openpyxl in write-only mode to a temporary file (an
.xlsx is a zip and cannot be produced front to back), then sent in chunks and removed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.timefmt import export_instant, local

FORMULA_STARTS = ("=", "+", "-", "@", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # ＝＋－＠
# Looked past before the first sign (" =1"); a cell starting with a tab or a line break is
# neutralised whatever follows, as the sign may be on the next line.
LEADING_BLANKS = " \u3000\t\r\n"
CONTROL_STARTS = ("\t", "\r", "\n")
CSV_CHUNK_ROWS = 500
FILE_CHUNK_BYTES = 64 * 1024
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it (Turkish letters would break)


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text that a spreadsheet would run as a formula
    gets a leading single quote; everything else comes back unchanged."""
    if isinstance(value, str) and (value.startswith(CONTROL_STARTS)
                                   or value.lstrip(LEADING_BLANKS).startswith(FORMULA_STARTS)):
        return "'" + value
    return value


#: Excel's cell format and the CSV's scale of each kind of figure.
FIGURE_FORMATS = {"share": ("0.0%", 100), "points": ("+0;-0;0", 100), "count": ("#,##0", 1),
                  "decimal": ("#,##0.00", 1)}


@dataclass(frozen=True)
class Figure:
    """A figure for a spreadsheet: ``value`` as the analytics give it (a share as a fraction,
    NPS in [-1, 1]) and its ``kind`` (a key of ``FIGURE_FORMATS``); None: nothing to show."""

    value: float | None
    kind: str = "share"

    def for_csv(self) -> float | int | None:
        """The value as the screen shows it, as a number: 62.5 for 62.5 %, 12 for NPS +12."""
        if self.value is None:
            return None
        scale = FIGURE_FORMATS[self.kind][1]
        if self.kind == "points":
            return round(self.value * scale) or 0  # "or 0": never -0
        if self.kind == "count":
            return int(self.value)
        places = 1 if self.kind == "share" else 2
        return round(self.value * scale, places) or 0.0

    def for_xlsx(self, sheet: WriteOnlyWorksheet) -> WriteOnlyCell:
        """A numeric cell with the figure's format (the fraction stays a fraction: Excel
        multiplies by 100 for a percentage format)."""
        value = self.value
        if self.kind == "points" and value is not None:
            value = round(value * 100) or 0
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = FIGURE_FORMATS[self.kind][0]
        return cell


@dataclass(frozen=True)
class Table:
    """A named table: the unit an Excel sheet or a CSV section is made of."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Figure):
        return value.for_csv()
    if isinstance(value, dt.datetime):
        return export_instant(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return neutralise(value)


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A CSV file (UTF-8 with BOM, comma-separated, CRLF) as text chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([_csv_cell(name) for name in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(value) for value in row])
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_cell(value: Any, sheet: WriteOnlyWorksheet) -> Any:
    if isinstance(value, Figure):
        return value.for_xlsx(sheet)
    if isinstance(value, dt.datetime):
        # Excel knows no time zones: a real date-time cell (it sorts and filters) with the
        # organisation's wall-clock time, the one the CSV and the pages show; headers name the zone.
        return local(value).replace(tzinfo=None)
    if isinstance(value, str):
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _sheet_title(title: str, taken: set[str]) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in title).strip("'")[:31] or "Sheet"
    name, number = cleaned, 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name, number = cleaned[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def write_xlsx(tables: Iterable[Table], path: str) -> None:
    """Write each table as a sheet of an .xlsx file at ``path`` (write-only: constant memory)."""
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, taken))
        sheet.append([_xlsx_cell(name, sheet) for name in table.header])
        for row in table.rows:
            sheet.append([_xlsx_cell(value, sheet) for value in row])
    workbook.save(path)


def xlsx_stream(tables: Iterable[Table]) -> Iterator[bytes]:
    """An .xlsx file as byte chunks; the temporary file is gone once the last chunk is sent
    (or the client went away and the generator was closed)."""
    fd, path = tempfile.mkstemp(prefix="memnun-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(tables, path)
        with open(path, "rb") as handle:
            while chunk := handle.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """The whole .xlsx in memory (for small files such as the pack's figures)."""
    return b"".join(xlsx_stream(tables))


def long_rows(tables: Iterable[Table]) -> Iterator[tuple[Any, Any, Any, Any]]:
    """Tables as (section, segment, measure, value) rows: one CSV for tables of any shape."""
    for table in tables:
        for row in table.rows:
            for name, value in zip(table.header[1:], row[1:], strict=False):
                yield table.title, row[0], name, value
