"""The dispatcher against a real SMTP server on localhost: content, retries, failures, reminders,
expiry, and claims that keep two dispatchers from sending the same invitation."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import threading
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from app.distribution.dispatcher import (
    INVITATION,
    _Job,
    _next_group,
    backoff,
    claim_batch,
    claim_invitation,
    dispatch_due,
)
from app.distribution.mail import EML_NAME_RE
from app.distribution.tokens import find_invitation
from app.emails import email_key
from app.extensions import db
from app.models import (
    Complainant,
    Invitation,
    InvitationChannel,
    InvitationState,
    Response,
    SuppressionReason,
)
from tests.support.distribution import catalogue_text, fetch, planned_invitation, smtp_config
from tests.support.server import free_port

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)  # 13:00 in Istanbul, inside the window
BASE = "http://memnun.test"
TOKEN_IN_UNSUBSCRIBE = re.compile(r"^<http://memnun\.test/s/([A-Za-z0-9_-]{43})/opt-out>$")


def _by_invitation(messages: list[Any]) -> dict[int, Any]:
    return {int(m["X-Memnun-Invitation"]): m for m in messages}


def _token(message: Any) -> str:
    match = TOKEN_IN_UNSUBSCRIBE.match(message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    return match.group(1)


# --- a successful send ---------------------------------------------------------------------------


def test_invitation_mail_is_multipart_localised_with_one_click_links(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(**smtp_config(smtp_server), MEMNUN_ORGANISATION_NAME="Kadıköy Belediyesi")
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        turkish = planned_invitation(app, NOW - dt.timedelta(minutes=1), external_id="CMP-TR-1")
        english = planned_invitation(app, NOW, language="en", email="john@example.org")
        result = dispatch_due(now=NOW)
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)
    assert result.summary().startswith("sent 2, ")
    messages = _by_invitation(smtp_server.messages)
    assert set(messages) == {turkish, english}

    message = messages[turkish]
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "ayse@example.org"
    assert message["Subject"] == "Kadıköy Belediyesi: Şikâyetinizi nasıl ele aldık?"
    assert message["Content-Language"] == "tr"
    assert message["Message-ID"] == f"<memnun.invitation.{turkish}@memnun.test>"
    token = _token(message)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"{BASE}/s/{token}" in text.splitlines()  # the plain survey link on its own line
    assert f"{BASE}/s/{token}/opt-out" in text.splitlines()
    assert "CMP-TR-1" in text and "CMP-TR-1" in html and "Kadıköy Belediyesi" in html
    assert "11 Mayıs 2024" in text  # the complaint's date, in Turkish
    assert '<html lang="tr">' in html
    assert "Şikâyetinizin ele alınışından genel olarak ne kadar memnunsunuz?" in html
    for value in range(1, 6):
        assert f'href="{BASE}/s/{token}?overall={value}"' in html
        assert f"{BASE}/s/{token}?overall={value}" in text
    one_of_five = catalogue_text(app, "tr", "%(value)s of %(top)s", value=1, top=5)
    five_of_five = catalogue_text(app, "tr", "%(value)s of %(top)s", value=5, top=5)
    assert f'aria-label="{one_of_five}: Hiç memnun değilim"' in html
    assert f'aria-label="{five_of_five}: Çok memnunum"' in html
    assert "overall=6" not in html and "overall=0" not in html

    english_message = messages[english]
    assert english_message["Content-Language"] == "en"
    assert english_message["Subject"].endswith("How did we handle your complaint?")
    assert "Very dissatisfied" in english_message.get_body(("html",)).get_content()

    with app.app_context():
        invitation = fetch(turkish)
        assert find_invitation(token).id == turkish  # the link leads to this invitation
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.state == InvitationState.SENT
        assert invitation.sent_at == NOW
        assert invitation.reminder_due_at == NOW + dt.timedelta(days=3)
        assert invitation.expires_at == NOW + dt.timedelta(days=14)
        assert (invitation.attempts, invitation.claimed_until) == (1, None)
    # Our logs name invitations by id, never by address or token.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app."))
    assert f"invitation {turkish} sent" in ours
    assert "example.org" not in ours and token not in ours


def test_a_crash_after_sending_resends_with_the_same_message_id_and_link(
    make_app: Any, smtp_server: Any
) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        dispatch_due(now=NOW)
        # The process died after the server took the mail and before the row was marked sent:
        # the row is still planned and its lease still runs.
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(state=InvitationState.PLANNED, sent_at=None, attempts=0,
                    claimed_until=NOW + dt.timedelta(minutes=5), handed_over_at=NOW)
        )
        db.session.commit()
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 0  # the lease holds
        assert dispatch_due(now=NOW + dt.timedelta(minutes=6)).sent == 1  # ... then runs out
    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"] == (
        f"<memnun.invitation.{invitation_id}@memnun.test>"
    )
    assert _token(first) == _token(second)


def _take_over_later(invitation_id: int, lease_ran_out: dt.datetime, handed_over: bool = True
                     ) -> None:
    """Leave the row as a dispatcher that died after claiming it leaves it: planned, with a
    lease that has run out; ``handed_over``: it died after marking the message handed to the
    server (which may or may not have it), else before."""
    db.session.execute(
        update(Invitation).where(Invitation.id == invitation_id)
        .values(claimed_until=lease_ran_out,
                handed_over_at=lease_ran_out - dt.timedelta(minutes=4) if handed_over else None)
    )
    db.session.commit()


def _takeovers(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "taken over" in r.getMessage()]


def test_a_taken_over_invitation_is_logged_as_a_possible_duplicate_and_sent_once_more(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(**smtp_config(smtp_server))
    caplog.set_level(logging.INFO, logger="app.distribution")
    with app.app_context():
        fresh = [planned_invitation(app, NOW, email=f"p{i}@example.org") for i in range(3)]
        dead = planned_invitation(app, NOW, email="dead@example.org")
        _take_over_later(dead, NOW - dt.timedelta(minutes=1))
        assert dispatch_due(now=NOW).sent == 4
        rows = [fetch(i) for i in [*fresh, dead]]
        assert {(r.state, r.attempts, r.claimed_until) for r in rows} == {
            (InvitationState.SENT, 1, None)}
        # Sent again on the next pass? No: it is on record.
        assert dispatch_due(now=NOW + dt.timedelta(minutes=10)).sent == 0
    [line] = _takeovers(caplog)
    assert line.startswith(f"invitation {dead} taken over:")
    assert "may be a duplicate" in line and "attempts 0" in line
    assert "example.org" not in line
    assert len(smtp_server.messages) == 4


def test_a_taken_over_invitation_is_on_record_before_the_server_replies(
    make_app: Any, smtp_server: Any
) -> None:
    """A process that dies while it waits for the server's reply leaves the copy on record."""
    app = make_app(**smtp_config(smtp_server))
    seen: list[tuple[InvitationState, int]] = []
    with app.app_context():
        dead = planned_invitation(app, NOW)
        _take_over_later(dead, NOW - dt.timedelta(minutes=1))
        url = db.engine.url.render_as_string(hide_password=False)

    async def record(server: Any, session: Any, envelope: Any) -> str:
        # Another connection reads the row while the dispatcher still waits for this reply.
        from sqlalchemy import create_engine

        engine = create_engine(url)
        for _ in range(100):
            with engine.connect() as connection:
                row = connection.execute(select(Invitation.state, Invitation.attempts)
                                         .where(Invitation.id == dead)).one()
            if row[0] == InvitationState.SENT.value:
                break
            await asyncio.sleep(0.02)
        engine.dispose()
        seen.append((InvitationState(row[0]), row[1]))
        return "250 OK"

    smtp_server.handle_DATA = record  # type: ignore[method-assign]
    with app.app_context():
        assert dispatch_due(now=NOW).sent == 1
    assert seen == [(InvitationState.SENT, 1)]


def test_a_taken_over_invitation_refused_in_the_reply_is_retried_and_stays_suspect(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(**smtp_config(smtp_server))
    caplog.set_level(logging.INFO, logger="app.distribution")
    ran_out = NOW - dt.timedelta(minutes=1)
    smtp_server.reply = "451 4.3.0 try later"
    with app.app_context():
        dead = planned_invitation(app, NOW)
        _take_over_later(dead, ran_out)
        result = dispatch_due(now=NOW)
        assert (result.sent, result.retried) == (0, 1)
        invitation = fetch(dead)
        assert (invitation.state, invitation.attempts, invitation.sent_at) == (
            InvitationState.PLANNED, 1, None)
        assert invitation.due_at == NOW + dt.timedelta(minutes=1)
        # Still marked as handed over: its first copy may be out, so the retry goes alone too.
        assert (invitation.claimed_until, invitation.handed_over_at) == (None, NOW)
        smtp_server.reply = None
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 1
        invitation = fetch(dead)
        assert (invitation.state, invitation.attempts, invitation.claimed_until) == (
            InvitationState.SENT, 2, None)
    assert len(_takeovers(caplog)) == 2
    assert any("refused by the server after all" in r.getMessage() for r in caplog.records)
    assert len(smtp_server.messages) == 1


def test_a_taken_over_invitation_whose_reply_is_lost_stays_sent(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The server took the whole message and hung up before its reply: no third copy."""
    app = make_app(**smtp_config(smtp_server))
    caplog.set_level(logging.INFO, logger="app.distribution")

    async def hang_up(server: Any, session: Any, envelope: Any) -> str:
        smtp_server.messages.append(envelope.content)
        server.transport.close()
        return "250 OK"  # never reaches the dispatcher

    smtp_server.handle_DATA = hang_up  # type: ignore[method-assign]
    with app.app_context():
        dead = planned_invitation(app, NOW)
        _take_over_later(dead, NOW - dt.timedelta(minutes=1))
        dispatch_due(now=NOW)
        invitation = fetch(dead)
        assert (invitation.state, invitation.attempts, invitation.claimed_until) == (
            InvitationState.SENT, 1, None)
        assert dispatch_due(now=NOW + dt.timedelta(minutes=10)).sent == 0
    assert len(smtp_server.messages) == 1
    assert any(f"invitation {dead}: no reply after the hand-over" in r.getMessage()
               for r in caplog.records)


def test_a_reply_lost_after_the_whole_message_makes_the_retry_a_logged_takeover(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh invitation whose server hung up before its reply may be out: its retry is
    logged as a possible duplicate and sent alone, so that no third copy can follow."""
    app = make_app(**smtp_config(smtp_server))
    caplog.set_level(logging.INFO, logger="app.distribution")
    take = smtp_server.handle_DATA

    async def hang_up(server: Any, session: Any, envelope: Any) -> str:
        smtp_server.messages.append(envelope.content)
        server.transport.close()
        smtp_server.handle_DATA = take  # only the first time
        return "250 OK"  # never reaches the dispatcher

    smtp_server.handle_DATA = hang_up  # type: ignore[method-assign]
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        assert dispatch_due(now=NOW).retried == 1
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.PLANNED, 0)
        # The mark stays: the next claim is a takeover.
        assert (invitation.claimed_until, invitation.handed_over_at) == (None, NOW)
        assert not _takeovers(caplog)
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 1
        assert fetch(invitation_id).state == InvitationState.SENT
    [line] = _takeovers(caplog)
    assert line.startswith(f"invitation {invitation_id} taken over:")
    assert len(smtp_server.messages) == 2


def test_a_taken_over_invitation_left_unsent_stays_suspect(make_app: Any, smtp_server: Any
                                                          ) -> None:
    closed_port = free_port()
    app = make_app(**smtp_config(smtp_server, MEMNUN_SMTP_PORT=closed_port))
    ran_out = NOW - dt.timedelta(minutes=1)
    with app.app_context():
        fresh = planned_invitation(app, NOW, email="fresh@example.org")
        dead = planned_invitation(app, NOW, email="dead@example.org")
        _take_over_later(dead, ran_out)
        assert dispatch_due(now=NOW).retried == 1  # the server is down: the pass waits
        assert (fetch(fresh).claimed_until, fetch(dead).claimed_until) == (None, None)
        assert fetch(fresh).handed_over_at is None
        assert fetch(dead).handed_over_at == ran_out - dt.timedelta(minutes=4)


def test_a_claim_that_died_before_the_hand_over_is_sent_as_a_fresh_one(
    make_app: Any, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Most rows of a killed dispatcher's batch were never handed over: their lease runs out
    with no mark, and the next claim sends them in its groups, with no duplicate warning."""
    app = make_app(**smtp_config(smtp_server))
    caplog.set_level(logging.INFO, logger="app.distribution")
    with app.app_context():
        never = planned_invitation(app, NOW)
        _take_over_later(never, NOW - dt.timedelta(minutes=1), handed_over=False)
        assert dispatch_due(now=NOW).sent == 1
        invitation = fetch(never)
        assert (invitation.state, invitation.claimed_until, invitation.handed_over_at) == (
            InvitationState.SENT, None, None)
    assert not _takeovers(caplog)
    assert any(r.getMessage().startswith(f"invitation {never}: an earlier claim")
               and r.levelno == logging.INFO for r in caplog.records)
    assert len(smtp_server.messages) == 1


def test_a_fresh_message_is_marked_handed_over_before_the_server_can_take_it(
    make_app: Any, smtp_server: Any
) -> None:
    """While the server holds the whole message and has not replied, another connection sees
    the mark; after the reply the row is sent and the mark gone."""
    app = make_app(**smtp_config(smtp_server))
    seen: list[tuple[bool, int]] = []
    with app.app_context():
        ids = [planned_invitation(app, NOW, email=f"m{i}@example.org") for i in range(3)]
        url = db.engine.url.render_as_string(hide_password=False)
    take = smtp_server.handle_DATA

    async def look(server: Any, session: Any, envelope: Any) -> str:
        from sqlalchemy import create_engine

        at_server = ids[int(envelope.rcpt_tos[0][1])]  # m<i>@example.org
        engine = create_engine(url)
        with engine.connect() as connection:
            marked = set(connection.scalars(select(Invitation.id).where(
                Invitation.id.in_(ids), Invitation.state == InvitationState.PLANNED,
                Invitation.handed_over_at.is_not(None))))
        engine.dispose()
        seen.append((at_server in marked, len(marked)))
        return await take(server, session, envelope)

    smtp_server.handle_DATA = look  # type: ignore[method-assign]
    with app.app_context():
        assert dispatch_due(now=NOW).sent == 3
        assert {(fetch(i).state, fetch(i).handed_over_at) for i in ids} == {
            (InvitationState.SENT, None)}
    # The one at the server is marked (its mark rode on the commit of the one before), and no
    # other: a kill leaves one takeover, not a batch of them.
    assert seen == [(True, 1)] * 3


def test_groups_end_before_a_taken_over_job() -> None:
    jobs = [_Job(id=i, kind=INVITATION, channel=InvitationChannel.EMAIL, attempts=0,
                 message=EmailMessage(), reminder_after=None, expires_after=dt.timedelta(1),
                 taken_over=i in (3, 4)) for i in range(8)]
    assert [j.id for j in _next_group(jobs, 0, 20)] == [0, 1, 2]
    assert [j.id for j in _next_group(jobs, 5, 20)] == [5, 6, 7]
    assert [j.id for j in _next_group(jobs, 5, 2)] == [5, 6]


# --- failures ------------------------------------------------------------------------------------


def test_temporary_refusal_retries_with_backoff_then_succeeds(make_app: Any, smtp_server: Any
                                                              ) -> None:
    app = make_app(**smtp_config(smtp_server))
    smtp_server.reply = "451 4.3.0 try later"
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        result = dispatch_due(now=NOW)
        assert (result.sent, result.retried) == (0, 1)
        invitation = fetch(invitation_id)
        assert invitation.state == InvitationState.PLANNED
        assert invitation.attempts == 1
        assert invitation.last_error.startswith("451")
        assert invitation.due_at == NOW + dt.timedelta(minutes=1)
        assert invitation.claimed_until is None

        assert dispatch_due(now=NOW + dt.timedelta(seconds=30)).total == 0  # not due yet
        smtp_server.reply = None
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 1
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.SENT, 2)
        assert invitation.last_error is None
    [message] = smtp_server.messages
    assert message["Message-ID"] == f"<memnun.invitation.{invitation_id}@memnun.test>"


def test_backoff_doubles_and_the_last_attempt_fails(make_app: Any, smtp_server: Any) -> None:
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 7, 20)] == [1, 2, 4, 8, 60, 60]
    app = make_app(**smtp_config(smtp_server), MEMNUN_MAX_SEND_ATTEMPTS=3)
    smtp_server.reply = "452 4.2.2 mailbox full"
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        dispatch_due(now=NOW)
        assert fetch(invitation_id).due_at == NOW + dt.timedelta(minutes=1)
        dispatch_due(now=NOW + dt.timedelta(minutes=1))
        assert fetch(invitation_id).due_at == NOW + dt.timedelta(minutes=3)
        result = dispatch_due(now=NOW + dt.timedelta(minutes=3))
        assert result.failed == 1
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.FAILED, 3)
        assert "mailbox full" in invitation.last_error
        smtp_server.reply = None
        assert dispatch_due(now=NOW + dt.timedelta(hours=5)).total == 0
    assert smtp_server.messages == []


def test_permanent_refusal_fails_at_once_with_the_reason(make_app: Any, smtp_server: Any) -> None:
    app = make_app(**smtp_config(smtp_server))
    smtp_server.reply = "550 5.1.1 <ayse@example.org>: mailbox unavailable"
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        result = dispatch_due(now=NOW)
        assert (result.failed, result.retried, result.sent) == (1, 0, 0)
        invitation = fetch(invitation_id)
        assert invitation.state == InvitationState.FAILED
        assert invitation.attempts == 1
        assert invitation.last_error.startswith("550 5.1.1")
        assert "mailbox unavailable" in invitation.last_error
        assert "@" not in invitation.last_error  # no address kept in the error
        smtp_server.reply = None
        assert dispatch_due(now=NOW + dt.timedelta(days=1)).total == 0  # no retry loop
    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_delays_and_loses_nothing(make_app: Any, smtp_server: Any
                                                             ) -> None:
    closed_port = free_port()
    app = make_app(**smtp_config(smtp_server, MEMNUN_SMTP_PORT=closed_port),
                   MEMNUN_MAX_SEND_ATTEMPTS=2)
    with app.app_context():
        ids = [planned_invitation(app, NOW, email=f"p{i}@example.org") for i in range(3)]
        for minutes in (0, 1, 2, 3):  # longer than the attempts allow for a refusal
            result = dispatch_due(now=NOW + dt.timedelta(minutes=minutes))
            assert (result.sent, result.failed, result.retried) == (0, 0, 1)
        rows = [fetch(i) for i in ids]
        assert {r.state for r in rows} == {InvitationState.PLANNED}
        assert {r.attempts for r in rows} == {0}  # the server's absence is no attempt
        assert {r.claimed_until for r in rows} == {None}  # nothing left claimed
        assert "unavailable" in rows[0].last_error

        app.config["MEMNUN_SMTP_PORT"] = smtp_server.port  # the server is back
        result = dispatch_due(now=NOW + dt.timedelta(minutes=5))
        assert result.sent == 3
        assert {fetch(i).state for i in ids} == {InvitationState.SENT}
        assert fetch(ids[0]).last_error is None
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "p0@example.org", "p1@example.org", "p2@example.org"]


@pytest.mark.parametrize(
    "settings",
    [{"MEMNUN_SMTP_USER": "memnun", "MEMNUN_SMTP_PASSWORD": "secret"},  # no AUTH offered
     {"MEMNUN_SMTP_TLS": True}],  # no STARTTLS offered
)
def test_a_misconfigured_mail_server_fails_no_invitation(make_app: Any, smtp_server: Any,
                                                         settings: dict[str, Any]) -> None:
    app = make_app(**smtp_config(smtp_server, **settings))
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        result = dispatch_due(now=NOW)
        assert (result.sent, result.failed, result.retried) == (0, 0, 1)
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.PLANNED, 0)
        assert invitation.last_error.startswith("mail server unavailable")
        assert "not supported by server" in invitation.last_error
        assert "secret" not in invitation.last_error
    assert smtp_server.messages == []


def test_overdue_invitations_go_out_until_they_would_have_expired(make_app: Any,
                                                                  smtp_server: Any) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        late = planned_invitation(app, NOW - dt.timedelta(hours=7))  # the scheduler was down
        too_late = planned_invitation(app, NOW - dt.timedelta(days=15), email="old@example.org")
        result = dispatch_due(now=NOW)
        assert (result.sent, result.expired) == (1, 1)
        assert fetch(late).state == InvitationState.SENT
        assert fetch(too_late).state == InvitationState.EXPIRED
    assert [m["To"] for m in smtp_server.messages] == ["ayse@example.org"]


def test_opted_out_or_cancelled_invitations_are_never_sent(make_app: Any, smtp_server: Any
                                                           ) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        opted = planned_invitation(app, NOW)
        cancelled = planned_invitation(app, NOW, email="other@example.org")
        # After planning, the person opts out (under another complaint with the same address,
        # stored as intake stores every address: app/emails.py).
        db.session.add(Complainant(email=email_key("AYSE@example.org"), opted_out_at=NOW))
        db.session.execute(update(Invitation).where(Invitation.id == cancelled)
                           .values(state=InvitationState.CANCELLED))
        db.session.commit()
        result = dispatch_due(now=NOW)
        assert (result.sent, result.cancelled) == (0, 1)
        invitation = fetch(opted)
        assert invitation.state == InvitationState.CANCELLED
        assert invitation.suppression_reason == SuppressionReason.OPTED_OUT
        assert fetch(cancelled).state == InvitationState.CANCELLED
    assert smtp_server.messages == []


# --- reminders and expiry ------------------------------------------------------------------------


def _respond(invitation_id: int, mark_invitation: bool) -> None:
    invitation = fetch(invitation_id)
    complaint = invitation.complaint
    db.session.add(Response(
        invitation_id=invitation.id, version_id=invitation.version_id,
        questionnaire_id=invitation.version.questionnaire_id, complaint_id=complaint.id,
        unit_id=complaint.unit_id, category_id=complaint.category_id, channel=complaint.channel,
        language=invitation.language, submitted_at=NOW + dt.timedelta(days=1),
    ))
    if mark_invitation:
        invitation.state = InvitationState.RESPONDED
        invitation.responded_at = NOW + dt.timedelta(days=1)
    db.session.commit()


def test_one_reminder_goes_only_to_those_who_have_not_answered(make_app: Any, smtp_server: Any
                                                               ) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        silent = planned_invitation(app, NOW)
        answered = planned_invitation(app, NOW, email="b@example.org")
        racing = planned_invitation(app, NOW, email="c@example.org")
        assert dispatch_due(now=NOW).sent == 3
        _respond(answered, mark_invitation=True)
        _respond(racing, mark_invitation=False)  # the answer is stored, the row not yet updated

        assert dispatch_due(now=NOW + dt.timedelta(days=2)).total == 0
        result = dispatch_due(now=NOW + dt.timedelta(days=3, minutes=1))
        assert result.reminded == 1
        invitation = fetch(silent)
        assert invitation.state == InvitationState.REMINDED
        assert invitation.reminded_at == NOW + dt.timedelta(days=3, minutes=1)
        assert invitation.reminder_due_at is None
        assert fetch(racing).state == InvitationState.SENT
        assert dispatch_due(now=NOW + dt.timedelta(days=5)).total == 0  # at most one reminder

        result = dispatch_due(now=NOW + dt.timedelta(days=14))
        assert result.expired == 1  # the silent one; answered surveys never expire
        assert fetch(silent).state == InvitationState.EXPIRED
        assert fetch(answered).state == InvitationState.RESPONDED
        assert fetch(racing).state == InvitationState.SENT

    reminders = [m for m in smtp_server.messages if m["X-Memnun-Kind"] == "reminder"]
    assert [int(m["X-Memnun-Invitation"]) for m in reminders] == [silent]
    [reminder] = reminders
    original = _by_invitation(smtp_server.messages[:3])[silent]
    assert reminder["Message-ID"] == f"<memnun.reminder.{silent}@memnun.test>"
    assert reminder["In-Reply-To"] == original["Message-ID"]
    language = reminder["Content-Language"]
    assert reminder["Subject"] == catalogue_text(app, language, "Reminder: %(subject)s",
                                                 subject=str(original["Subject"]))
    assert _token(reminder) == _token(original)  # the same link works
    nudge = catalogue_text(app, language, "A few days ago we asked how we handled your "
                           "complaint. If you have a minute, we would still like to hear from you.")
    assert nudge.split(".")[0] in " ".join(reminder.get_body(("plain",)).get_content().split())


def test_reminders_wait_for_the_send_window(make_app: Any, smtp_server: Any) -> None:
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        dispatch_due(now=NOW)
        evening = NOW + dt.timedelta(days=3, hours=8)  # 21:00 in Istanbul
        assert dispatch_due(now=evening).reminded == 0
        next_morning = dt.datetime(2024, 5, 19, 6, 0, tzinfo=UTC)  # 09:00 in Istanbul
        assert fetch(invitation_id).reminder_due_at == next_morning
        assert dispatch_due(now=next_morning - dt.timedelta(minutes=1)).reminded == 0
        assert dispatch_due(now=next_morning).reminded == 1
    assert len(smtp_server.messages) == 2


def test_no_reminder_when_the_rule_turns_them_off(make_app: Any, smtp_server: Any) -> None:
    from tests.support.distribution import make_rule

    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        make_rule(reminder_after_minutes=0)
        invitation_id = planned_invitation(app, NOW)
        dispatch_due(now=NOW)
        assert fetch(invitation_id).reminder_due_at is None
        assert dispatch_due(now=NOW + dt.timedelta(days=10)).reminded == 0
    assert len(smtp_server.messages) == 1


# --- claims --------------------------------------------------------------------------------------


def test_portable_claim_lets_only_one_of_two_claimants_win(app: Flask) -> None:
    lease = NOW + dt.timedelta(minutes=5)
    with app.app_context():
        invitation_id = planned_invitation(app, NOW)
        with app.app_context():  # a second app context: another session and connection
            assert claim_invitation(invitation_id, NOW, lease) is True
            db.session.commit()
        assert claim_invitation(invitation_id, NOW + dt.timedelta(seconds=1), lease) is False
        db.session.rollback()
        # Once the lease has run out (its holder died), the row may be claimed again.
        later = lease + dt.timedelta(seconds=1)
        assert claim_invitation(invitation_id, later, later + dt.timedelta(minutes=5)) is True
        db.session.commit()
        db.session.execute(update(Invitation).values(state=InvitationState.SENT,
                                                     claimed_until=None))
        db.session.commit()
        assert claim_invitation(invitation_id, later, later) is False  # not planned any more


def test_postgresql_claims_skip_rows_locked_by_another_dispatcher(app: Flask, backend: str
                                                                  ) -> None:
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's")
    with app.app_context():
        ids = [planned_invitation(app, NOW, email=f"p{i}@example.org") for i in range(3)]
        locked = db.session.scalar(
            select(Invitation.id).order_by(Invitation.id).limit(1)
            .with_for_update(skip_locked=True)
        )  # held, uncommitted, like a dispatcher in the middle of its claim
        with app.app_context():
            claimed = claim_batch(INVITATION, NOW, NOW + dt.timedelta(minutes=5), 10)
        assert locked == ids[0]
        assert sorted(claimed) == ids[1:]
        db.session.rollback()


def test_two_dispatchers_at_once_send_every_invitation_exactly_once(make_app: Any,
                                                                    tmp_path: Path) -> None:
    app = make_app()  # the file backend: every message is a file named after its invitation
    with app.app_context():
        ids = [planned_invitation(app, NOW, commit=False, email=f"p{i}@example.org")
               for i in range(120)]
        db.session.commit()
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(dispatch_due(now=NOW, batch_size=7))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r.sent for r in results) == 120
    files = [EML_NAME_RE.match(p.name) for p in (tmp_path / "outbox").iterdir()]
    per_invitation = Counter(int(m.group(2)) for m in files if m)
    assert set(per_invitation) == set(ids)
    assert set(per_invitation.values()) == {1}
    with app.app_context():
        states = db.session.scalars(select(Invitation.state)).all()
        assert set(states) == {InvitationState.SENT}


def test_a_batch_cut_short_by_its_lease_makes_the_next_claims_smaller(
    make_app: Any, smtp_server: Any
) -> None:
    """A slow server: a batch sends what it can before its lease is at risk and gives the rest
    back; the next claims take no more than that, rather than preparing a full batch again and
    again (or, when preparing alone eats the lease, sending nothing)."""
    app = make_app(**smtp_config(smtp_server, MEMNUN_DISPATCH_LEASE_SECONDS=2,
                                 MEMNUN_SMTP_TIMEOUT=0.5, MEMNUN_DISPATCH_BATCH_SIZE=40))
    take = smtp_server.handle_DATA

    async def slowly(server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.08)  # about 12 a second: a batch's 1 s budget sends about 12
        return await take(server, session, envelope)

    smtp_server.handle_DATA = slowly  # type: ignore[method-assign]
    claimed: list[int] = []

    def count_claims(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The claims (one UPDATE a batch on PostgreSQL, one a row on SQLite), not the releases.
        if "SET claimed_until" in statement and "handed_over_at" not in statement:
            claimed.append(cursor.rowcount)

    with app.app_context():
        ids = [planned_invitation(app, NOW, email=f"s{i}@example.org") for i in range(60)]
        event.listen(db.engine, "after_cursor_execute", count_claims)
        try:
            assert dispatch_due(now=NOW).sent == 60
        finally:
            event.remove(db.engine, "after_cursor_execute", count_claims)
        assert {fetch(i).state for i in ids} == {InvitationState.SENT}
    assert len(smtp_server.messages) == 60
    # A full batch first, then batches the size of what one lease could send: 40 + 60 - 12 or
    # so rows claimed (and messages prepared), not about 150 as at 40 a time.
    assert sum(claimed) < 60 + 40


def test_an_invitation_cancelled_while_the_one_before_goes_out_is_not_sent(
    make_app: Any, smtp_server: Any
) -> None:
    """The re-check runs beside the send and is waited for before the final dot: a cancel that
    comes in after the claim stops the message there (its dot is never written), and the
    dispatcher goes on with the next one over a fresh connection."""
    app = make_app(**smtp_config(smtp_server))
    with app.app_context():
        first, cancelled, third = (planned_invitation(app, NOW, email=f"c{i}@example.org")
                                   for i in range(3))
        url = db.engine.url.render_as_string(hide_password=False)
    take = smtp_server.handle_DATA

    async def cancel_the_next(server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == ["c0@example.org"]:
            from sqlalchemy import create_engine

            engine = create_engine(url)
            with engine.begin() as connection:  # as staff's "cancel" would, from elsewhere
                connection.execute(update(Invitation).where(Invitation.id == cancelled)
                                   .values(state=InvitationState.CANCELLED.value))
            engine.dispose()
        return await take(server, session, envelope)

    smtp_server.handle_DATA = cancel_the_next  # type: ignore[method-assign]
    with app.app_context():
        assert dispatch_due(now=NOW).sent == 2
        rows = {i: fetch(i) for i in (first, cancelled, third)}
        assert [rows[i].state for i in (first, cancelled, third)] == [
            InvitationState.SENT, InvitationState.CANCELLED, InvitationState.SENT]
        assert (rows[cancelled].sent_at, rows[cancelled].claimed_until,
                rows[cancelled].handed_over_at) == (None, None, None)
    assert [m["To"] for m in smtp_server.messages] == ["c0@example.org", "c2@example.org"]
