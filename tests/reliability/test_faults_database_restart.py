"""Faults: PostgreSQL restarts under load (issue 8, "Faults").

A private PostgreSQL server (initdb into a scratch folder, a free port; the shared server on 5432
is never touched) serves gunicorn and a ``memnun scheduler`` process. Respondents submit surveys
in a loop and invitations keep falling due; in the middle PostgreSQL is stopped and started
again. Neither the web app nor the scheduler is restarted: the first statement on a dead
connection renews the pool (no ping before every use), and the respondent's pages look their
token up once more, so they find fresh connections by themselves. Requests during the outage
fail (that is expected), every request after it succeeds, every survey answered with a 302 is in
the database, and every invitation that fell due is sent.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.config import normalise_database_url
from app.distribution.tokens import token_for
from app.extensions import db
from app.models import InvitationState, Response
from tests.support.load import ANSWERS, LoadRun, survey_form
from tests.support.processes import (
    SECRET_KEY,
    app_env,
    free_port,
    private_postgres,
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

LOAD_SECONDS = 10
STOP_AFTER = 4
DOWN_FOR = 2


def test_web_app_and_scheduler_recover_from_a_database_restart_and_lose_nothing(
    tmp_path: Path,
) -> None:
    with private_postgres() as server:
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(server.url),
                          "SECRET_KEY": SECRET_KEY, "MEMNUN_OUTBOX_DIR": str(tmp_path / "x")})
        now = dt.datetime.now(dt.UTC)
        with app.app_context():
            db.create_all()
            ref = seed_reference()
            surveys = seed_invitations(ref, 3000, due_at=now - dt.timedelta(hours=2),
                                       state=InvitationState.SENT, secret_key=SECRET_KEY,
                                       sent_at=now - dt.timedelta(hours=1),
                                       expires_at=now + dt.timedelta(days=7))
            # Invitations falling due all through the run, before, during and after the outage.
            due = [now + dt.timedelta(seconds=0.1 * i) for i in range(10 * LOAD_SECONDS)]
            planned = seed_invitations(ref, len(due), due_at=due)
            db.session.remove()
            db.engine.dispose()

        # A pass that the outage cuts short leaves the rows it had claimed under their lease;
        # they go out once it runs out (the documented recovery, as after a crash). A short
        # lease keeps that inside the minute the test waits after the restart.
        env = app_env(server.url, tmp_path, DISPATCH_LEASE_SECONDS=15)
        port = free_port()
        web_log, scheduler_log = tmp_path / "gunicorn.log", tmp_path / "scheduler.log"
        web = start_gunicorn(env, port, web_log, workers=2)
        scheduler = start_scheduler(env, scheduler_log)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, web_log)
            run = LoadRun(f"http://127.0.0.1:{port}", surveys, threads=4, seconds=LOAD_SECONDS,
                          pause_after_failure=0.1)
            load = threading.Thread(target=run.run)
            load.start()
            time.sleep(STOP_AFTER)
            down_at = time.monotonic()
            server.stop("fast")
            stopped_at = time.monotonic()
            time.sleep(DOWN_FOR)
            starting_at = time.monotonic()
            server.start()
            up_at = time.monotonic()
            print(f"\nPostgreSQL down for {up_at - down_at:.1f} s")
            load.join(timeout=LOAD_SECONDS + 60)
            with app.app_context():
                all_sent = wait_until(lambda: set(states_of(planned).values()) == {
                    InvitationState.SENT}, seconds=60, interval=0.5)
                print(f"all sent {time.monotonic() - up_at:.1f} s after the restart")
                stored = set(db.session.scalars(select(Response.invitation_id)))
                db.session.remove()
                db.engine.dispose()
            # Neither process was restarted: both are the ones started above, still running.
            assert web.poll() is None, tail(web_log)
            assert scheduler.poll() is None, tail(scheduler_log)
        finally:
            stop(scheduler)
            stop(web)

    print("\n" + run.summary("through a database restart"))
    before = [o for o in run.outcomes if o.started + o.seconds < down_at]
    during = [o for o in run.outcomes
              if o.started >= stopped_at and o.started + o.seconds <= starting_at]
    after = [o for o in run.outcomes if o.started > up_at + 1]
    assert before and all(o.stored for o in before), [o.status for o in before if not o.stored]
    assert during and not any(o.stored for o in during)  # the outage was real
    assert after, "no submissions after the restart"
    assert all(o.stored for o in after), [(o.status, o.started - up_at) for o in after
                                          if not o.stored][:10]
    assert set(run.stored) <= stored, sorted(set(run.stored) - stored)[:10]
    assert all_sent, tail(scheduler_log)


def test_the_first_survey_request_after_a_database_restart_is_answered(tmp_path: Path) -> None:
    """No ping before each use of a pooled connection (a round trip per request): the first
    statement after a restart finds the connection dead, and the respondent's pages look their
    token up once more on a new one. Restarted before each of the three requests of a visit."""
    with private_postgres() as server:
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(server.url),
                          "SECRET_KEY": SECRET_KEY, "MEMNUN_OUTBOX_DIR": str(tmp_path / "x"),
                          "RATELIMIT_ENABLED": False})
        assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"]
        now = dt.datetime.now(dt.UTC)
        with app.app_context():
            db.create_all()
            surveys = seed_invitations(seed_reference(), 4, due_at=now - dt.timedelta(hours=2),
                                       state=InvitationState.SENT, secret_key=SECRET_KEY,
                                       sent_at=now - dt.timedelta(hours=1),
                                       expires_at=now + dt.timedelta(days=7))
            db.session.remove()
        for restart_before, invitation_id in zip((None, "link", "form", "post"), surveys,
                                                 strict=True):
            browser = app.test_client()
            statuses = []
            for step in ("link", "form", "post"):
                if step == restart_before:
                    server.stop("fast")
                    server.start()
                if step == "link":
                    answer = browser.get(f"/s/{token_for(invitation_id, SECRET_KEY)}")
                elif step == "form":
                    answer = browser.get("/s/survey")
                    action, hidden = survey_form(answer.get_data(as_text=True))
                else:
                    answer = browser.post(action, data={**hidden, **ANSWERS})
                statuses.append(answer.status_code)
            assert statuses == [302, 200, 302], (restart_before, statuses)
        with app.app_context():
            stored = set(db.session.scalars(select(Response.invitation_id)))
            db.session.remove()
            db.engine.dispose()
        assert stored == set(surveys)
