"""The channels a survey invitation can go by, in one registry: e-mail, SMS, and the phone.

A channel says how a person is reached (the address or number, normalised as it is compared),
which column holds that contact (for opt-outs and survey fatigue, which follow the person, not
the complaint), whether it can be used with this configuration, how its message is built and
which backend hands the message over. The planner picks the first usable channel in
``CHANNELS`` order; the dispatcher asks the invitation's channel for its message and backend.
A new channel is one more entry here, with its ``InvitationChannel`` value and a backend with
the ``MailBackend`` interface (``send``, ``close``). The phone is here for its contact (opt-outs,
fatigue and wrong numbers follow the number) but is never configured for sending: the planner
picks it only by a rule's ``phone_use`` (``calling``), and people make the calls (app/phone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

from app.distribution.mail import MailBackend, get_backend
from app.distribution.messages import MessageBuilder, build_message
from app.distribution.sms import SmsMessage, build_sms, get_sms_backend, sms_configured
from app.emails import email_key
from app.models import Complainant, Invitation, InvitationChannel

OutgoingMessage = Message | SmsMessage


def _email_of(person: Complainant) -> str:
    return email_key(person.email) if person.email else ""


def _phone_of(person: Complainant) -> str:
    return (person.phone or "").strip()


def _email_message(invitation: Invitation, token: str, reminder: bool, now: dt.datetime,
                   builder: MessageBuilder) -> OutgoingMessage:
    return build_message(invitation, token, reminder=reminder, now=now, builder=builder)


def _sms_message(invitation: Invitation, token: str, reminder: bool, now: dt.datetime,
                 builder: MessageBuilder) -> OutgoingMessage:
    return build_sms(invitation, token, reminder=reminder)


@dataclass(frozen=True)
class Channel:
    """One way to send an invitation (see the module)."""

    kind: InvitationChannel
    #: The person's address or number, as compared; "" when they have none.
    contact_of: Callable[[Complainant], str]
    #: The SQL expression of a complainant row's contact, comparable with ``contact_of``.
    contact_column: Callable[[], ColumnElement[Any]]
    #: Whether this configuration can send by this channel at all.
    configured: Callable[[Any], bool]
    #: The invitation's (or its reminder's) message.
    message: Callable[[Invitation, str, bool, dt.datetime, MessageBuilder], OutgoingMessage]
    #: The backend that hands messages over, opened for one dispatcher pass.
    backend: Callable[[Any], MailBackend]
    #: SQL: the row's contact is known not to work (a hard bounce); None: never known.
    dead_column: Callable[[], ColumnElement[bool]] | None = None


EMAIL = Channel(
    kind=InvitationChannel.EMAIL,
    contact_of=_email_of,
    contact_column=lambda: Complainant.email,  # stored as email_key gives it
    configured=lambda config: True,  # the file backend always works
    message=_email_message,
    backend=get_backend,
    dead_column=lambda: Complainant.email_undeliverable_at.is_not(None),
)
SMS = Channel(
    kind=InvitationChannel.SMS,
    contact_of=_phone_of,
    contact_column=lambda: Complainant.phone,
    configured=sms_configured,
    message=_sms_message,
    backend=get_sms_backend,
    dead_column=lambda: Complainant.phone_wrong_at.is_not(None),
)



def _no_message(invitation: Invitation, token: str, reminder: bool, now: dt.datetime,
                builder: MessageBuilder) -> OutgoingMessage:
    raise RuntimeError("an invitation by phone is a call made by a person, never a message")


def _no_backend(config: Any) -> MailBackend:
    raise RuntimeError("an invitation by phone is a call made by a person, never a message")


PHONE = Channel(
    kind=InvitationChannel.PHONE,
    contact_of=_phone_of,
    contact_column=lambda: Complainant.phone,
    configured=lambda config: False,  # never sent: reaching() and reachable() pass it over
    message=_no_message,
    backend=_no_backend,
    dead_column=lambda: Complainant.phone_wrong_at.is_not(None),
)

#: Every channel, in the order the planner prefers them.
CHANNELS: dict[InvitationChannel, Channel] = {EMAIL.kind: EMAIL, SMS.kind: SMS,
                                              PHONE.kind: PHONE}


def channel(kind: InvitationChannel | str) -> Channel:
    """The channel an invitation's ``channel`` column names."""
    return CHANNELS[InvitationChannel(kind)]


def dead(person: Complainant, kind: InvitationChannel | str) -> bool:
    """Whether ``person``'s contact for ``kind`` is known not to work: an e-mail address that
    bounced for good (app.distribution.bounces), a phone number an interviewer found wrong
    (app.phone). Nothing goes to it any more."""
    if InvitationChannel(kind) == InvitationChannel.EMAIL:
        return person.email_undeliverable_at is not None
    return person.phone_wrong_at is not None


def reaching(person: Complainant, config: Any) -> InvitationChannel | None:
    """The first channel that can reach ``person`` with ``config``; None: no contact. An
    address that bounced is passed over: the SMS channel is the fallback where there is a
    phone."""
    for candidate in CHANNELS.values():
        if (candidate.contact_of(person) and candidate.configured(config)
                and not dead(person, candidate.kind)):
            return candidate.kind
    return None


def contact(person: Complainant | None, kind: InvitationChannel | str) -> str:
    """Where an invitation by ``kind`` goes for ``person``; "" when nowhere (none, erased, or
    an address that bounced)."""
    if person is None or person.erased_at is not None or dead(person, kind):
        return ""
    return channel(kind).contact_of(person)


def same_contact(person: Complainant, kind: InvitationChannel | str) -> ColumnElement[bool]:
    """Complainant rows reached at the same address (or number) as ``person`` by ``kind``: one
    human may have many complaints, and each complaint its own complainant row."""
    chosen = channel(kind)
    return chosen.contact_column() == chosen.contact_of(person)


def reachable(config: Any) -> ColumnElement[bool]:
    """SQL: the complainant row has a contact that some usable channel can send to."""
    usable = [c for c in CHANNELS.values() if c.configured(config)]

    def has(c: Channel) -> ColumnElement[bool]:
        present = func.coalesce(func.trim(c.contact_column()), "") != ""
        return present if c.dead_column is None else and_(present, ~c.dead_column())

    return or_(*(has(c) for c in usable))
