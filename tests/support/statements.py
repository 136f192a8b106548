"""Counting what code does to the database.

``counting``: what a request does, from SQLAlchemy's engine events: statements as sent,
transactions, connection checkouts.

``counted_statements``: every statement that reaches the server. On PostgreSQL the count is
taken from libpq's own trace of the protocol (every ``Query`` and ``Execute`` message the client
sends, BEGIN and COMMIT included), so that it sees what goes around SQLAlchemy (a COPY) and what
an ``executemany`` really sends (one Execute per row); on SQLite, from SQLAlchemy's cursor
executions. Every connection checked out of the pool inside the block is traced; call
``db.session.remove()`` first so that the code under test checks out its own.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

COMMIT = "-- COMMIT"
ROLLBACK = "-- ROLLBACK"


@dataclass(repr=False)
class Counted:
    """What the engine did, in order: statements as sent (one line each), with ``COMMIT`` and
    ``ROLLBACK`` markers where transactions ended, and the connections checked out."""

    log: list[str] = field(default_factory=list)
    checkouts: int = 0

    @property
    def statements(self) -> list[str]:
        return [line for line in self.log if not line.startswith("-- ")]

    @property
    def commits(self) -> int:
        return self.log.count(COMMIT)

    def after_first_commit(self) -> list[str]:
        """The statements sent after the first commit (nothing is read again there)."""
        if COMMIT not in self.log:
            return []
        return [
            line for line in self.log[self.log.index(COMMIT) + 1 :] if not line.startswith("-- ")
        ]

    def touching(self, table: str) -> list[str]:
        """Statements that read or write ``table`` (by its name after FROM/INTO/UPDATE/JOIN)."""
        pattern = re.compile(rf"\b(FROM|INTO|UPDATE|JOIN)\s+{table}\b", re.I)
        return [line for line in self.statements if pattern.search(line)]

    def clear(self) -> None:
        self.log.clear()
        self.checkouts = 0

    def __repr__(self) -> str:
        return "\n".join(line[:160] for line in self.log)


@contextmanager
def counting(engine: Engine) -> Iterator[Counted]:
    """Record what ``engine`` does inside the ``with`` block."""
    counted = Counted()

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        counted.log.append(" ".join(text.split()))

    def checkout(*args: Any) -> None:
        counted.checkouts += 1

    def commit(conn: Any) -> None:
        counted.log.append(COMMIT)

    def rollback(conn: Any) -> None:
        counted.log.append(ROLLBACK)

    listeners = [
        (engine, "before_cursor_execute", statement),
        (engine.pool, "checkout", checkout),
        (engine, "commit", commit),
        (engine, "rollback", rollback),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield counted
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)



@dataclass
class Statements:
    count: int = 0


@contextmanager
def counted_statements(engine: Engine) -> Iterator[Statements]:
    counted = Statements()
    if engine.dialect.name != "postgresql":

        def count(*_: Any) -> None:
            counted.count += 1

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield counted
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return
    from psycopg import pq

    with tempfile.TemporaryFile("w+") as trace:

        def checkout(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        def checkin(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.untrace()

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)
        try:
            yield counted
        finally:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)
        trace.seek(0)
        for line in trace:
            fields = line.split("\t")
            if len(fields) > 2 and fields[0] == "F" and fields[2] in ("Query", "Execute"):
                counted.count += 1
