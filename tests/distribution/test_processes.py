"""Dispatcher processes against PostgreSQL and a real SMTP server: two at once send every
invitation exactly once; one killed with SIGKILL in the middle of a batch loses nothing, and a
restart after its lease ran out re-sends at most one group, under the same Message-IDs, and
warns about each invitation it takes over.

Processes, not threads: ``memnun dispatch`` as an operator runs it, each with its own connection
pool and interpreter, so the claims (``FOR UPDATE SKIP LOCKED``, leases) are what keeps them
apart. PostgreSQL only: on SQLite one writer at a time makes the question moot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.distribution.dispatcher import GROUP_COMMIT
from app.extensions import db
from app.models import Invitation, InvitationState
from tests.support.database import PG_URL
from tests.support.distribution import bulk_due_invitations
from tests.support.server import free_port

# The process-level runs share one pytest-xdist worker, so that no two of them run at once.
pytestmark = [pytest.mark.postgres_only, pytest.mark.xdist_group("processes")]

UTC = dt.UTC
MEMNUN = Path(sys.executable).parent / "memnun"


@pytest.fixture
def pg_app(backend: str, request: pytest.FixtureRequest) -> Flask:
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has one writer at a time and no SKIP LOCKED")
    return request.getfixturevalue("app")


def dispatcher_env(app: Flask, smtp_port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEMNUN_DATABASE_URL": PG_URL,
        "MEMNUN_SECRET_KEY": app.config["SECRET_KEY"],
        "MEMNUN_BASE_URL": app.config["MEMNUN_BASE_URL"],
        "MEMNUN_MAIL_BACKEND": "smtp",
        "MEMNUN_SMTP_HOST": "127.0.0.1",
        "MEMNUN_SMTP_PORT": str(smtp_port),
        "MEMNUN_OUTBOX_DIR": str(tmp_path / "outbox"),
        **extra,
    }


def start_dispatcher(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(MEMNUN), "dispatch"], env=env, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    return finish_with_log(process, timeout)[0]


def finish_with_log(process: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    """Its output and its log (warnings go to stderr: the CLI sets up no logging)."""
    out, errors = process.communicate(timeout=timeout)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors, errors
    return out, errors


def states(app: Flask) -> Counter[str]:
    with app.app_context():
        rows = db.session.execute(
            select(Invitation.state, func.count()).group_by(Invitation.state)
        ).all()
        db.session.rollback()
    return Counter({str(state): number for state, number in rows})


def test_two_dispatcher_processes_send_every_invitation_exactly_once(
    pg_app: Flask, smtp_server: Any, tmp_path: Path
) -> None:
    with pg_app.app_context():
        ids = bulk_due_invitations(2000, dt.datetime.now(UTC) - dt.timedelta(minutes=1))
    env = dispatcher_env(pg_app, smtp_server.port, tmp_path, MEMNUN_DISPATCH_BATCH_SIZE="50")
    processes = [start_dispatcher(env, tmp_path) for _ in range(2)]
    outputs = [finish(process) for process in processes]

    per_message_id = Counter(m["Message-ID"] for m in smtp_server.messages)
    expected = {f"<memnun.invitation.{i}@memnun.test>" for i in ids}
    assert set(per_message_id) == expected
    assert set(per_message_id.values()) == {1}  # every invitation exactly once
    assert states(pg_app) == Counter({"sent": 2000})
    sent = [int(out.split("sent ")[1].split(",")[0]) for out in outputs]
    assert sum(sent) == 2000
    assert min(sent) > 0, sent  # both processes really worked


@dataclass
class SlowSink:
    """A real SMTP server that takes a few milliseconds per message, so that a dispatcher can
    be caught in the middle of a batch; keeps Message-ID, invitation and link of each message."""

    received: list[tuple[str, int, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.01)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((message["Message-ID"], int(message["X-Memnun-Invitation"]),
                              message["List-Unsubscribe"]))
        return "250 OK"


@pytest.fixture
def slow_sink() -> Iterator[tuple[SlowSink, int]]:
    from aiosmtpd.controller import Controller

    sink, port = SlowSink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_resends_at_most_one_group(
    pg_app: Flask, slow_sink: tuple[SlowSink, int], tmp_path: Path
) -> None:
    sink, port = slow_sink
    lease = 3
    with pg_app.app_context():
        ids = bulk_due_invitations(300, dt.datetime.now(UTC) - dt.timedelta(minutes=1))
    env = dispatcher_env(pg_app, port, tmp_path, MEMNUN_DISPATCH_LEASE_SECONDS=str(lease),
                         MEMNUN_SMTP_TIMEOUT="1", MEMNUN_DISPATCH_BATCH_SIZE="100")
    first = start_dispatcher(env, tmp_path)
    try:
        assert wait_until(lambda: len(sink.received) >= 45, 60), first.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()
    finally:
        if first.poll() is None:
            first.kill()
    received_before = len(sink.received)
    with pg_app.app_context():
        now = dt.datetime.now(UTC)
        still_claimed = db.session.scalar(
            select(func.count()).where(Invitation.state == InvitationState.PLANNED,
                                       Invitation.claimed_until > now))
        db.session.rollback()
    assert still_claimed > 0  # killed in the middle of a claimed batch
    assert 0 < received_before < len(ids)

    time.sleep(max(0.0, lease + 0.5 - (time.monotonic() - killed_at)))  # the lease runs out
    _, log = finish_with_log(start_dispatcher(env, tmp_path))

    assert states(pg_app) == Counter({"sent": len(ids)})  # nothing lost
    by_invitation: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for message_id, invitation_id, link in sink.received:
        by_invitation[invitation_id].append((message_id, link))
    assert set(by_invitation) == set(ids)
    duplicates = len(sink.received) - len(ids)
    assert duplicates <= GROUP_COMMIT["postgresql"], duplicates  # at most one group again
    taken_over = {int(i) for i in re.findall(r"invitation (\d+) taken over: .* may be a duplicate",
                                             log)}
    assert taken_over and taken_over <= set(ids)  # the restart took the killed one's rows over
    assert {i for i, copies in by_invitation.items() if len(copies) > 1} <= taken_over
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w", log)  # no address in its log
    for invitation_id, copies in by_invitation.items():
        # A copy carries the same Message-ID and the same link, so mail systems drop it and
        # either link answers the same survey.
        assert {message_id for message_id, _ in copies} == {
            f"<memnun.invitation.{invitation_id}@memnun.test>"}
        assert len({link for _, link in copies}) == 1
