"""Load: two ``memnun scheduler`` processes and four gunicorn workers on one PostgreSQL (issue 8).

The production layout of docs/design.md ("How it scales"): several scheduler processes claim due
invitations with ``FOR UPDATE SKIP LOCKED``, and web workers never run a scheduler of their own.
While both schedulers send 400 due invitations to a real SMTP server, respondents submit
surveys through the four web workers. Every invitation arrives exactly once, both schedulers
took part, and every survey answered with a 302 is stored.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import InvitationState, Response
from tests.support.load import LoadRun
from tests.support.processes import (
    SECRET_KEY,
    app_env,
    free_port,
    start_gunicorn,
    start_scheduler,
    stop,
    tail,
    wait_for_http,
    wait_until,
)
from tests.support.seed import seed_invitations, seed_reference, states_of
from tests.support.smtp import timed_smtp_server

# The process-level runs share one pytest-xdist worker, so that no two of them run at once.
pytestmark = pytest.mark.xdist_group("processes")

COUNT = 400
SENDER_RE = re.compile(r"scheduler-(\d)@")


def test_two_schedulers_and_four_web_workers_send_every_invitation_exactly_once(
    app: Flask, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("the multi-host layout runs on PostgreSQL (SQLite is the one-machine setup)")
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        ref = seed_reference()
        planned = seed_invitations(ref, COUNT, due_at=now - dt.timedelta(minutes=1))
        surveys = seed_invitations(ref, 400, due_at=now - dt.timedelta(hours=2),
                                   state=InvitationState.SENT, secret_key=SECRET_KEY,
                                   sent_at=now - dt.timedelta(hours=1),
                                   expires_at=now + dt.timedelta(days=7))
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
        db.engine.dispose()

    with timed_smtp_server() as sink:
        env = app_env(url, tmp_path, MAIL_BACKEND="smtp", SMTP_HOST=sink.host,
                      SMTP_PORT=sink.port, DISPATCH_BATCH_SIZE=50)
        port = free_port()
        web_log = tmp_path / "gunicorn.log"
        logs = [tmp_path / f"scheduler-{n}.log" for n in (1, 2)]
        # Workers started with the same environment: a scheduler of theirs would send too.
        web = start_gunicorn(env, port, web_log, workers=4)
        schedulers = []
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, web_log)
            run = LoadRun(f"http://127.0.0.1:{port}", surveys, threads=4, seconds=4)
            load = threading.Thread(target=run.run)
            load.start()
            schedulers = [
                start_scheduler({**env, "MEMNUN_MAIL_FROM": f"Memnun <scheduler-{n}@memnun.test>"},
                                log)
                for n, log in zip((1, 2), logs, strict=True)
            ]
            load.join(timeout=60)
            with app.app_context():
                done = wait_until(lambda: set(states_of(planned).values()) == {
                    InvitationState.SENT}, seconds=90, interval=0.5)
                stored = set(db.session.scalars(select(Response.invitation_id)))
                db.session.remove()
            assert done, tail(logs[0]) + tail(logs[1])
            wait_until(lambda: len(sink.messages) >= COUNT, seconds=10)
        finally:
            for process in schedulers:
                stop(process)
            stop(web)
        messages = list(sink.messages)

    print("\n" + run.summary("4 web workers beside 2 schedulers"))
    copies = Counter(str(m["Message-ID"]) for m in messages)
    assert len(copies) == COUNT and set(copies.values()) == {1}, copies.most_common(3)
    by_scheduler = Counter(SENDER_RE.search(str(m["From"])).group(1) for m in messages)
    print(f"sent by scheduler 1: {by_scheduler['1']}, by scheduler 2: {by_scheduler['2']}")
    assert set(by_scheduler) == {"1", "2"}  # both claimed work, and none was sent twice
    assert not run.failures, [(o.invitation_id, o.status) for o in run.failures[:10]]
    assert set(run.stored) <= stored and len(run.stored) > 0
