"""What one dispatched invitation costs, in counts that a test can hold (times cannot be tested;
tests/bench/bench_dispatch.py measures those): SQL statements and commits per invitation, and
the SMTP connection's socket, whose Nagle delay once cost 40 ms a message."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.distribution.dispatcher import dispatch_due
from app.distribution.mail import SmtpBackend
from app.distribution.messages import build_message
from app.distribution.tokens import token_for
from app.extensions import db
from app.organisation.settings import organisation_settings
from tests.support.distribution import fetch, planned_invitation, smtp_config

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)

# Per dispatched invitation, beyond what a pass costs whatever it sends: one UPDATE that records
# the message before it as sent and re-checks and marks this one handed over, run in autocommit
# (its own transaction: no BEGIN or COMMIT round trip), so that a killed dispatcher re-sends at
# most the one message whose reply it was waiting for, and takes over only that one. SQLite
# also claims each row with an UPDATE of its own, where PostgreSQL claims the batch in one.
PER_INVITATION = {
    "postgresql": {"statements": 1, "commits": 0, "autocommitted": 1},
    "sqlite": {"statements": 2, "commits": 0, "autocommitted": 1},
}


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0
    autocommitted: int = 0  # statements that were a transaction of their own


@contextmanager
def counting(engine: Any) -> Iterator[Counts]:
    """Statements sent to the database (an executemany is one) and commits, while inside."""
    counts = Counts()

    def on_statement(conn: Any, *_: Any) -> None:
        counts.statements += 1
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            counts.autocommitted += 1

    def on_commit(*_: Any) -> None:
        counts.commits += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def _dispatch(app: Flask, how_many: int) -> Counts:
    with app.app_context():
        ids = [planned_invitation(app, NOW - dt.timedelta(minutes=1)) for _ in range(how_many)]
        organisation_settings()  # read once per context (or kept by the process): not per send
        with counting(db.engine) as counts:
            assert dispatch_due(now=NOW).sent == how_many
        assert all(fetch(i).sent_at is not None for i in ids)
        # Sent ones are not due any more: the next pass does only its fixed work.
        db.session.remove()
    return counts


def test_each_invitation_costs_a_fixed_number_of_statements_each_its_own_transaction(
    make_app: Any, smtp_server: Any, backend: str
) -> None:
    app = make_app(**smtp_config(smtp_server))
    few, many = _dispatch(app, 3), _dispatch(app, 13)  # one claimed batch each
    assert len(smtp_server.messages) == 16
    per_invitation = {
        "statements": (many.statements - few.statements) / 10,
        "commits": (many.commits - few.commits) / 10,
        "autocommitted": (many.autocommitted - few.autocommitted) / 10,
    }
    assert per_invitation == PER_INVITATION[backend]
    # What a pass costs whatever it sends stays small: expire, claim, load, commit ...
    assert few.statements - 3 * PER_INVITATION[backend]["statements"] <= 15


def test_the_smtp_connection_writes_without_waiting_for_acknowledgements(
    app: Flask, smtp_server: Any
) -> None:
    """The hand-over hook writes the final dot on its own; with Nagle's algorithm that 3-byte
    write waits for the server's delayed ACK (40 ms on Linux), for every message."""
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        message = build_message(fetch(invitation_id), token_for(invitation_id), now=NOW)
        backend = SmtpBackend(smtp_server.host, smtp_server.port, timeout=5)
        called: list[str] = []
        try:
            backend.send(
                message,
                invitation_id=invitation_id,
                handed_over=lambda: called.append("before the dot"),
                written=lambda: called.append("written"),
            )
            sock = backend._smtp.sock  # type: ignore[union-attr]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            backend.close()
    assert called == ["before the dot", "written"]
    assert len(smtp_server.messages) == 1
