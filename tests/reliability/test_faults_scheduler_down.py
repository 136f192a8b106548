"""Faults: the scheduler is down for hours (issue 8, "Faults").

What is due lives in the database, never in the scheduler, so the first pass after a long outage
sends every invitation and reminder that fell due meanwhile and is still inside its expiry, and
expires the rest without sending them. Checked twice: with the dispatcher's clock set hours later
(many due times, exact expiry edges), and with a real ``memnun scheduler`` process started on
rows that fell due hours ago by the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.models import Invitation, InvitationState
from tests.support.processes import app_env, start_scheduler, stop, tail, wait_until
from tests.support.seed import seed_invitations, seed_reference, states_of

# The process-level runs share one pytest-xdist worker, so that no two of them run at once.
pytestmark = pytest.mark.xdist_group("processes")

DOWN_AT = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
EXPIRY = dt.timedelta(hours=6)
EML_RE = re.compile(r"-inv(\d+)-[0-9a-f]{8}\.eml$")


def _outbox(folder: Path) -> Counter[int]:
    if not folder.exists():
        return Counter()
    return Counter(int(m.group(1)) for p in folder.iterdir() if (m := EML_RE.search(p.name)))


def test_after_hours_down_what_is_due_goes_out_and_what_expired_does_not(
    app: Flask, tmp_path: Path
) -> None:
    back = DOWN_AT + dt.timedelta(hours=10)  # the scheduler comes back ten hours later
    with app.app_context():
        ref = seed_reference(expires_after_minutes=int(EXPIRY.total_seconds() // 60),
                             reminder_after_minutes=60)
        # Invitations that fell due every 20 minutes of the outage.
        dues = [DOWN_AT + dt.timedelta(minutes=20 * i) for i in range(31)]
        invitations = seed_invitations(ref, len(dues), due_at=dues)
        # Invitations sent before the outage whose reminder fell due during it: those still
        # inside their expiry get the reminder, the others expire without one.
        sent_at = [DOWN_AT - dt.timedelta(hours=h) for h in (1, 2, 3, 5, 7, 9)]
        reminded = seed_invitations(
            ref, len(sent_at), due_at=sent_at, state=InvitationState.SENT,
            secret_key=app.config["SECRET_KEY"],
        )
        for invitation_id, at in zip(reminded, sent_at, strict=True):
            row = db.session.get(Invitation, invitation_id)
            row.sent_at, row.expires_at = at, at + EXPIRY + dt.timedelta(hours=6)
            row.reminder_due_at = at + dt.timedelta(hours=1)
        db.session.commit()

        result = dispatch_due(now=back)
        states = states_of()
        expected = {i: (InvitationState.SENT if due + EXPIRY > back else InvitationState.EXPIRED)
                    for i, due in zip(invitations, dues, strict=True)}
        for invitation_id, at in zip(reminded, sent_at, strict=True):
            still_open = at + EXPIRY + dt.timedelta(hours=6) > back
            expected[invitation_id] = (InvitationState.REMINDED if still_open
                                       else InvitationState.EXPIRED)
        assert states == expected
        assert result.sent == sum(s == InvitationState.SENT for s in expected.values()) > 0
        assert result.reminded == sum(s == InvitationState.REMINDED for s in expected.values())
        assert result.expired == sum(s == InvitationState.EXPIRED for s in expected.values()) > 0
        # The ones sent late get their full expiry from the moment they went out.
        rows = db.session.scalars(select(Invitation).where(Invitation.id.in_(invitations)))
        for row in rows:
            if row.state == InvitationState.SENT:
                assert (row.sent_at, row.expires_at) == (back, back + EXPIRY)
        assert dispatch_due(now=back + dt.timedelta(minutes=1)).total == 0  # nothing twice

    outbox = _outbox(tmp_path / "outbox")
    went_out = {i for i, s in expected.items()
                if s in (InvitationState.SENT, InvitationState.REMINDED)}
    assert set(outbox) == went_out and set(outbox.values()) == {1}


def test_a_restarted_scheduler_process_catches_up_on_its_own(
    app: Flask, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        ref = seed_reference(expires_after_minutes=int(EXPIRY.total_seconds() // 60))
        overdue = seed_invitations(ref, 40, due_at=[now - dt.timedelta(minutes=9 * i + 1)
                                                    for i in range(40)])
        too_late = seed_invitations(ref, 10, due_at=now - EXPIRY - dt.timedelta(minutes=5))
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
        db.engine.dispose()
    log = tmp_path / "scheduler.log"
    scheduler: Any = start_scheduler(app_env(url, tmp_path), log)
    try:
        with app.app_context():
            done = wait_until(lambda: set(states_of(overdue + too_late).values()) == {
                InvitationState.SENT, InvitationState.EXPIRED}, seconds=60)
            states = states_of(overdue + too_late)
            db.session.remove()
    finally:
        assert stop(scheduler) == 0, tail(log)
    assert done, tail(log)
    assert {states[i] for i in overdue} == {InvitationState.SENT}
    assert {states[i] for i in too_late} == {InvitationState.EXPIRED}
    outbox = _outbox(tmp_path / "outbox")
    assert set(outbox) == set(overdue) and set(outbox.values()) == {1}
