"""Invitations that did and did not arrive, in January 2025 (UTC) or the month from a given
day, counted by hand.

fen (rule ``after-resolution``, but its answered one): one answered e-mail, one e-mail that
bounced for good, one e-mail sent, one SMS the gateway reported failed, one it reported
delivered. park (no rule): one answered e-mail, one sent. So 7 sent, 2 answered, 2 not
delivered (one e-mail of 5, one SMS of 2; 2 of the rule's 4, none of the 3 without a rule):
response rate 2 of 5 delivered, bounce rate 2 of 7 sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update

from app.distribution.receipts import Report, take_reports
from app.extensions import db
from app.models import (
    DistributionRule,
    Invitation,
    InvitationChannel,
    InvitationState,
    MessageDelivery,
)
from tests.support.datasets.analytics import Builder

JANUARY = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))


@dataclass(frozen=True)
class Delivered:
    builder: Builder
    rule_id: int
    bounced_id: int  # fen's e-mail that bounced


def bounce(invitation_id: int) -> None:
    """What a hard bounce writes (``app.distribution.bounces``), in one UPDATE."""
    db.session.execute(update(Invitation).where(Invitation.id == invitation_id).values(
        state=InvitationState.BOUNCED, delivery=MessageDelivery.FAILED))
    db.session.commit()


def build_delivered(first: dt.datetime = JANUARY[0]) -> Delivered:
    """The invitations above, sent in the 12 days from ``first``, the bounce and the gateway's
    two reports taken; committed."""
    def at(_year: int, _month: int, day: int) -> dt.datetime:
        return first + dt.timedelta(days=day - 1, hours=12)

    builder = Builder().setup()
    rule = DistributionRule(key="after-resolution",
                            questionnaire_id=builder.version.questionnaire_id)
    db.session.add(rule)
    builder.response("fen", at(2025, 1, 10), 5)
    builder.response("park", at(2025, 1, 12), 4)
    builder.invitation("park", at(2025, 1, 8))
    bounced, sent, failed, delivered = (builder.invitation("fen", at(2025, 1, day))
                                        for day in (6, 6, 7, 7))
    for invitation in (bounced, sent, failed, delivered):
        invitation.rule = rule
    for invitation in (failed, delivered):
        invitation.channel = InvitationChannel.SMS
    db.session.commit()
    bounce(bounced.id)
    take_reports([Report(failed.id, False, MessageDelivery.FAILED, "EC_ABSENT_SUBSCRIBER"),
                  Report(delivered.id, False, MessageDelivery.DELIVERED, "delivered")])
    return Delivered(builder, rule.id, bounced.id)
