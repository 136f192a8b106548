"""Distribution rules and invitations (the outbox)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.complaint import Complainant, Complaint
from app.models.phone import PhoneUse
from app.models.questionnaire import Questionnaire, QuestionnaireVersion
from app.models.service import Campaign, ServiceEvent
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.response import Response

# A rule's reminder unless it says otherwise, and the reminder of every campaign invitation
# (a campaign has no rule to say it).
DEFAULT_REMINDER_AFTER_MINUTES = 3 * 24 * 60


class RuleTrigger(enum.StrEnum):
    """What starts a rule's survey: a complaint resolved, or a service delivered."""

    COMPLAINT_RESOLVED = "complaint_resolved"
    SERVICE_EVENT = "service_event"


class DistributionRule(db.Model):
    """Which resolved complaints (or service events) get which questionnaire, when, how often."""

    __tablename__ = "distribution_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    triggered_by: Mapped[RuleTrigger] = mapped_column(
        str_enum(RuleTrigger, "rule_trigger"),
        default=RuleTrigger.COMPLAINT_RESOLVED,
        server_default=RuleTrigger.COMPLAINT_RESOLVED.value,
    )
    # Filters hold codes; an empty list matches everything. Service codes apply to rules on
    # service events, category codes to rules on complaints.
    service_codes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    category_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    delay_minutes: Mapped[int] = mapped_column(default=24 * 60)
    reminder_after_minutes: Mapped[int] = mapped_column(default=DEFAULT_REMINDER_AFTER_MINUTES)
    expires_after_minutes: Mapped[int] = mapped_column(default=14 * 24 * 60)
    sample_rate: Mapped[float] = mapped_column(Float, default=1.0)
    fatigue_days: Mapped[int] = mapped_column(default=30)
    send_window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    send_window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Istanbul")
    active: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=0)
    # Phone interviews (app/phone): whether people are called, how often, how far apart, and in
    # which local hours and ISO weekdays (1 Monday .. 7 Sunday) of ``timezone``.
    phone_use: Mapped[PhoneUse] = mapped_column(
        str_enum(PhoneUse, "phone_use"), default=PhoneUse.OFF, server_default=PhoneUse.OFF.value)
    phone_max_attempts: Mapped[int] = mapped_column(default=3, server_default="3")
    phone_hours_between: Mapped[int] = mapped_column(default=4, server_default="4")
    calling_hours_start: Mapped[str] = mapped_column(
        String(5), default="10:00", server_default="10:00")
    calling_hours_end: Mapped[str] = mapped_column(
        String(5), default="18:00", server_default="18:00")
    calling_days: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: [1, 2, 3, 4, 5], server_default="[1, 2, 3, 4, 5]")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship()


class InvitationState(enum.StrEnum):
    PLANNED = "planned"
    SENT = "sent"
    REMINDED = "reminded"
    RESPONDED = "responded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
    BOUNCED = "bounced"  # the mail came back for good (a hard bounce): the address is dead


class SuppressionReason(enum.StrEnum):
    NO_CONSENT = "no_consent"
    NO_CONTACT = "no_contact"
    OPTED_OUT = "opted_out"
    FATIGUE = "fatigue"
    NOT_SAMPLED = "not_sampled"
    NO_MATCHING_RULE = "no_matching_rule"


class InvitationChannel(enum.StrEnum):
    """How an invitation reaches the person: e-mail, SMS for those with only a phone, or a
    phone interview by the satisfaction team."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"


class MessageDelivery(enum.StrEnum):
    """What became of a sent message after the server or gateway took it (None: not known).

    ``delivered``: the SMS gateway reported it on the phone. ``failed``: it did not arrive (the
    gateway's failure report, or a hard bounce of the e-mail): not counted as delivered, so not
    in the response rate's denominator (docs/design.md, "Metric definitions")."""

    DELIVERED = "delivered"
    FAILED = "failed"


class SurveyAbout(NamedTuple):
    """What an invitation asks about, as its message and survey page name it: the complaint's
    reference and the day it was received, or the service's name and the day it was given."""

    reference: str
    at: dt.datetime
    service: bool


class Invitation(db.Model):
    """One survey for one resolved complaint or one service event (a campaign's too): the
    outbox row the dispatcher works from.

    The survey token is never stored: ``token_hash`` holds its SHA-256 so it can be looked up.
    ``claimed_until`` is the dispatcher's lease; an expired lease means the claim died with its
    process and the row may be claimed again. ``handed_over_at`` is set (committed) before a
    message's final dot and cleared when its outcome is stored: set under an expired lease, a
    copy may be out already (a takeover); unset, the claim died before handing it over.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        Index("ix_invitation_state_due", "state", "due_at"),
        # The response rate counts invitations by the moment they were sent.
        Index("ix_invitation_sent_at", "sent_at"),
        CheckConstraint("complaint_id IS NOT NULL OR service_event_id IS NOT NULL", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    service_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_event.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("distribution_rule.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire_version.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[InvitationState] = mapped_column(
        str_enum(InvitationState, "invitation_state"), default=InvitationState.PLANNED
    )
    suppression_reason: Mapped[SuppressionReason | None] = mapped_column(
        str_enum(SuppressionReason, "suppression_reason")
    )
    language: Mapped[str] = mapped_column(String(8), default="tr")
    channel: Mapped[InvitationChannel] = mapped_column(
        str_enum(InvitationChannel, "invitation_channel"),
        default=InvitationChannel.EMAIL,
        server_default=InvitationChannel.EMAIL.value,
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminder_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The first final delivery report of the invitation's own message, and when it came.
    delivery: Mapped[MessageDelivery | None] = mapped_column(
        str_enum(MessageDelivery, "invitation_delivery"))
    delivery_reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    complaint: Mapped[Complaint | None] = relationship()
    service_event: Mapped[ServiceEvent | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    rule: Mapped[DistributionRule | None] = relationship()
    version: Mapped[QuestionnaireVersion | None] = relationship()
    # Read only: the survey pages load an invitation with its (perhaps partial) response in one
    # query; the respond service writes responses through ``Response.invitation_id``.
    response: Mapped[Response | None] = relationship(
        "Response", viewonly=True, uselist=False, lazy="raise_on_sql"
    )

    @property
    def person(self) -> Complainant | None:
        """Whom the survey asks: the complaint's complainant, or the person served."""
        if self.complaint_id is not None:
            return self.complaint.complainant if self.complaint is not None else None
        return self.service_event.person if self.service_event is not None else None

    @property
    def about(self) -> SurveyAbout:
        if self.complaint_id is not None or self.service_event_id is None:
            return SurveyAbout(self.complaint.external_id, self.complaint.received_at, False)
        event = self.service_event
        return SurveyAbout(event.service.name, event.occurred_at, True)
