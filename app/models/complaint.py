"""Complainants, complaints and their append-only event history."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Category, Channel, Unit
from app.models.types import UTCDateTime, str_enum, utcnow


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class ComplaintKind(enum.StrEnum):
    """What a record taken in is (ISO 10002 handles complaints; ISO 10004 counts the rest too).

    Only a complaint starts the complaint life cycle; compliments per 1,000 services are an
    indirect indicator of satisfaction beside complaints per 1,000."""

    COMPLAINT = "complaint"
    REQUEST = "request"
    SUGGESTION = "suggestion"
    COMPLIMENT = "compliment"


class EventType(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class Complainant(db.Model):
    """The person behind a complaint. All personal data lives here, so it can be purged."""

    __tablename__ = "complainant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="tr")
    survey_consent: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A hard bounce came back from this address: no e-mail goes to it any more (the SMS
    # channel is used where there is a phone). Set on every record with the same address.
    email_undeliverable_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # An interviewer reached someone else at this number: no call or SMS goes to it any more.
    phone_wrong_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_complaint_unit_received", "unit_id", "received_at"),
        # Timeliness counts complaints by the moment they were resolved.
        Index("ix_complaint_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), default="default")
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[ComplaintKind] = mapped_column(
        str_enum(ComplaintKind, "complaint_kind"),
        default=ComplaintKind.COMPLAINT,
        server_default=ComplaintKind.COMPLAINT.value,
    )
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    complainant_id: Mapped[int | None] = mapped_column(ForeignKey("complainant.id"), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, "complaint_status"), default=ComplaintStatus.RECEIVED
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, index=True
    )

    category: Mapped[Category] = relationship()
    unit: Mapped[Unit] = relationship()
    complainant: Mapped[Complainant | None] = relationship()
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.at, ComplaintEvent.id"
    )

    @property
    def resolved_on_time(self) -> bool | None:
        if self.resolved_at is None or self.due_at is None:
            return None
        return self.resolved_at <= self.due_at


class ComplaintEvent(db.Model):
    """Append-only history of a complaint: never updated, never deleted."""

    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    type: Mapped[EventType] = mapped_column(str_enum(EventType, "event_type"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
