"""Keeping ``hourly_figures`` (``app.models.rollup``) exact: its triggers and its rebuild.

Each figure a row of the source tables adds to the rollup is a *contribution*: an aggregate
SELECT over the source tables (the same aggregate expressions as ``app.analytics.aggregates``)
grouped by UTC hour and unit. A trigger runs the contributions of the changed row twice: before
the change, with the sign reversed (what the row added so far goes away), and after it (what it
adds now). Reading the tables rather than OLD and NEW makes a change to one row carry along what
hangs off it: moving a response moves its answers, moving a complaint to another unit moves its
invitations. The rebuild runs the same SELECTs over every row.

Inside one transaction the triggers see its own writes. On PostgreSQL each connection adds to a
row of its own (``slot``: its backend's pid), so concurrent writers never wait for each other's
rollup rows and cannot deadlock on them; ``compact`` folds those rows into slot 0 without ever
waiting for a writer. SQLite has one writer at a time and always writes slot 0. ``rebuild``
recomputes the table, e.g. after a bulk load with triggers off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.visitors import replacement_traverse

from app.analytics.aggregates import (
    COUNTED_ANSWER,
    HAS_DUE_TIME,
    answer_aggregates,
    invitation_aggregates,
    received_aggregates,
    resolved_aggregates,
    response_aggregates,
)
from app.extensions import db
from app.models import Answer, Complaint, HourlyFigures, Invitation, Response
from app.progress import Advance, nothing

TABLE = HourlyFigures.__table__


def hour_of(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC hour that ``column`` (a stored UTC time) falls in, in the stored form."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", column)))
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy's format): compare as text.
    return func.strftime("%Y-%m-%d %H:00:00.000000", column)


def _grouped(dialect: str, time: Any, unit: Any, aggregates: list[ColumnElement[Any]],
             stmt: Select[Any]) -> Select[Any]:
    hour = hour_of(time, dialect)
    return stmt.add_columns(hour.label("hour"), unit.label("unit_id"), *aggregates).group_by(
        hour, unit)


def _responses(dialect: str) -> Select[Any]:
    return _grouped(dialect, Response.submitted_at, Response.unit_id, response_aggregates(),
                    select().select_from(Response).where(Response.submitted_at.is_not(None)))


def _answers(dialect: str) -> Select[Any]:
    return _grouped(dialect, Response.submitted_at, Response.unit_id, answer_aggregates(),
                    select().select_from(Answer)
                    .join(Response, Response.id == Answer.response_id).where(COUNTED_ANSWER))


def _received(dialect: str) -> Select[Any]:
    return _grouped(dialect, Complaint.received_at, Complaint.unit_id, received_aggregates(),
                    select().select_from(Complaint).where(Complaint.received_at.is_not(None)))


def _resolved(dialect: str) -> Select[Any]:
    return _grouped(dialect, Complaint.resolved_at, Complaint.unit_id, resolved_aggregates(),
                    select().select_from(Complaint)
                    .where(Complaint.resolved_at.is_not(None), HAS_DUE_TIME))


def _invitations(dialect: str) -> Select[Any]:
    return _grouped(dialect, Invitation.sent_at, Complaint.unit_id, invitation_aggregates(),
                    select().select_from(Invitation)
                    .join(Complaint, Complaint.id == Invitation.complaint_id)
                    .outerjoin(Response, Response.invitation_id == Invitation.id)
                    .where(Invitation.sent_at.is_not(None)))


def _answered(dialect: str) -> Select[Any]:
    """What a response adds to its invitation's row: answered (not sent: the invitation
    counts that)."""
    return _grouped(dialect, Invitation.sent_at, Complaint.unit_id,
                    [func.count(Response.id).label("responded")],
                    select().select_from(Response)
                    .join(Invitation, Invitation.id == Response.invitation_id)
                    .join(Complaint, Complaint.id == Invitation.complaint_id)
                    .where(Invitation.sent_at.is_not(None)))


#: Every contribution, once: what the rebuild adds up.
ALL = (_responses, _answers, _received, _resolved, _invitations)


@dataclass(frozen=True)
class Source:
    """A table whose rows contribute: its key column, the columns that move a contribution,
    and the contributions of one of its rows (each limited to ``key == id of the row``)."""

    table: str
    columns: tuple[str, ...]
    contributions: tuple[tuple[Callable[[str], Select[Any]], Any], ...]


SOURCES = (
    Source("answer", ("response_id", "question_type", "attribute", "value_number"),
           ((_answers, Answer.id),)),
    Source("response", ("submitted_at", "unit_id", "invitation_id"),
           ((_responses, Response.id), (_answers, Response.id), (_answered, Response.id))),
    Source("complaint", ("received_at", "resolved_at", "due_at", "unit_id"),
           ((_received, Complaint.id), (_resolved, Complaint.id),
            (_invitations, Complaint.id))),
    Source("invitation", ("sent_at", "complaint_id"), ((_invitations, Invitation.id),)),
)


KEY = ("hour", "unit_id", "slot")
#: The transition table of PostgreSQL's statement-level insert triggers.
INSERTED_ROWS = "inserted_rows"


def _upsert(dialect: str, contribution: Select[Any], sign: int, slot: Any = 0) -> str:
    """``INSERT ... SELECT contribution ON CONFLICT add`` into ``slot``, as SQL text."""
    columns = contribution.selected_columns
    values = [column if column.key in KEY or sign == 1 else (column * sign).label(column.key)
              for column in columns]
    source = contribution.with_only_columns(*values, literal_column(str(slot)).label("slot"))
    names = [column.key for column in source.selected_columns]
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(TABLE).from_select(names, source)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: TABLE.c[name] + stmt.excluded[name] for name in names if name not in KEY},
    )
    engine_dialect = module.dialect()
    return str(stmt.compile(dialect=engine_dialect, compile_kwargs={"literal_binds": True}))


def _statements(dialect: str, source: Source, row: str, sign: int) -> list[str]:
    """The upserts of one changed row, ``row`` (OLD or NEW), or, with ``row`` =
    ``INSERTED_ROWS``, of every row one statement inserted (PostgreSQL's transition table)."""
    slot = "pg_backend_pid()" if dialect == "postgresql" else 0
    statements = []
    for build, key in source.contributions:
        if row == INSERTED_ROWS:
            contribution = _over_inserted_rows(build(dialect), key.table)
        else:
            contribution = build(dialect).where(key == literal_column(f"{row}.id"))
        statements.append(_upsert(dialect, contribution, sign, slot))
    return statements


def _over_inserted_rows(contribution: Select[Any], source: Any) -> Select[Any]:
    """``contribution`` with the source table read from the transition table instead: the new
    rows are all there, so no join back into a table of millions of rows is left to the plan."""
    inserted = table(INSERTED_ROWS, *[column(c.name, c.type) for c in source.columns])

    # By name: the contributions' tables and columns carry the ORM's annotations.
    def replace(element: Any) -> Any:
        if isinstance(element, Table) and element.name == source.name:
            return inserted
        if isinstance(element, Column) and getattr(element.table, "name", None) == source.name:
            return inserted.c[element.name]
        return None

    return replacement_traverse(contribution, {}, replace)  # type: ignore[no-any-return]


def trigger_ddl(dialect: str) -> list[str]:
    """The statements that (re)create the rollup's triggers on ``dialect``."""
    ddl: list[str] = []
    for source in SOURCES:
        name = f"memnun_rollup_{source.table}"
        before = _statements(dialect, source, "OLD", -1)
        after = _statements(dialect, source, "NEW", 1)
        moved = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in source.columns)
        of = ", ".join(source.columns)
        if dialect == "postgresql":
            inserted = _statements(dialect, source, INSERTED_ROWS, 1)
            ddl += _postgresql(name, source.table, before, after, inserted, of, moved)
        else:
            ddl += _sqlite(name, source.table, before, after, of,
                           moved.replace("IS DISTINCT FROM", "IS NOT"))
    return ddl


def _postgresql(name: str, table: str, before: list[str], after: list[str],
                inserted: list[str], of: str, moved: str) -> list[str]:
    """Row-level triggers for updates and deletes; inserts count once per statement, grouped
    over all its rows: a batch of 500 complaints adds to the rollup with one upsert per
    contribution instead of 500 (the same figures, a fraction of the time)."""
    def function(suffix: str, body: list[str], result: str) -> str:
        statements = "".join(f"  {statement};\n" for statement in body)
        return (f"CREATE OR REPLACE FUNCTION {name}_{suffix}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $body$\nBEGIN\n{statements}  RETURN {result};\nEND\n"
                "$body$")

    def trigger(suffix: str, timing: str, function_suffix: str, when: str = "") -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name}_{suffix} ON {table}",
                f"CREATE TRIGGER {name}_{suffix} {timing} ON {table} FOR EACH ROW {when} "
                f"EXECUTE FUNCTION {name}_{function_suffix}()"]

    return [
        function("before", before, "CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END"),
        function("after", after, "NULL"),
        function("inserted", inserted, "NULL"),
        *trigger("delete", "BEFORE DELETE", "before"),
        *trigger("update_old", f"BEFORE UPDATE OF {of}", "before", f"WHEN ({moved})"),
        f"DROP TRIGGER IF EXISTS {name}_insert ON {table}",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS {INSERTED_ROWS} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {name}_inserted()",
        *trigger("update_new", f"AFTER UPDATE OF {of}", "after", f"WHEN ({moved})"),
    ]


def _sqlite(name: str, table: str, before: list[str], after: list[str], of: str,
            moved: str) -> list[str]:
    def trigger(suffix: str, timing: str, body: list[str], when: str = "") -> list[str]:
        statements = "".join(f"  {statement};\n" for statement in body)
        return [f"DROP TRIGGER IF EXISTS {name}_{suffix}",
                f"CREATE TRIGGER {name}_{suffix} {timing} ON {table} FOR EACH ROW {when}\n"
                f"BEGIN\n{statements}END"]

    return [
        *trigger("delete", "BEFORE DELETE", before),
        *trigger("update_old", f"BEFORE UPDATE OF {of}", before, f"WHEN ({moved})"),
        *trigger("insert", "AFTER INSERT", after),
        *trigger("update_new", f"AFTER UPDATE OF {of}", after, f"WHEN ({moved})"),
    ]


def install_triggers(connection: Any) -> None:
    """Create (or replace) the triggers that keep ``hourly_figures`` exact."""
    for statement in trigger_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


@sa_event.listens_for(db.metadata, "after_create")
def _install_triggers_with_the_table(target: Any, connection: Any, **kw: Any) -> None:
    """A table without its triggers would drift silently, so ``create_all`` installs them too.
    Registered here rather than in the model, which knows nothing of the analytics above it;
    the app factory imports this module, so every app's ``create_all`` sees the listener."""
    install_triggers(connection)


def compact(connection: Any) -> int:
    """Fold the writers' rows into slot 0 (PostgreSQL; SQLite has nothing to fold); returns
    how many rows were folded. Rows a writer holds right now are skipped, never waited for:
    the next compaction takes them. Run it every few minutes (it reads only the rows to fold).
    """
    if connection.dialect.name != "postgresql":
        return 0
    # One compaction at a time (two could wait for each other's slot-0 rows); a second one
    # finds the lock taken and leaves the work to the first.
    if not connection.exec_driver_sql(
            "SELECT pg_try_advisory_xact_lock(hashtext('memnun_rollup_compact'))").scalar_one():
        return 0
    names = [c.name for c in TABLE.columns if c.name not in KEY]
    sums = ", ".join(f"sum({name})" for name in names)
    updates = ", ".join(f"{name} = hourly_figures.{name} + excluded.{name}" for name in names)
    # Only the model's own column names are written into the statement.
    statement = f"""
        WITH gone AS (
            DELETE FROM hourly_figures WHERE ctid IN (
                SELECT ctid FROM hourly_figures WHERE slot <> 0 FOR UPDATE SKIP LOCKED)
            RETURNING *),
        folded AS (
            INSERT INTO hourly_figures (hour, unit_id, slot, {", ".join(names)})
            SELECT hour, unit_id, 0, {sums} FROM gone GROUP BY hour, unit_id
            ON CONFLICT (hour, unit_id, slot) DO UPDATE SET {updates}
            RETURNING 1)
        SELECT (SELECT count(*) FROM gone)"""  # noqa: S608
    return int(connection.exec_driver_sql(statement).scalar_one())


def rebuild(connection: Any, progress: Advance = nothing) -> None:
    """Recompute ``hourly_figures`` from the source tables (after a bulk load that bypassed the
    triggers, or to check them). Runs in the caller's transaction; ``progress`` advances once
    per source (``len(ALL)`` in all)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Writers' triggers add to the table in their own transactions; without the lock, a
        # writer committing during the rebuild would be counted by neither it nor the rebuild.
        connection.exec_driver_sql("LOCK TABLE hourly_figures IN EXCLUSIVE MODE")
    connection.execute(TABLE.delete())
    for build in ALL:
        connection.execute(text(_upsert(dialect, build(dialect), 1)))
        progress(1, build.__name__.lstrip("_"))

