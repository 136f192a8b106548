"""Load: survey submissions through gunicorn, from respondents on localhost (issue 8, "Load").

A short version of ``tests/bench/bench_load.py``: real gunicorn workers, real HTTP, the whole
respondent visit (link, form, POST). On PostgreSQL as fast as eight respondents can go; on SQLite
(WAL, busy timeout) at 20 submissions a second, the rate one municipality needs, while a
``memnun scheduler`` process writes to the same file. Afterwards the database holds exactly one
response for every POST answered with a 302, and nothing else; no request failed, and no process
logged "database is locked".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, Invitation, InvitationState, Response
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

# The process-level runs share one pytest-xdist worker, so that no two of them run at once.
pytestmark = pytest.mark.xdist_group("processes")

NOW = dt.datetime.now(dt.UTC)


def _stored_responses(app: Flask) -> tuple[dict[int, int], int]:
    """Responses per invitation id, and the number of answer rows."""
    with app.app_context():
        rows = db.session.execute(
            select(Response.invitation_id, func.count()).group_by(Response.invitation_id)
        ).all()
        answers = db.session.scalar(select(func.count(Answer.id)))
        db.session.remove()
    return {row[0]: row[1] for row in rows}, int(answers or 0)


def _check_run(app: Flask, run: LoadRun, logs: list[Path]) -> None:
    assert not run.failures, [(o.invitation_id, o.status) for o in run.failures[:10]]
    per_invitation, answers = _stored_responses(app)
    assert set(per_invitation) == set(run.stored)  # nothing lost, nothing made up
    assert set(per_invitation.values()) == {1}
    assert answers == 2 * len(run.stored)  # rating and comment, once each
    with app.app_context():
        responded = db.session.scalar(
            select(func.count()).where(Invitation.state == InvitationState.RESPONDED))
        db.session.remove()
    assert responded == len(run.stored)
    for log in logs:
        text = log.read_text(errors="replace")
        assert "database is locked" not in text, tail(log)
        assert "Traceback" not in text, tail(log)


def test_submissions_through_gunicorn_lose_and_double_nothing(
    app: Flask, backend: str, tmp_path: Path
) -> None:
    sqlite = backend == "sqlite"
    with app.app_context():
        ref = seed_reference()
        surveys = seed_invitations(ref, 1000, due_at=NOW - dt.timedelta(hours=2),
                                   state=InvitationState.SENT, secret_key=SECRET_KEY,
                                   sent_at=NOW - dt.timedelta(hours=1),
                                   expires_at=NOW + dt.timedelta(days=7))
        # On SQLite the scheduler writes to the same file while the respondents submit.
        planned = seed_invitations(ref, 200 if sqlite else 0, due_at=NOW - dt.timedelta(minutes=1))
        url = str(db.engine.url.render_as_string(hide_password=False))
        db.session.remove()
        db.engine.dispose()

    env = app_env(url, tmp_path)
    port = free_port()
    web_log, scheduler_log = tmp_path / "gunicorn.log", tmp_path / "scheduler.log"
    web = start_gunicorn(env, port, web_log, workers=2 if sqlite else 3)
    scheduler = start_scheduler(env, scheduler_log) if sqlite else None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", web, web_log)
        if sqlite:  # 120 respondents, one every 50 ms
            run = LoadRun(f"http://127.0.0.1:{port}", surveys[:120], threads=4, rate=20.0).run()
        else:  # as many as eight respondents at a time manage in 8 s
            run = LoadRun(f"http://127.0.0.1:{port}", surveys, threads=8, seconds=8).run()
        print("\n" + run.summary(f"{backend}, gunicorn"))
        if sqlite:
            # 6 s of arrivals; a few seconds more only if the last ones had to wait.
            assert run.elapsed < 10, "20 submissions a second could not be kept up"
            with app.app_context():
                sent = wait_until(lambda: set(states_of(planned).values()) == {
                    InvitationState.SENT}, seconds=30)
                db.session.remove()
            assert sent, tail(scheduler_log)
        else:
            assert len(run.stored) >= 80
    finally:
        if scheduler is not None:
            stop(scheduler)
        stop(web)
    _check_run(app, run, [web_log] + ([scheduler_log] if sqlite else []))
