"""Faults: the mail server refuses, for a while (4xx) or for good (5xx), at volume (issue 8).

Through the real aiosmtpd server of ``tests/conftest.py`` (``smtp_server``): 4xx replies make
every invitation wait with a growing backoff and then go out once each when the server accepts
again; 5xx replies fail every invitation at the first try, with the server's reason kept, and
no later pass tries them again. The dispatcher's clock is fixed (``dispatch_due(now=...)``), so
"a while" can be hours without waiting for them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.distribution.dispatcher import backoff, dispatch_due
from app.extensions import db
from app.models import Invitation, InvitationState
from tests.support.seed import seed_invitations, seed_reference

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COUNT = 150


def _smtp(smtp_server: Any) -> dict[str, Any]:
    return {"MEMNUN_MAIL_BACKEND": "smtp", "MEMNUN_SMTP_HOST": smtp_server.host,
            "MEMNUN_SMTP_PORT": smtp_server.port, "MEMNUN_SMTP_TIMEOUT": 5}


def _rows(ids: list[int]) -> list[Invitation]:
    db.session.expire_all()
    return list(db.session.scalars(select(Invitation).where(Invitation.id.in_(ids))))


def _received(smtp_server: Any) -> Counter[str]:
    return Counter(str(message["Message-ID"]) for message in smtp_server.messages)


def test_temporary_refusals_back_off_then_everything_goes_out_once(
    make_app: Any, smtp_server: Any
) -> None:
    app: Flask = make_app(**_smtp(smtp_server), MEMNUN_MAX_SEND_ATTEMPTS=8)
    smtp_server.reply = "451 4.3.0 Try again later"
    with app.app_context():
        ids = seed_invitations(seed_reference(), COUNT, due_at=START - dt.timedelta(minutes=1))
        now = START
        for attempt in (1, 2, 3):  # three refused rounds, each at the moment the backoff ends
            result = dispatch_due(now=now)
            assert (result.sent, result.retried, result.failed) == (0, COUNT, 0)
            rows = _rows(ids)
            assert {r.state for r in rows} == {InvitationState.PLANNED}
            assert {r.attempts for r in rows} == {attempt}
            assert {r.due_at for r in rows} == {now + backoff(attempt)}
            assert {r.last_error for r in rows} == {"451 4.3.0 Try again later"}
            assert {r.claimed_until for r in rows} == {None}
            # Before the backoff ends nothing is tried: no retry loop against a refusing server.
            early = dispatch_due(now=now + backoff(attempt) - dt.timedelta(seconds=1))
            assert early.total == 0
            now += backoff(attempt)
        assert backoff(1) < backoff(2) < backoff(3)

        smtp_server.reply = None  # the server accepts again
        result = dispatch_due(now=now)
        assert (result.sent, result.failed) == (COUNT, 0)
        rows = _rows(ids)
        assert {r.state for r in rows} == {InvitationState.SENT}
        assert {r.attempts for r in rows} == {4}
        assert {r.last_error for r in rows} == {None}
        assert dispatch_due(now=now + dt.timedelta(hours=1)).sent == 0
    received = _received(smtp_server)
    assert len(received) == COUNT and set(received.values()) == {1}


def test_permanent_refusals_fail_at_once_with_the_reason_and_are_never_retried(
    make_app: Any, smtp_server: Any
) -> None:
    app: Flask = make_app(**_smtp(smtp_server))
    smtp_server.reply = "550 5.1.1 Mailbox unavailable"
    with app.app_context():
        ref = seed_reference()
        ids = seed_invitations(ref, COUNT, due_at=START - dt.timedelta(minutes=1))
        result = dispatch_due(now=START)
        assert (result.sent, result.failed, result.retried) == (0, COUNT, 0)
        smtp_server.reply = None  # even a server that accepts again gets nothing more of them
        later = seed_invitations(ref, 10, due_at=START + dt.timedelta(hours=1))
        for hours in (1, 6, 48):
            dispatch_due(now=START + dt.timedelta(hours=hours))
        rows = _rows(ids)
        assert {r.state for r in rows} == {InvitationState.FAILED}
        assert {r.attempts for r in rows} == {1}
        assert {r.last_error for r in rows} == {"550 5.1.1 Mailbox unavailable"}
        assert {r.claimed_until for r in rows} == {None}
        assert {r.state for r in _rows(later)} == {InvitationState.SENT}
    received = _received(smtp_server)
    # Only the ten that came later were received; the refused ones were never tried again.
    assert sorted(received) == sorted(f"<memnun.invitation.{i}@memnun.test>" for i in later)
