"""Taking bounces: the one service behind ``memnun bounces read`` and ``memnun bounces serve``.

A message that came back to an invitation's return path (``verp``) is classified
(``bounce_parser``, on flufl.bounce) and then:

- hard bounce: the invitation becomes ``bounced`` (if it was still sent, reminded, or planned
  again after a soft bounce, and is not answered), its delivery ``failed`` (so it leaves the
  response rate's denominator), no reminder; the address is marked undeliverable on every
  complainant record that has it, so nothing more is e-mailed to it: the planner and the
  dispatcher use the SMS channel instead where the person has a phone (``channels.reaching``,
  ``dispatcher._fall_back``), else plan nothing.
- soft bounce: the invitation's own message is sent again as a temporary failure of the
  dispatcher would be (``MEMNUN_MAX_SEND_ATTEMPTS``, doubling backoff: Memnun has one retry
  rule for all rules), then ``failed``.
- a delay warning, an auto-reply, or anything else: nothing changes.

Every hard and soft bounce taken is audited (invitation, kind and status codes only). Nothing
of the message is stored or logged: not the addresses, not the text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.distribution.bounce_parser import Classified, classify
from app.distribution.dispatcher import backoff
from app.distribution.verp import invitation_of
from app.emails import email_key
from app.extensions import db
from app.models import (
    AuditLog,
    Complainant,
    Invitation,
    InvitationChannel,
    InvitationState,
    MessageDelivery,
)
from app.models.types import utcnow

log = logging.getLogger(__name__)

# Where a hard bounce can still change something: the survey is out and not answered, or it
# waits to go again after a soft bounce.
BOUNCEABLE = (InvitationState.SENT.value, InvitationState.REMINDED.value,
              InvitationState.PLANNED.value)
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To")


@dataclass(frozen=True)
class Outcome:
    """What one message did: its kind, the invitation (None: not one of our return paths),
    and whether the invitation changed."""

    kind: str
    invitation_id: int | None = None
    changed: bool = False


def recipients_in(message: Message) -> list[str]:
    """The addresses a piped message was delivered to, as the MTA wrote them in its headers
    (for ``bounces read`` without ``--recipient``)."""
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        for value in message.get_all(name, []):
            found += [part.strip() for part in str(value).replace(";", ",").split(",")]
    return found


def _audit(kind: str, invitation_id: int, result: Classified, changed: bool) -> None:
    db.session.add(AuditLog(actor="mail-server", action=f"bounce_{kind}",
                            target=f"invitation:{invitation_id}",
                            detail={"status": result.status, "changed": changed}))


def _hard(invitation: Invitation, result: Classified) -> bool:
    now = utcnow()
    c = Invitation.__table__.c
    changed = db.session.execute(
        update(Invitation.__table__)
        .where(c.id == invitation.id, c.state.in_(BOUNCEABLE), c.responded_at.is_(None),
               c.channel == InvitationChannel.EMAIL.value)
        .values(state=InvitationState.BOUNCED.value, delivery=MessageDelivery.FAILED.value,
                delivery_reported_at=now, reminder_due_at=None, claimed_until=None,
                last_error=f"bounced: {result.status}")
    ).rowcount
    person = invitation.person
    if person is not None and person.email:
        # Every record with this address: integrations often make one per complaint.
        db.session.execute(
            update(Complainant)
            .where(Complainant.email == email_key(person.email),
                   Complainant.email_undeliverable_at.is_(None))
            .values(email_undeliverable_at=now)
            .execution_options(synchronize_session=False)
        )
    return bool(changed)


def _soft(invitation: Invitation, result: Classified, config: Any) -> bool:
    now = utcnow()
    c = Invitation.__table__.c
    attempts = invitation.attempts or 0
    give_up = attempts >= int(config.get("MEMNUN_MAX_SEND_ATTEMPTS") or 8)
    error = f"soft bounce: {result.status}"
    values: dict[str, Any] = {"last_error": error, "reminder_due_at": None,
                              "claimed_until": None, "handed_over_at": None}
    if give_up:
        values["state"] = InvitationState.FAILED.value
    else:
        values.update(state=InvitationState.PLANNED.value, due_at=now + backoff(attempts))
    changed = db.session.execute(
        update(Invitation.__table__)
        .where(c.id == invitation.id, c.state == InvitationState.SENT.value,
               c.responded_at.is_(None), c.channel == InvitationChannel.EMAIL.value)
        .values(values)
    ).rowcount
    return bool(changed)


def take_bounce(raw: bytes, recipients: Iterable[str] = ()) -> Outcome:
    """Take one message that came back (``raw``, as received) for ``recipients`` (its envelope
    recipients; the message's own headers when none are given)."""
    message = message_from_bytes(raw)
    addresses = list(recipients) or recipients_in(message)
    config = current_app.config
    invitation_id = invitation_of(config, addresses)
    invitation = (db.session.scalar(select(Invitation).where(Invitation.id == invitation_id))
                  if invitation_id is not None else None)
    if invitation is None:
        log.info("mail to no genuine return path: ignored")
        return Outcome("not_ours")
    result = classify(message)
    if result.kind not in ("hard", "soft"):
        log.info("invitation %s: %s came back, nothing to do", invitation.id, result.kind)
        return Outcome(result.kind, invitation.id)
    changed = (_hard(invitation, result) if result.kind == "hard"
               else _soft(invitation, result, config))
    _audit(result.kind, invitation.id, result, changed)
    db.session.commit()
    log.info("invitation %s: %s bounce (%s), %s", invitation.id, result.kind, result.status,
             "taken" if changed else "nothing left to change")
    return Outcome(result.kind, invitation.id, changed)
