"""``memnun import complaints|events|service-events FILE.csv``: the CSV import from the
command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.intake.csv_import import (
    COMPLAINTS,
    ENCODINGS,
    EVENTS,
    SERVICE_EVENTS,
    CsvFileError,
    import_csv,
)
from app.progress import show_progress

CLI_ACTOR = "csv:cli"


@click.group("import", help="Import complaints, their status changes or service events from "
             "a CSV file.")
def import_group() -> None:
    pass


def _run(kind: str, file: Path, encoding: str) -> None:
    data = file.read_bytes()
    rows = max(data.count(b"\n") - 1, 0) + (not data.endswith(b"\n"))  # header aside; a guess
    try:
        with show_progress(f"Importing {file.name}", rows or None) as advance:
            report = import_csv(kind, data, actor=CLI_ACTOR, encoding=encoding, progress=advance)
    except CsvFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems:
        click.echo(f"{file.name}:{problem.line}: {problem.message}", err=True)
    click.echo(report.summary())
    if report.problems:
        raise SystemExit(1)  # the good rows are stored; the exit status tells a script


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_ENCODING = click.option("--encoding", type=click.Choice(list(ENCODINGS)), default="utf-8",
                         show_default=True, help="cp1254: Excel's plain CSV on Turkish Windows.")


@import_group.command("complaints")
@_FILE
@_ENCODING
@with_appcontext
def import_complaints_command(file: Path, encoding: str) -> None:
    """Import complaints from a CSV file.

    Columns: external_id, received_at, channel, category, unit, survey_consent; optional
    kind (complaint, request, suggestion, compliment), subject, description, due_at,
    complainant_name, complainant_email, complainant_phone, complainant_language. Comma,
    semicolon or tab separated; a second run stores nothing twice."""
    _run(COMPLAINTS, file, encoding)


@import_group.command("events")
@_FILE
@_ENCODING
@with_appcontext
def import_events_command(file: Path, encoding: str) -> None:
    """Import status changes of complaints from a CSV file.

    Columns: external_id (of the complaint), type (acknowledged, resolved, reopened, closed),
    at; optional note. A second run stores nothing twice."""
    _run(EVENTS, file, encoding)


@import_group.command("service-events")
@_FILE
@_ENCODING
@with_appcontext
def import_service_events_command(file: Path, encoding: str) -> None:
    """Import service events (services delivered to people) from a CSV file.

    Columns: external_id, occurred_at, unit, service, channel, survey_consent; optional
    person_name, person_email, person_phone, person_language. A second run stores nothing
    twice."""
    _run(SERVICE_EVENTS, file, encoding)
