"""Faults: a respondent completes the survey while the dispatcher sends its reminder (issue 8).

Hundreds of invitations whose reminder is due are answered by one thread while another runs
``dispatch_due`` against a real SMTP server, in rounds, so that submissions and reminder sends
interleave. An answered survey never gets a reminder: no reminder arrives at the mail server
after the submission that completed its survey has returned. (A reminder that left before the
answer was stored is no fault: it crossed the answer in the post.)
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections import Counter
from typing import Any

import pytest
from flask import Flask

from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.models import Invitation, InvitationState
from app.respond.services import submit_response
from tests.reliability.helpers_seed import seed_invitations, seed_reference, states_of
from tests.reliability.helpers_smtp import timed_smtp_server

ROUNDS, PER_ROUND = 2, 80
REMINDER_ID = re.compile(r"<memnun\.reminder\.(\d+)@")


def _race(app: Flask, ids: list[int], seed: int) -> tuple[dict[int, float], list[BaseException]]:
    """Submit every survey in ``ids`` while dispatch passes run; returns when each submission
    returned (time.time()) and the errors of either side."""
    answered: dict[int, float] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    done = threading.Event()
    order = ids[:]
    random.Random(seed).shuffle(order)

    def respondents() -> None:
        try:
            with app.app_context():
                start.wait()
                for invitation_id in order:
                    invitation = db.session.get(Invitation, invitation_id)
                    submit_response(invitation, {"overall": 4}, "tr")
                    answered[invitation_id] = time.time()
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()

    def dispatcher() -> None:
        try:
            with app.app_context():
                start.wait()
                while not done.is_set():
                    dispatch_due(batch_size=10)
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=respondents), threading.Thread(target=dispatcher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answered, errors


def test_an_answered_survey_never_gets_a_reminder(make_app: Any, backend: str) -> None:
    with timed_smtp_server() as sink:
        app = make_app(MEMNUN_MAIL_BACKEND="smtp", MEMNUN_SMTP_HOST=sink.host,
                       MEMNUN_SMTP_PORT=sink.port, MEMNUN_SMTP_TIMEOUT=5)
        now = dt.datetime.now(dt.UTC)
        answered: dict[int, float] = {}
        with app.app_context():
            ref = seed_reference()
            all_ids: list[int] = []
            for round_number in range(ROUNDS):
                ids = seed_invitations(
                    ref, PER_ROUND, due_at=now - dt.timedelta(days=3), state=InvitationState.SENT,
                    secret_key=app.config["SECRET_KEY"], sent_at=now - dt.timedelta(days=3),
                    reminder_due_at=now - dt.timedelta(minutes=1),
                    expires_at=now + dt.timedelta(days=7))
                db.session.remove()
                times, errors = _race(app, ids, seed=round_number)
                assert not errors, errors
                answered.update(times)
                all_ids += ids
            states = states_of(all_ids)
        arrivals = sink.arrivals()

    reminders = [(t, int(m.group(1))) for t, mid in arrivals if (m := REMINDER_ID.match(mid))]
    late = [(i, round(t - answered[i], 4)) for t, i in reminders if t > answered[i]]
    assert set(Counter(i for _, i in reminders).values()) <= {1}  # never two reminders
    assert set(states.values()) == {InvitationState.RESPONDED}
    assert len(answered) == ROUNDS * PER_ROUND
    # The race was real: some reminders went out before their survey was answered, some not.
    print(f"\n{backend}: {len(reminders)} reminders crossed {len(answered)} answers; "
          f"{len(late)} arrived after the answer was stored")
    assert 0 < len(reminders) < ROUNDS * PER_ROUND
    if late and backend == "sqlite":
        # SQLite ignores FOR UPDATE: the dispatcher's re-check that no answer came in
        # (_still_due in app/distribution/dispatcher.py) holds no lock while the reminder is
        # handed to the mail server, so an answer stored in those milliseconds is overtaken.
        # PostgreSQL holds the row lock until the outcome is stored. Reported to the
        # distribution owner; an expected failure on SQLite until the dispatcher takes SQLite's
        # write lock for the re-check and the send.
        pytest.xfail(f"SQLite: {len(late)} reminder(s) arrived after the survey was answered "
                     f"(by up to {max(d for _, d in late) * 1000:.0f} ms)")
    assert not late, f"reminders that arrived after the survey was answered: {late[:10]}"
