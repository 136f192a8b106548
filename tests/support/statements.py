"""Counting what a request does to the database: SQL statements, transactions, connection
checkouts, from SQLAlchemy's engine events (``counting``)."""

from __future__ import annotations

import re
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
