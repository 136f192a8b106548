"""Counting the statements a piece of code sends to the database.

On PostgreSQL the count is taken from libpq's own trace of the protocol (every ``Query`` and
``Execute`` message the client sends, BEGIN and COMMIT included), so that it sees what goes
around SQLAlchemy (a COPY) and what an ``executemany`` really sends (one Execute per row); on
SQLite, from SQLAlchemy's cursor executions. Every connection checked out of the pool inside the
block is traced; call ``db.session.remove()`` first so that the code under test checks out its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
