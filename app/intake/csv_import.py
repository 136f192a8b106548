"""CSV import of complaints, of their status changes and of service events, with the API's
validation.

Each row goes through the same schema (``ComplaintIn``, ``EventIn``, ``ServiceEventIn``) and the
same service as an API request: complaint rows as the items of ``POST /complaints/batch``
(``batch``, ``CHUNK`` rows at a time, each judged as if the rows came one by one), service event
rows as the items of ``POST /service-events/batch`` the same way, event rows through
``record_event``, each in its own transaction. A bad row is reported with its line number and
reason and changes nothing, the good rows are stored. Running the same file again stores nothing
twice: a complaint or service event with the same external_id and content, and an event with the
same type and time, are recognised as already there.

Files: UTF-8 (a byte order mark, as Excel's "CSV UTF-8" writes, is fine) or Windows-1254 when
asked; the delimiter (comma, semicolon as Turkish Excel writes, or tab) is read off the header
line. The first line names the columns, in any order and case:

complaints: external_id, received_at, channel, category, unit, survey_consent (required);
    kind, subject, description, due_at, complainant_name, complainant_email, complainant_phone,
    complainant_language (optional).
events: external_id, type, at (required); note (optional).
service-events: external_id, occurred_at, unit, service, channel, survey_consent (required);
    person_name, person_email, person_phone, person_language (optional).

Times are ISO 8601 with an offset (2026-03-01T14:30:00+03:00); survey_consent is yes/no
(evet/hayır, true/false, 1/0). An empty cell is a field left out.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.api_errors import field_errors
from app.errors import InvalidFields, ServiceError, invalid
from app.extensions import db
from app.intake import batch, service_events, services
from app.progress import Advance, nothing
from app.schemas.complaints import EventIn

log = logging.getLogger(__name__)

COMPLAINTS = "complaints"
EVENTS = "events"
SERVICE_EVENTS = "service-events"
KINDS = {COMPLAINTS: _l("Complaints"), EVENTS: _l("Status changes (events)"),
         SERVICE_EVENTS: _l("Service events (services delivered)")}
ENCODINGS = {"utf-8": _l("UTF-8 (Excel: CSV UTF-8)"), "cp1254": _l("Windows-1254 (Turkish)")}
DELIMITERS = (",", ";", "\t")
CHUNK = 500  # complaint rows per batch: the API's default batch size
COMPLAINANT_PREFIX = "complainant_"
# Rows taken in as batches: the batch kind, the body field and column prefix of the person.
BATCHED = {
    COMPLAINTS: (batch.COMPLAINTS, "complainant", COMPLAINANT_PREFIX),
    SERVICE_EVENTS: (service_events.SERVICE_EVENTS, "person", "person_"),
}

REQUIRED = {
    COMPLAINTS: ("external_id", "received_at", "channel", "category", "unit", "survey_consent"),
    EVENTS: ("external_id", "type", "at"),
    SERVICE_EVENTS: ("external_id", "occurred_at", "unit", "service", "channel",
                     "survey_consent"),
}
OPTIONAL = {
    COMPLAINTS: ("kind", "subject", "description", "due_at", "complainant_name",
                 "complainant_email", "complainant_phone", "complainant_language"),
    EVENTS: ("note",),
    SERVICE_EVENTS: ("person_name", "person_email", "person_phone", "person_language"),
}
YES = {"yes", "y", "true", "1", "evet", "e"}
NO = {"no", "n", "false", "0", "hayır", "hayir", "h"}


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); nothing was stored."""


class UnreadableLine(CsvFileError):
    """A line the csv module refuses, most often a cell over its field size limit (131,072
    characters, a guard against memory exhaustion kept as it is). Reading stops there."""

    def __init__(self, line: int, error: csv.Error) -> None:
        limit = csv.field_size_limit()
        reason = (_("a cell is longer than %(limit)s characters", limit=limit)
                  if "field limit" in str(error) else str(error))
        super().__init__(_("Line %(line)s cannot be read: %(reason)s.", line=line,
                           reason=reason))
        self.line = line


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    stored: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        return _("Rows read: %(rows)s; stored: %(stored)s; already there: %(unchanged)s; "
                 "refused: %(bad)s.", rows=self.rows, stored=self.stored,
                 unchanged=self.unchanged, bad=len(self.problems))


# --- reading the file ------------------------------------------------------------------------


def decode(data: bytes, encoding: str = "utf-8") -> str:
    if encoding not in ENCODINGS:
        raise CsvFileError(_("Unknown encoding %(name)s.", name=encoding))
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(_("The file is not %(encoding)s (line %(line)s). Save it from Excel "
                             "as \"CSV UTF-8\", or choose its encoding.", encoding=encoding,
                             line=line)) from None


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most (column names contain none of them)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


@dataclass(frozen=True)
class CsvRow:
    line: int  # where the row starts (a quoted cell may span lines)
    cells: dict[str, str]  # column -> cell, stripped; empty cells left out
    extra_cells: int  # non-empty cells beyond the header's columns


def read_rows(text: str, kind: str) -> Iterator[CsvRow]:
    """Every non-empty row after the header; ``CsvFileError`` for a header with unknown,
    missing or repeated columns, ``UnreadableLine`` for a line the csv module cannot read."""
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvFileError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise UnreadableLine(1, exc) from None
    _check_header(header, kind)
    previous_end = reader.line_num
    while True:
        line = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableLine(line, exc) from None
        previous_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets leave empty rows (";;;;") at the end
        yield CsvRow(
            line=line,
            cells={name: cell.strip() for name, cell in zip(header, cells, strict=False)
                   if cell.strip()},
            extra_cells=sum(1 for cell in cells[len(header):] if cell.strip()),
        )


# Error messages name at most this many columns, each cut to NAME_SHOWN characters: a header
# of 100,000 names would otherwise be echoed whole on the page.
NAMES_SHOWN = 10
NAME_SHOWN = 40


def _names(names: list[str]) -> str:
    shown = ", ".join(name if len(name) <= NAME_SHOWN else name[:NAME_SHOWN] + "…"
                      for name in names[:NAMES_SHOWN])
    if len(names) <= NAMES_SHOWN:
        return shown
    return f"{shown} " + _("… and %(n)s more.", n=len(names) - NAMES_SHOWN)


def _check_header(header: list[str], kind: str) -> None:
    # Sets and a Counter: linear in the number of columns (a crafted header has 100,000).
    known = set(REQUIRED[kind]) | set(OPTIONAL[kind])
    given = set(header)
    unknown = [name for name in header if name not in known]
    missing = [name for name in REQUIRED[kind] if name not in given]
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    problems = []
    if unknown:
        problems.append(_("unknown columns: %(names)s", names=_names(unknown)))
    if missing:
        problems.append(_("missing columns: %(names)s", names=_names(missing)))
    if duplicated:
        problems.append(_("columns given twice: %(names)s", names=_names(duplicated)))
    if problems:
        raise CsvFileError(_("The header line does not fit a %(kind)s file: %(problems)s.",
                             kind=kind, problems="; ".join(problems)))


# --- rows into requests ------------------------------------------------------------------------


def _consent(value: str) -> Any:
    word = value.lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return value  # left for the schema to refuse with its own message


def complaint_request(cells: dict[str, str], kind: str = COMPLAINTS) -> dict[str, Any]:
    """A CSV row as the JSON body ``POST /complaints`` (or, by ``kind``, ``POST
    /service-events``) takes."""
    _, person_field, prefix = BATCHED[kind]
    body: dict[str, Any] = {}
    person: dict[str, Any] = {}
    for name, value in cells.items():
        if name == "survey_consent":
            person[name] = _consent(value)
        elif name.startswith(prefix):
            person[name.removeprefix(prefix)] = value
        else:
            body[name] = value
    body[person_field] = person
    return body


def _column(field_name: str) -> str:
    """A field of the API body named as the CSV column that feeds it."""
    for _kind, person_field, prefix in BATCHED.values():
        if field_name == f"{person_field}.survey_consent":
            return "survey_consent"
        if field_name.startswith(f"{person_field}."):
            return field_name.replace(f"{person_field}.", prefix, 1)
    return field_name


def _explain(details: Any) -> str:
    if isinstance(details, list):
        return "; ".join(f"{_column(item['field'])}: {item['message']}" for item in details)
    return ""


# --- importing ---------------------------------------------------------------------------------


def import_csv(kind: str, data: bytes, actor: str, encoding: str = "utf-8",
               progress: Advance = nothing) -> ImportReport:
    """Import the CSV file ``data`` of ``kind`` (complaints, events or service events) as
    ``actor``.

    ``CsvFileError`` when the file cannot be read at all (nothing is stored then); otherwise a
    report of what was stored, what was already there, and each refused row with its reason.
    """
    if kind not in REQUIRED:
        raise CsvFileError(_("Unknown kind of file %(kind)s.", kind=kind))
    report = ImportReport(kind=kind)
    waiting: list[CsvRow] = []  # complaint or service event rows, taken in CHUNK at a time
    try:
        for row in read_rows(decode(data, encoding), kind):
            progress(1, "")
            if kind == EVENTS:
                _import_into(report, kind, row, actor)
                continue
            waiting.append(row)
            if len(waiting) == CHUNK:
                _import_batch(report, waiting, actor)
                waiting = []
    except UnreadableLine as exc:
        _import_batch(report, waiting, actor)
        if not report.rows:
            raise  # nothing read yet: the file as a whole is refused
        # The rows before it are stored; this line, and the rest (not read), are reported.
        report.problems.append(RowProblem(exc.line, str(exc)))
        return report
    _import_batch(report, waiting, actor)
    return report


def _import_batch(report: ImportReport, rows: list[CsvRow], actor: str) -> None:
    """Complaint or service event rows (``report.kind``) as one batch; should the database
    refuse the batch, row by row."""
    if not rows:
        return
    fitting = [row for row in rows if not row.extra_cells]
    try:
        outcomes = iter(batch.receive(
            BATCHED[report.kind][0],
            [complaint_request(row.cells, report.kind) for row in fitting], actor))
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("CSV import: a batch of %s could not be stored; row by row", report.kind)
        for row in rows:
            _import_into(report, report.kind, row, actor)
        return
    for row in rows:
        report.rows += 1
        if row.extra_cells:
            report.problems.append(RowProblem(row.line, _extra_cells(row)))
            continue
        outcome = next(outcomes)
        if outcome.status == 201:
            report.stored += 1
        elif outcome.status == 200:
            report.unchanged += 1
        else:
            error = outcome.error or {}
            report.problems.append(RowProblem(
                row.line, _explain(error.get("details")) or error.get("message", "")))


def _import_into(report: ImportReport, kind: str, row: CsvRow, actor: str) -> None:
    """Import one row, counting it in ``report``: a refused row rolls back and is listed."""
    report.rows += 1
    try:
        created = _import_row(kind, row, actor)
    except ServiceError as exc:
        db.session.rollback()
        # Field by field when the problem is in fields, else what the service said.
        report.problems.append(RowProblem(row.line, _explain(exc.details) or exc.message))
        return
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("CSV import: line %s could not be stored", row.line)
        report.problems.append(RowProblem(row.line, _("The database refused this row.")))
        return
    if created:
        report.stored += 1
    else:
        report.unchanged += 1


def _extra_cells(row: CsvRow) -> str:
    return _("The row has %(count)s cells more than the header has columns.",
             count=row.extra_cells)


def _import_row(kind: str, row: CsvRow, actor: str) -> bool:
    if row.extra_cells:
        raise ServiceError(_extra_cells(row))
    try:
        if kind in BATCHED:
            batch_kind = BATCHED[kind][0]
            item = batch_kind.schema.model_validate(complaint_request(row.cells, kind))
            return batch_kind.single(item, actor)[1]
        cells = dict(row.cells)
        external_id = cells.pop("external_id", "")
        event_data = EventIn.model_validate(cells)
    except ValidationError as exc:
        raise InvalidFields(field_errors(exc)) from None
    if not external_id:
        raise invalid("external_id", _("must not be empty"), "missing")
    complaint = services.find_complaint(services.EXTERNAL_REF_PREFIX + external_id,
                                        for_update=True)
    return services.record_event(complaint, event_data, actor)[1]
