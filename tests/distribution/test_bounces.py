"""Bounces: the VERP return path (unforgeable, the envelope sender of invitations only), the
parser on a corpus of formats (Postfix and Gmail DSNs, Exchange, a soft bounce, a delay warning,
out-of-office replies), and the service through both ways in: the SMTP receiver of
``memnun bounces serve`` (a real aiosmtpd server, real smtplib) and ``memnun bounces read``.
A hard bounce ends the invitation bounced and the address undeliverable (no e-mail to it again;
SMS where there is a phone); a soft bounce sends again with the backoff; auto-replies and delay
warnings change nothing; every bounce is audited without the message's personal data."""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.distribution.bounce_cli import _controller
from app.distribution.bounce_parser import classify
from app.distribution.dispatcher import dispatch_due
from app.distribution.planner import plan_for_resolution
from app.distribution.verp import invitation_of, return_path
from app.extensions import db
from app.models import (
    AuditLog,
    Complainant,
    InvitationChannel,
    InvitationState,
    MessageDelivery,
    SuppressionReason,
)
from tests.support.bounces import bounce
from tests.support.distribution import fetch, planned_invitation, smtp_config
from tests.support.factories import make_complaint
from tests.support.server import free_port
from tests.support.sms import Gateway

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)
BOUNCES = "bounces@mail.memnun.test"
DEAD = "nobody@example.org"

CORPUS = {  # message: (kind, status codes)
    "postfix_dsn_hard": ("hard", ("5.1.1",)),
    "gmail_dsn_hard": ("hard", ("5.1.1",)),
    "exchange_hard": ("hard", ()),
    "dsn_soft_mailbox_full": ("soft", ("4.2.2",)),
    "dsn_delayed": ("delayed", ("4.4.1",)),
    "out_of_office": ("auto_reply", ()),
    "out_of_office_no_header": ("auto_reply", ()),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_parser_knows_each_format_of_the_corpus(name: str) -> None:
    result = classify(message_from_bytes(bounce(name, "bounces+1-0@x.test", DEAD)))
    assert (result.kind, result.statuses) == CORPUS[name]


def test_a_message_that_is_no_bounce_is_unknown() -> None:
    raw = b"From: someone@example.org\r\nSubject: About my complaint\r\n\r\nThank you.\r\n"
    assert classify(message_from_bytes(raw)).kind == "unknown"


def test_the_return_path_names_its_invitation_and_cannot_be_forged(make_app: Any) -> None:
    app = make_app(MEMNUN_BOUNCE_ADDRESS=BOUNCES)
    path = return_path(app.config)
    assert path is not None
    address = path(42)
    local, domain = address.split("@")
    assert local.startswith("bounces+42-") and domain == "mail.memnun.test"
    assert invitation_of(app.config, [address]) == 42
    assert invitation_of(app.config, [f"<{address.upper()}>"]) == 42  # as MTAs may write it
    forged = address.replace("bounces+42-", "bounces+43-")
    assert invitation_of(app.config, [forged, "bounces@mail.memnun.test", "x@y"]) is None
    other_key = make_app(MEMNUN_BOUNCE_ADDRESS=BOUNCES, SECRET_KEY="another key" * 4)
    assert invitation_of(other_key.config, [address]) is None
    assert return_path(make_app().config) is None


@pytest.fixture
def receiver(make_app: Any, smtp_server: Any, gateway: Gateway) -> Iterator[tuple[Flask, Any]]:
    """The app sending through the sink with bounce handling, and the receiver of
    ``memnun bounces serve`` on a free port."""
    app = make_app(**smtp_config(smtp_server), MEMNUN_BOUNCE_ADDRESS=BOUNCES,
                   MEMNUN_SMS_GATEWAY_URL=gateway.url)
    controller = _controller(app, "127.0.0.1", free_port(), lmtp=False)
    controller.start()
    yield app, controller
    controller.stop()


def _bounce_over_smtp(controller: Any, to: str, raw: bytes) -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.sendmail("", [to], raw)


def _audits() -> list[tuple[str, str, dict[str, Any]]]:
    return [(entry.action, entry.target, entry.detail) for entry in db.session.scalars(
        select(AuditLog).where(AuditLog.actor == "mail-server").order_by(AuditLog.id))]


def test_a_hard_bounce_ends_the_invitation_and_the_address(receiver: Any, smtp_server: Any,
                                                           gateway: Gateway) -> None:
    app, controller = receiver
    with app.app_context():
        dead = planned_invitation(app, NOW, email=DEAD, phone="+90 532 000 00 01")
        later = planned_invitation(app, NOW + dt.timedelta(days=2), email=DEAD.upper(),
                                   phone="+90 532 000 00 01")
        no_phone = planned_invitation(app, NOW + dt.timedelta(days=2), email=DEAD)
        alive = planned_invitation(app, NOW, email="ayse@example.org")
        assert dispatch_due(now=NOW).sent == 2
    senders = dict(zip((int(m["X-Memnun-Invitation"]) for m in smtp_server.messages),
                       smtp_server.senders, strict=True))
    with app.app_context():
        assert invitation_of(app.config, [senders[dead]]) == dead
        assert invitation_of(app.config, [senders[alive]]) == alive

    # A recipient that is not a genuine return path is refused: the receiver relays nothing.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _bounce_over_smtp(controller, senders[dead].replace("-", "-0", 1), b"Subject: x\r\n\r\n")
    # An out-of-office reply and a delay warning change nothing.
    for name in ("out_of_office", "dsn_delayed"):
        _bounce_over_smtp(controller, senders[dead], bounce(name, senders[dead], DEAD))
    with app.app_context():
        assert fetch(dead).state == InvitationState.SENT and _audits() == []

    # Postfix's DSN, twice (MTAs repeat themselves): taken once.
    for _ in range(2):
        _bounce_over_smtp(controller, senders[dead],
                          bounce("postfix_dsn_hard", senders[dead], DEAD))
    with app.app_context():
        bounced = fetch(dead)
        assert bounced.state == InvitationState.BOUNCED
        assert bounced.delivery == MessageDelivery.FAILED
        assert bounced.reminder_due_at is None and bounced.last_error == "bounced: 5.1.1"
        assert fetch(alive).state == InvitationState.SENT
        # Every record with the address is undeliverable, nobody else's.
        people = db.session.scalars(select(Complainant)).all()
        assert {p.email: p.email_undeliverable_at is not None for p in people} == {
            DEAD: True, "ayse@example.org": False}
        audits = _audits()
        assert [(action, target) for action, target, _ in audits] == [
            ("bounce_hard", f"invitation:{dead}")] * 2
        assert [detail for _, _, detail in audits] == [{"status": "5.1.1", "changed": True},
                                                       {"status": "5.1.1", "changed": False}]

        # Nothing is e-mailed to the address again: the later invitation goes by SMS, the
        # one of a record without a phone is cancelled, and a new complaint is planned by SMS.
        mails = len(smtp_server.messages)
        result = dispatch_due(now=NOW + dt.timedelta(days=2, hours=1))  # before reminders
        assert (result.sent, result.cancelled) == (1, 1)
        assert len(smtp_server.messages) == mails
        assert fetch(later).channel == InvitationChannel.SMS
        assert [r["json"]["reference"].split("@")[0] for r in gateway.requests] == [
            f"memnun.invitation.{later}"]
        assert (fetch(no_phone).state, fetch(no_phone).suppression_reason) == (
            InvitationState.CANCELLED, SuppressionReason.NO_CONTACT)
        complaint = make_complaint(email=DEAD, phone="+90 532 000 00 02",
                                   resolved_at=NOW + dt.timedelta(days=3))
        db.session.commit()
        planned = plan_for_resolution(complaint, now=NOW + dt.timedelta(days=3))
        assert planned is not None and planned.channel == InvitationChannel.SMS


def test_a_soft_bounce_sends_again_with_the_backoff(receiver: Any, smtp_server: Any) -> None:
    app, controller = receiver
    with app.app_context():
        full = planned_invitation(app, NOW, email="full@example.org")
        assert dispatch_due(now=NOW).sent == 1
    sender = smtp_server.senders[0]
    _bounce_over_smtp(controller, sender, bounce("dsn_soft_mailbox_full", sender,
                                                 "full@example.org"))
    with app.app_context():
        again = fetch(full)
        assert again.state == InvitationState.PLANNED and again.delivery is None
        assert again.last_error == "soft bounce: 4.2.2"
        assert again.due_at is not None and again.due_at > NOW
        assert db.session.get(Complainant, again.complaint.complainant_id
                              ).email_undeliverable_at is None
        assert dispatch_due(now=again.due_at + dt.timedelta(minutes=1)).sent == 1
        assert fetch(full).state == InvitationState.SENT and fetch(full).attempts == 2
        assert [action for action, _, _ in _audits()] == ["bounce_soft"]
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[0]["Message-ID"] == smtp_server.messages[1]["Message-ID"]


def test_bounces_read_takes_a_piped_message(make_app: Any, smtp_server: Any) -> None:
    app = make_app(**smtp_config(smtp_server), MEMNUN_BOUNCE_ADDRESS=BOUNCES)
    with app.app_context():
        invitation = planned_invitation(app, NOW, email=DEAD)
        assert dispatch_due(now=NOW).sent == 1
    sender = smtp_server.senders[0]
    runner = app.test_cli_runner()
    # Mail to another address of the domain is none of ours (EX_NOUSER).
    stray = runner.invoke(args=["bounces", "read", "--recipient", "bounces@mail.memnun.test"],
                          input=bounce("gmail_dsn_hard", "bounces@mail.memnun.test", DEAD))
    assert stray.exit_code == 67
    # Exchange's own format, the return path found in the message's headers.
    taken = runner.invoke(args=["bounces", "read"], input=bounce("exchange_hard", sender, DEAD))
    assert taken.exit_code == 0, taken.output
    assert f"invitation {invitation}: hard bounce taken" in taken.output
    with app.app_context():
        assert fetch(invitation).state == InvitationState.BOUNCED
        # The audit keeps no address and no text of the message.
        assert all(DEAD not in str(detail) and "recipient" not in str(detail)
                   for _, _, detail in _audits())


def test_staff_mail_keeps_its_sender(make_app: Any, smtp_server: Any) -> None:
    from app.distribution.mail import SmtpBackend

    app = make_app(**smtp_config(smtp_server), MEMNUN_BOUNCE_ADDRESS=BOUNCES)
    raw = b"From: Memnun <no-reply@memnun.test>\r\nTo: staff@example.org\r\nSubject: x\r\n\r\nx\r\n"
    with app.app_context(), SmtpBackend.from_config(app.config) as backend:
        backend.send(message_from_bytes(raw), invitation_id=0)
    assert smtp_server.senders == ["no-reply@memnun.test"]
