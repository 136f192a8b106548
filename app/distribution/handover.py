"""One statement per fresh invitation: record the one just sent and mark the next handed over.

The dispatcher's guarantee (docs/design.md, "Sending: the guarantee") needs, per message, the
outcome of the previous message and the hand-over mark of this one on record before this
message's final dot, and a re-check that this one is still to be sent (a reopen or a cancel may
have come since the claim). One UPDATE does all three: it touches the previous row (recorded as
sent) and the next row only while it is still planned and unanswered (marked), and RETURNING
says which rows it touched. Run on its own connection in autocommit, the statement is its own
transaction, so a message costs one database round trip instead of BEGIN, re-read, record, mark
and COMMIT. On PostgreSQL ``set_config`` in RETURNING makes that commit not wait for the disk
(what SET LOCAL synchronous_commit does), as the dispatcher's other send commits.

The next row is not locked while its message goes out: a cancel that comes in meanwhile keeps
its state when the send is recorded (the CASEs below), as in the dispatcher's other paths.
Reminders do not come here: their re-read keeps the row locked until the reminder is recorded,
so that an answer can never be overtaken by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Engine, Update, and_, bindparam, case, func, null, or_, update
from sqlalchemy.engine import Connection, Dialect

from app.models import Invitation, InvitationState
from app.models.types import UTCDateTime

# Set in a statement, for the transaction it is part of: set_config(..., true) is SET LOCAL.
ASYNC_COMMIT = func.set_config("synchronous_commit", "off", True)


@dataclass(frozen=True)
class Sent:
    """A message the server accepted, to be recorded by the next step."""

    invitation_id: int
    at: dt.datetime
    reminder_due_at: dt.datetime | None
    expires_at: dt.datetime


def sent_values(at: Any, reminder_due_at: Any, expires_at: Any,
                only: ColumnElement[bool] | None = None) -> dict[str, Any]:
    """The columns that record an invitation as sent, for every path that records one. A row
    cancelled while its message was out keeps its state; the send is on record all the same.
    ``only``: in a statement that touches other rows too, the row being recorded."""
    c = Invitation.__table__.c
    planned = c.state == InvitationState.PLANNED.value
    recorded = planned if only is None else and_(only, planned)

    def mine(value: Any, column: Any) -> Any:
        return value if only is None else case((only, value), else_=column)

    return {
        "state": case((recorded, InvitationState.SENT.value), else_=c.state),
        "reminder_due_at": case((recorded, reminder_due_at), else_=c.reminder_due_at),
        "expires_at": case((recorded, expires_at), else_=c.expires_at),
        "last_error": case((recorded, null()), else_=c.last_error),
        "sent_at": mine(at, c.sent_at),
        "attempts": mine(c.attempts + 1, c.attempts),
        "claimed_until": mine(null(), c.claimed_until),
        "handed_over_at": mine(null(), c.handed_over_at),
    }


@cache
def step_statement(dialect: str) -> Update:
    """The UPDATE of one step (built once per dialect; SQLAlchemy caches its compiled form)."""
    c = Invitation.__table__.c
    is_sent = c.id == bindparam("sent_id")
    values = sent_values(
        bindparam("sent_at", type_=UTCDateTime()),
        bindparam("reminder_due_at", type_=UTCDateTime()),
        bindparam("expires_at", type_=UTCDateTime()),
        only=is_sent,
    )
    # The other row touched is the next one: marked handed over.
    values["handed_over_at"] = case(
        (is_sent, null()), else_=bindparam("handed_over_at", type_=UTCDateTime())
    )
    still_due = and_(
        c.id == bindparam("next_id"),
        c.state == InvitationState.PLANNED.value,
        c.responded_at.is_(None),
    )
    returning = [c.id, ASYNC_COMMIT] if dialect == "postgresql" else [c.id]
    return update(Invitation.__table__).where(or_(is_sent, still_due)).values(values).returning(
        *returning
    )


# A step's own parameters; the statement's fixed values (states, set_config's) are bound once.
STEP_PARAMETERS = ("sent_id", "sent_at", "reminder_due_at", "expires_at", "next_id",
                   "handed_over_at")


@cache
def _driver_statement(dialect: Dialect) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """PostgreSQL: the step's SQL as the driver takes it, and its fixed parameters."""
    compiled = step_statement(dialect.name).compile(dialect=dialect)
    fixed = compiled.construct_params(dict.fromkeys(STEP_PARAMETERS))
    return compiled.string, tuple((k, v) for k, v in fixed.items() if k not in STEP_PARAMETERS)


class Steps:
    """The steps of one run, over a connection of their own in autocommit, opened by the first
    step (in the thread that runs the steps: SQLite's connections stay in their thread).

    On PostgreSQL a step goes straight to the driver's cursor, past SQLAlchemy's
    execution machinery, which cost twice the driver's own CPU per message (measured: 240-320
    against 100-130 microseconds) in the thread that shares the interpreter with the sends.
    Engine listeners still see it (``before_cursor_execute``), as the statement-count test does.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statement = step_statement(engine.dialect.name)
        self._connection: Connection | None = None
        self._driver: tuple[str, dict[str, Any]] | None = None
        if engine.dialect.name == "postgresql":
            sql, fixed = _driver_statement(engine.dialect)
            self._driver = (sql, dict(fixed))
        self._cursor: Any = None

    def step(self, sent: Sent | None, next_id: int | None, now: dt.datetime) -> bool:
        """Record ``sent`` and mark ``next_id`` handed over, in one committed statement; True
        when ``next_id`` is still to be sent (it is then marked)."""
        if sent is None and next_id is None:
            return False
        params = {
            "sent_id": sent.invitation_id if sent else None,
            "sent_at": sent.at if sent else None,
            "reminder_due_at": sent.reminder_due_at if sent else None,
            "expires_at": sent.expires_at if sent else None,
            "next_id": next_id,
            "handed_over_at": now,
        }
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        if self._driver is None:
            touched = {row[0] for row in self._connection.execute(self._statement, params)}
        else:
            touched = {row[0] for row in self._execute_on_driver(self._connection, params)}
        return next_id is not None and next_id in touched

    def _execute_on_driver(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        sql, fixed = self._driver  # type: ignore[misc]
        if self._cursor is None:
            self._cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for name in ("sent_at", "reminder_due_at", "expires_at", "handed_over_at"):
            value = params[name]
            if value is not None and value.tzinfo is None:
                raise ValueError("naive datetime given; Memnun stores only aware datetimes")
        params.update(fixed)
        if connection._has_events or connection.engine._has_events:  # noqa: SLF001
            connection.dispatch.before_cursor_execute(connection, self._cursor, sql, params,
                                                      None, False)
        # Prepared after a few runs, as any statement, unless a pooler forbids it (databases.py).
        self._cursor.execute(sql, params)
        return self._cursor.fetchall()

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
