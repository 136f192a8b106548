"""The scheduler wiring: never started by the factory, sends from the database, stops cleanly."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from app.extensions import db
from app.models import Invitation, InvitationState
from app.scheduler import DISPATCH, start_background_scheduler
from tests.support.database import PG_URL
from tests.support.distribution import fetch, planned_invitation

UTC = dt.UTC


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _outbox_files(tmp_path: Path) -> list[Path]:
    """The invitation e-mails written (the alert digest, also on the clock, writes inv0)."""
    outbox = tmp_path / "outbox"
    return [p for p in outbox.glob("*.eml") if "-inv0-" not in p.name] if outbox.is_dir() else []


def _due_invitation(app: Flask) -> int:
    with app.app_context():
        return planned_invitation(app, dt.datetime.now(UTC) - dt.timedelta(hours=3))


def test_the_app_factory_never_starts_a_scheduler(make_app: Any) -> None:
    app = make_app()
    make_app()
    assert "memnun_scheduler" not in app.extensions
    assert not [t for t in threading.enumerate() if "APScheduler" in t.name]


def test_background_scheduler_sends_what_the_database_says_is_due(make_app: Any,
                                                                  tmp_path: Path) -> None:
    app = make_app(MEMNUN_DISPATCH_INTERVAL_SECONDS=1)
    invitation_id = _due_invitation(app)
    previous_handler = signal.getsignal(signal.SIGTERM)
    scheduler = start_background_scheduler(app)
    try:
        job = scheduler.get_job(DISPATCH.id)
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        assert job.trigger.interval == dt.timedelta(seconds=1)
        assert _wait_for(lambda: len(_outbox_files(tmp_path)) == 1, 20)
        # A second planned invitation is picked up by a later tick.
        second = _due_invitation(app)
        assert _wait_for(lambda: len(_outbox_files(tmp_path)) == 2, 20)
    finally:
        scheduler.shutdown(wait=True)
        signal.signal(signal.SIGTERM, previous_handler)
    with app.app_context():
        assert fetch(invitation_id).state == InvitationState.SENT
        assert fetch(second).state == InvitationState.SENT
    time.sleep(1.5)  # stopped: nothing runs any more
    assert len(_outbox_files(tmp_path)) == 2


def test_memnun_scheduler_process_sends_and_stops_on_sigterm(app: Flask, backend: str,
                                                             tmp_path: Path) -> None:
    invitation_id = _due_invitation(app)
    database_url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.sqlite'}"
    env = {
        **os.environ,
        "MEMNUN_DATABASE_URL": database_url,
        "MEMNUN_SECRET_KEY": app.config["SECRET_KEY"],
        "MEMNUN_BASE_URL": app.config["MEMNUN_BASE_URL"],
        "MEMNUN_MAIL_BACKEND": "file",
        "MEMNUN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "MEMNUN_DISPATCH_INTERVAL_SECONDS": "1",
    }
    memnun = Path(sys.executable).parent / "memnun"
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(memnun), "scheduler"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        sent = _wait_for(lambda: len(_outbox_files(tmp_path)) == 1, 60)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        _, errors = process.communicate(timeout=10)
    assert sent, errors
    assert code == 0, errors
    assert "Traceback" not in errors
    with app.app_context():
        db.session.expire_all()
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.state == InvitationState.SENT
        assert invitation.claimed_until is None
