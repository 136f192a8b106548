"""Keeping the rollups (``app.models.rollup``) exact: their triggers and their rebuild.

``hourly_figures`` holds the figures per UTC hour and unit; ``hourly_dimension_figures`` the
same per UTC hour, unit and value of each filter's dimension (category, channel, questionnaire,
language, source, mode; a row whose dimension has no value, a service user's category, adds no
row for it). Held responses and their answers count nowhere: accepting one (``held`` true to
false) moves it in like any other change of a watched column. Each figure a row of the source
tables adds to them is a *contribution*: an aggregate SELECT over the source tables (the same
aggregate expressions and the same columns as ``app.analytics.aggregates``) grouped by hour and
unit and, for the second table, by the value of each dimension that applies to the row (one
SELECT per dimension, in one UNION ALL). A trigger runs the contributions of the changed row
twice: before the change, with the sign reversed (what the row added so far goes away), and
after it (what it adds now). Reading the tables rather than OLD and NEW makes a change to one
row carry along what hangs off it: moving a response moves its answers, moving a complaint to
another unit or category moves its invitations. The rebuild runs the same SELECTs over every
row.

Inside one transaction the triggers see its own writes. On PostgreSQL each connection adds to a
row of its own (``slot``: its backend's pid), so concurrent writers never wait for each other's
rollup rows and cannot deadlock on them; ``compact`` folds those rows into slot 0 without ever
waiting for a writer. SQLite has one writer at a time and always writes slot 0. ``rebuild``
recomputes the tables, e.g. after a bulk load with triggers off.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    String,
    Table,
    case,
    cast,
    column,
    false,
    func,
    inspect,
    literal_column,
    null,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.visitors import replacement_traverse

from app.analytics.aggregates import (
    COUNTED_ANSWER,
    HAS_DUE_TIME,
    INVITATION_COLUMNS,
    IS_COMPLAINT,
    RECEIVED_COLUMNS,
    RESOLVED_COLUMNS,
    RESPONSE_COLUMNS,
    answer_aggregates,
    answered_aggregates,
    invitation_aggregates,
    join_subject,
    received_aggregates,
    resolved_aggregates,
    response_aggregates,
    with_response,
)
from app.analytics.filters import NOT_HELD
from app.analytics.splits import Columns, Dimension
from app.extensions import db
from app.models import (
    Answer,
    Complaint,
    HourlyDimensionFigures,
    HourlyFigures,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    Response,
    ServiceEvent,
)
from app.progress import Advance, nothing


def hour_of(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC hour that ``column`` (a stored UTC time) falls in, in the stored form."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", column)))
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy's format): compare as text.
    return func.strftime("%Y-%m-%d %H:00:00.000000", column)


@dataclass(frozen=True)
class Contribution:
    """What one kind of source row adds: ``aggregates`` over the rows ``rows(dimensions)``
    selects (a dimension may need a join of its own), at ``columns.time`` for
    ``columns.unit`` and, by dimension, ``columns.of(dimension)``: the columns the queries over
    the rows group and filter by, so the rollups count what they count."""

    columns: Columns
    aggregates: Callable[[], list[ColumnElement[Any]]]
    rows: Callable[[Collection[Dimension], bool], Select[Any]]

    def grouped(self, dialect: str, dimensions: Collection[Dimension],
                legacy: bool = False) -> Select[Any]:
        """The contribution by hour and unit and, with ``dimensions``, by each one's value
        (as text) that applies to these rows (a complaint has no language); a row without a
        value of a dimension (NULL) adds nothing to that dimension. ``legacy``: over source
        tables older than a1f7c3e9d5b2 (``LEGACY``).

        The rows are read once and paired with the names of their dimensions (a cross join
        with a small constant table), and the value is the column of each name: one scan and
        one grouping for all dimensions, where a SELECT per dimension would read the rows (and
        their joins) once for each. A LATERAL unpivot would be shorter; SQLite has none."""
        hour = hour_of(self.columns.time, dialect)
        keys = [hour.label("hour"), self.columns.unit.label("unit_id")]
        groups: list[Any] = [hour, self.columns.unit]
        applying = [d for d in dimensions if self.columns.of(d) is not None]
        stmt = self.rows(applying, legacy)
        if applying:
            # Our own enumeration's constants, written into the SQL (the triggers are text).
            names = union_all(*[select(literal_column(f"'{d.value}'", String).label("dimension"))
                                for d in applying]).subquery("dimensions")
            value = case(*[(names.c.dimension == d.value, cast(self.columns.of(d), String))
                           for d in applying])
            stmt = stmt.join(names, true()).where(value.is_not(None))
            keys += [names.c.dimension, value.label("value")]
            groups += [names.c.dimension, value]
        stmt = stmt.add_columns(*keys, *self.aggregates()).group_by(*groups)
        return _as_legacy(stmt) if legacy else stmt


#: What the columns added by a1f7c3e9d5b2 (``response.held``, ``complaint.kind``, an invitation
#: for a service event...) read as on the tables before it, where every record was a complaint
#: and every response a complainant's, by e-mail and never held: the migrations before it
#: install (and downgrades reinstall) triggers from these same definitions.
LEGACY = {("response", "held"): false, ("response", "source"): null, ("response", "mode"): null,
          ("complaint", "kind"): lambda: literal_column("'complaint'"),
          ("invitation", "campaign_id"): null, ("invitation", "service_event_id"): null,
          ("service_event", "unit_id"): null, ("service_event", "channel"): null}
#: The tables and columns new in a1f7c3e9d5b2 (watched by the triggers only after it).
LEGACY_TABLES = ("service_event",)


def _as_legacy(stmt: Select[Any]) -> Select[Any]:
    def replace(element: Any) -> Any:
        if isinstance(element, Column):
            made = LEGACY.get((getattr(element.table, "name", None), element.name))
            return made() if made is not None else None
        return None

    return replacement_traverse(stmt, {}, replace)  # type: ignore[no-any-return]


def _invitation_rows(dimensions: Collection[Dimension], legacy: bool) -> Select[Any]:
    stmt = _subject(select().select_from(Invitation), legacy)
    return _with_version(with_response(stmt), dimensions).where(Invitation.sent_at.is_not(None))


def _answered_rows(dimensions: Collection[Dimension], legacy: bool) -> Select[Any]:
    stmt = (select().select_from(Response)
            .join(Invitation, Invitation.id == Response.invitation_id))
    return (_with_version(_subject(stmt, legacy), dimensions)
            .where(Invitation.sent_at.is_not(None), NOT_HELD))


def _subject(stmt: Select[Any], legacy: bool) -> Select[Any]:
    """Invitations' complaints and service events; legacy: complaints only, as before
    a1f7c3e9d5b2 (an invitation of a service event there counts nowhere)."""
    if legacy:
        return stmt.join(Complaint, Complaint.id == Invitation.complaint_id)
    return join_subject(stmt)


def _with_version(stmt: Select[Any], dimensions: Collection[Dimension]) -> Select[Any]:
    """An invitation's questionnaire is its version's (``INVITATION_COLUMNS``)."""
    if Dimension.QUESTIONNAIRE not in dimensions:
        return stmt
    return stmt.join(QuestionnaireVersion, QuestionnaireVersion.id == Invitation.version_id)


RESPONSES = Contribution(
    RESPONSE_COLUMNS, response_aggregates,
    lambda *_: select().select_from(Response)
    .where(Response.submitted_at.is_not(None), NOT_HELD))
ANSWERS = Contribution(
    RESPONSE_COLUMNS, answer_aggregates,
    lambda *_: select().select_from(Answer).join(Response, Response.id == Answer.response_id)
    .where(COUNTED_ANSWER, NOT_HELD))
RECEIVED = Contribution(
    RECEIVED_COLUMNS, received_aggregates,
    lambda *_: select().select_from(Complaint).where(Complaint.received_at.is_not(None)))
RESOLVED = Contribution(
    RESOLVED_COLUMNS, resolved_aggregates,
    lambda *_: select().select_from(Complaint)
    .where(Complaint.resolved_at.is_not(None), HAS_DUE_TIME, IS_COMPLAINT))
INVITATIONS = Contribution(INVITATION_COLUMNS, invitation_aggregates, _invitation_rows)
#: What a response adds to its invitation's row: answered, and no longer undelivered (not
#: sent: the invitation counts that).
ANSWERED = Contribution(INVITATION_COLUMNS, answered_aggregates, _answered_rows)

#: Every contribution, once: what the rebuild adds up.
ALL = (RESPONSES, ANSWERS, RECEIVED, RESOLVED, INVITATIONS)


@dataclass(frozen=True)
class Rollup:
    """A rollup table and the dimensions its rows are keyed by besides hour and unit;
    ``absent``: figures of the model that the stored table does not have yet (a migration
    before the one that adds them installs triggers that leave them out); ``legacy``: the
    source tables are older than a1f7c3e9d5b2 (``LEGACY``; no source or mode dimension)."""

    table: Table
    dimensions: tuple[Dimension, ...]
    absent: frozenset[str] = frozenset()
    legacy: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.primary_key.columns)

    @property
    def figures(self) -> list[str]:
        return [c.name for c in self.table.columns
                if c.name not in self.key and c.name not in self.absent]

    def select(self, contribution: Contribution, dialect: str) -> Select[Any]:
        """``contribution`` grouped by this table's keys (without the absent figures)."""
        dimensions = [d for d in self.dimensions
                      if not (self.legacy and d in (Dimension.SOURCE, Dimension.MODE))]
        stmt = contribution.grouped(dialect, dimensions, self.legacy)
        if not self.absent:
            return stmt
        return stmt.with_only_columns(*[c for c in stmt.selected_columns
                                        if c.key not in self.absent])

    def as_stored(self, connection: Any, legacy: bool | None = None) -> Rollup:
        """This rollup with the figures its stored table lacks marked absent, ``legacy`` when
        the stored source tables are (or, when ``legacy`` is given, as it says)."""
        inspector = inspect(connection)
        stored = {c["name"] for c in inspector.get_columns(self.table.name)}
        if legacy is None:
            legacy = "held" not in {c["name"] for c in inspector.get_columns("response")}
        return replace(self, absent=frozenset(self.figures) - stored, legacy=legacy)


HOURLY = Rollup(HourlyFigures.__table__, ())
BY_DIMENSION = Rollup(HourlyDimensionFigures.__table__,
                      tuple(d for d in Dimension if d is not Dimension.UNIT))
ROLLUPS = (HOURLY, BY_DIMENSION)


@dataclass(frozen=True)
class Feed:
    """A contribution of a source row: limited to ``key == id of the row``, and moved by a
    change of ``columns`` (an update of other columns leaves it as it is). A column in
    ``MOVED_BY`` moves it only when that expression of the column changes."""

    contribution: Contribution
    key: Any
    columns: tuple[str, ...]


#: Columns whose every change does not move a contribution, and what of them does: an
#: invitation's state moves its figures only into or out of ``bounced`` (sent, reminded,
#: responded and expired leave them as they are), so those frequent updates stay cheap.
MOVED_BY = {"state": f"({{row}}.state = '{InvitationState.BOUNCED.value}')"}
#: The columns behind the ``undelivered`` figure (``aggregates.NOT_DELIVERED``): a trigger
#: installed before the migration that adds the figure (and, on the oldest schemas, before
#: ``invitation.delivery``) watches neither.
UNDELIVERED_MOVES = ("state", "delivery")


@dataclass(frozen=True)
class Source:
    """A table whose rows contribute, and what they feed. ``counted``: SQL of ``{row}`` true
    for every row that contributes at all; an update's trigger on a side (OLD or NEW) where it
    is false has nothing to move, and does not run its upserts."""

    table: str
    feeds: tuple[Feed, ...]
    counted: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column whose change moves a contribution."""
        return tuple(dict.fromkeys(c for feed in self.feeds for c in feed.columns))


_RESPONSE_MOVES = ("submitted_at", "unit_id", "category_id", "channel", "language",
                   "questionnaire_id", "source", "mode", "held")
# A complaint's kind moves it into or out of the complaints' figures (and the compliments').
_COMPLAINT_MOVES = ("unit_id", "category_id", "channel", "kind")

# A version's questionnaire never changes (published versions are immutable, drafts have no
# invitations), so ``questionnaire_version`` needs no trigger.
SOURCES = (
    Source("answer", (Feed(ANSWERS, Answer.id, ("response_id", "question_type", "attribute",
                                                "value_number")),)),
    Source("response", (Feed(RESPONSES, Response.id, _RESPONSE_MOVES),
                        Feed(ANSWERS, Response.id, _RESPONSE_MOVES),
                        Feed(ANSWERED, Response.id, ("invitation_id", "held")))),
    # A resolution (the commonest update) moves only what the resolution feeds.
    Source("complaint", (Feed(RECEIVED, Complaint.id, ("received_at", *_COMPLAINT_MOVES)),
                         Feed(RESOLVED, Complaint.id, ("resolved_at", "due_at",
                                                       *_COMPLAINT_MOVES)),
                         Feed(INVITATIONS, Complaint.id, _COMPLAINT_MOVES))),
    # Every figure of an invitation is by its sending time: a planned one (not sent) counts
    # nowhere, so sending it (the dispatcher's update per message) runs only the NEW side.
    Source("invitation", (Feed(INVITATIONS, Invitation.id, ("sent_at", "complaint_id",
                                                            "language", "version_id",
                                                            "service_event_id", "campaign_id",
                                                            "channel", *UNDELIVERED_MOVES)),),
           counted="{row}.sent_at IS NOT NULL"),
    # A service event moved to another unit (or channel) moves its invitations.
    Source("service_event", (Feed(INVITATIONS, ServiceEvent.id, ("unit_id", "channel")),)),
)


#: The transition table of PostgreSQL's statement-level insert triggers.
INSERTED_ROWS = "inserted_rows"


def _upsert(dialect: str, rollup: Rollup, contribution: Select[Any], sign: int,
            slot: Any = 0) -> str:
    """``INSERT ... SELECT contribution ON CONFLICT add`` into ``slot``, as SQL text."""
    values = [c if c.key in rollup.key or sign == 1 else (c * sign).label(c.key)
              for c in contribution.selected_columns]
    source = contribution.with_only_columns(*values, literal_column(str(slot)).label("slot"))
    names = [c.key for c in source.selected_columns]
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(rollup.table).from_select(names, source)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(rollup.key),
        set_={name: rollup.table.c[name] + stmt.excluded[name] for name in rollup.figures},
    )
    return str(stmt.compile(dialect=module.dialect(), compile_kwargs={"literal_binds": True}))


def _statements(dialect: str, source: Source, row: str, sign: int,
                rollups: Sequence[Rollup], *, if_moved: bool = False) -> list[str]:
    """The upserts of one changed row, ``row`` (OLD or NEW), or, with ``row`` =
    ``INSERTED_ROWS``, of every row one statement inserted (PostgreSQL's transition table):
    one per contribution and rollup. With ``if_moved`` (updates) each adds nothing unless a
    column that moves its contribution changed."""
    slot = "pg_backend_pid()" if dialect == "postgresql" else 0
    statements = []
    for feed in source.feeds:
        for rollup in rollups:
            stmt = rollup.select(feed.contribution, dialect)
            if row == INSERTED_ROWS:
                # The key's table may be outer-joined (an invitation's complaint): only the
                # rows that join an inserted one.
                stmt = _over_inserted_rows(stmt.where(feed.key.is_not(None)), feed.key.table)
            else:
                stmt = stmt.where(feed.key == literal_column(f"{row}.id"))
            if if_moved:
                stmt = stmt.where(literal_column(_moved(feed.columns, dialect)))
            statements.append(_upsert(dialect, rollup, stmt, sign, slot))
    return statements


def _moved(columns: Sequence[str], dialect: str) -> str:
    """SQL: whether an update changed any of ``columns`` (NULLs compare as values; a column
    of ``MOVED_BY`` only by its expression)."""
    differ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"

    def value(row: str, name: str) -> str:
        return MOVED_BY[name].format(row=row) if name in MOVED_BY else f"{row}.{name}"

    return "(" + " OR ".join(f"{value('OLD', c)} {differ} {value('NEW', c)}"
                             for c in columns) + ")"


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


def trigger_ddl(dialect: str, rollups: Sequence[Rollup] = ROLLUPS) -> list[str]:
    """The statements that (re)create the triggers keeping ``rollups`` on ``dialect``."""
    ddl: list[str] = []
    for source in _sources(rollups):
        name = f"memnun_rollup_{source.table}"
        deleted = _statements(dialect, source, "OLD", -1, rollups)
        before = _statements(dialect, source, "OLD", -1, rollups, if_moved=True)
        after = _statements(dialect, source, "NEW", 1, rollups, if_moved=True)
        moved = _moved(source.columns, dialect)
        when = Whens(_counted(source, "OLD", moved), _counted(source, "NEW", moved))
        of = ", ".join(source.columns)
        if dialect == "postgresql":
            inserted = _statements(dialect, source, INSERTED_ROWS, 1, rollups)
            ddl += _postgresql(name, source.table, Bodies(deleted, before, after, inserted),
                               of, when)
        else:
            inserted = _statements(dialect, source, "NEW", 1, rollups)
            ddl += _sqlite(name, source.table, Bodies(deleted, before, after, inserted), of,
                           when)
    return ddl


def _counted(source: Source, row: str, moved: str) -> str:
    """The WHEN of an update's trigger on ``row``'s side: moved, and counted there."""
    if not source.counted:
        return f"WHEN {moved}"
    return f"WHEN ({source.counted.format(row=row)} AND {moved})"


@dataclass(frozen=True)
class Whens:
    """The conditions of an update's two triggers: before it (OLD) and after it (NEW)."""

    old: str
    new: str


def _sources(rollups: Sequence[Rollup]) -> tuple[Source, ...]:
    """``SOURCES``, without watching the columns of ``undelivered`` for rollups without it,
    nor the tables and columns legacy source tables do not have."""
    unwatched: set[tuple[str, str]] = set()
    if any("undelivered" in rollup.absent for rollup in rollups):
        unwatched |= {(source.table, c) for source in SOURCES for c in UNDELIVERED_MOVES}
    legacy = any(rollup.legacy for rollup in rollups)
    if legacy:
        unwatched |= set(LEGACY)
    return tuple(
        replace(source, feeds=tuple(
            replace(feed, columns=tuple(c for c in feed.columns
                                        if (source.table, c) not in unwatched))
            for feed in source.feeds))
        for source in SOURCES if not (legacy and source.table in LEGACY_TABLES))


@dataclass(frozen=True)
class Bodies:
    """The upserts of each trigger: a deleted row, an updated row before and after the update
    (each only where it moved), and inserted rows (one statement's, or one row's)."""

    deleted: list[str]
    before: list[str]
    after: list[str]
    inserted: list[str]


def _lines(statements: list[str], indent: str = "  ") -> str:
    return "".join(f"{indent}{statement};\n" for statement in statements)


def _postgresql(name: str, table: str, bodies: Bodies, of: str, when: Whens) -> list[str]:
    """Row-level triggers for updates and deletes; inserts count once per statement, grouped
    over all its rows: a batch of 500 complaints adds to the rollups with one upsert per
    contribution and rollup instead of 500 (the same figures, a fraction of the time)."""
    def function(suffix: str, body: str, result: str) -> str:
        return (f"CREATE OR REPLACE FUNCTION {name}_{suffix}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $body$\nBEGIN\n{body}  RETURN {result};\nEND\n"
                "$body$")

    def trigger(suffix: str, timing: str, function_suffix: str, when: str = "") -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name}_{suffix} ON {table}",
                f"CREATE TRIGGER {name}_{suffix} {timing} ON {table} FOR EACH ROW {when} "
                f"EXECUTE FUNCTION {name}_{function_suffix}()"]

    # One function before deletes and updates (the names older revisions dropped); a delete
    # never reads NEW.
    before = (f"  IF TG_OP = 'DELETE' THEN\n{_lines(bodies.deleted, '    ')}  ELSE\n"
              f"{_lines(bodies.before, '    ')}  END IF;\n")
    return [
        function("before", before, "CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END"),
        function("after", _lines(bodies.after), "NULL"),
        function("inserted", _lines(bodies.inserted), "NULL"),
        *trigger("delete", "BEFORE DELETE", "before"),
        *trigger("update_old", f"BEFORE UPDATE OF {of}", "before", when.old),
        f"DROP TRIGGER IF EXISTS {name}_insert ON {table}",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS {INSERTED_ROWS} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {name}_inserted()",
        *trigger("update_new", f"AFTER UPDATE OF {of}", "after", when.new),
    ]


def _sqlite(name: str, table: str, bodies: Bodies, of: str, when: Whens) -> list[str]:
    def trigger(suffix: str, timing: str, body: list[str], when: str = "") -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name}_{suffix}",
                f"CREATE TRIGGER {name}_{suffix} {timing} ON {table} FOR EACH ROW {when}\n"
                f"BEGIN\n{_lines(body)}END"]

    return [
        *trigger("delete", "BEFORE DELETE", bodies.deleted),
        *trigger("update_old", f"BEFORE UPDATE OF {of}", bodies.before, when.old),
        *trigger("insert", "AFTER INSERT", bodies.inserted),
        *trigger("update_new", f"AFTER UPDATE OF {of}", bodies.after, when.new),
    ]


def install_triggers(connection: Any, rollups: Sequence[Rollup] = ROLLUPS,
                     legacy: bool | None = None) -> None:
    """Create (or replace) the triggers that keep ``rollups`` exact (a migration names the
    rollups its schema has; the application keeps them all). ``legacy``: as before
    a1f7c3e9d5b2 (by default, when the stored tables are that old)."""
    stored = [rollup.as_stored(connection, legacy) for rollup in rollups]
    for statement in trigger_ddl(connection.dialect.name, stored):
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
    the next compaction takes them. Run it every few minutes (it reads only the rows to fold,
    through the partial index of the writers' rows).
    """
    if connection.dialect.name != "postgresql":
        return 0
    # One compaction at a time (two could wait for each other's slot-0 rows); a second one
    # finds the lock taken and leaves the work to the first.
    if not connection.exec_driver_sql(
            "SELECT pg_try_advisory_xact_lock(hashtext('memnun_rollup_compact'))").scalar_one():
        return 0
    return sum(_fold(connection, rollup) for rollup in ROLLUPS)


def _fold(connection: Any, rollup: Rollup) -> int:
    name = rollup.table.name
    keys = ", ".join(k for k in rollup.key if k != "slot")
    sums = ", ".join(f"sum({figure})" for figure in rollup.figures)
    updates = ", ".join(f"{figure} = {name}.{figure} + excluded.{figure}"
                        for figure in rollup.figures)
    # Only the models' own table and column names are written into the statement.
    statement = f"""
        WITH gone AS (
            DELETE FROM {name} WHERE ctid IN (
                SELECT ctid FROM {name} WHERE slot <> 0 FOR UPDATE SKIP LOCKED)
            RETURNING *),
        folded AS (
            INSERT INTO {name} ({keys}, slot, {", ".join(rollup.figures)})
            SELECT {keys}, 0, {sums} FROM gone GROUP BY {keys}
            ON CONFLICT ({keys}, slot) DO UPDATE SET {updates}
            RETURNING 1)
        SELECT (SELECT count(*) FROM gone)"""  # noqa: S608
    return int(connection.exec_driver_sql(statement).scalar_one())


def _everything(rollup: Rollup, dialect: str) -> Select[Any]:
    """Every contribution to ``rollup`` added up per key, in the key's order: what the table
    holds once the writers' rows are folded. One INSERT of it writes each row once, in the
    order a filtered view reads them (no row rewritten by the next contribution's upsert)."""
    keys = [k for k in rollup.key if k != "slot"]
    parts = []
    for contribution in ALL:
        stmt = rollup.select(contribution, dialect)
        given = {c.key: c for c in stmt.selected_columns}
        # Every part lists every column, in one order (a figure it does not count is 0).
        parts.append(stmt.with_only_columns(*[
            given.get(name, literal_column("0").label(name)) for name in keys + rollup.figures]))
    every = union_all(*parts).subquery("contributions")
    return (select(*[every.c[k] for k in keys], literal_column("0").label("slot"),
                   *[func.sum(every.c[f]).label(f) for f in rollup.figures])
            .group_by(*[every.c[k] for k in keys]).order_by(*[every.c[k] for k in keys]))


def rebuild(connection: Any, progress: Advance = nothing,
            rollups: Sequence[Rollup] = ROLLUPS, legacy: bool | None = None) -> None:
    """Recompute ``rollups`` from the source tables (after a bulk load that bypassed the
    triggers, or to check them). Runs in the caller's transaction; ``progress`` advances once
    per rollup."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Writers' triggers add to the tables in their own transactions; without the lock, a
        # writer committing during the rebuild would be counted by neither it nor the
        # rebuild. All tables at once: a writer holding one while waiting for the other would
        # deadlock with a rebuild that took them one by one.
        names = ", ".join(rollup.table.name for rollup in rollups)
        connection.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
    for rollup in [rollup.as_stored(connection, legacy) for rollup in rollups]:
        connection.execute(rollup.table.delete())
        stmt = _everything(rollup, dialect)
        connection.execute(rollup.table.insert().from_select(
            [c.key for c in stmt.selected_columns], stmt))
        progress(1, rollup.table.name)
