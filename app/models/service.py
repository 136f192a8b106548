"""The services the organisation delivers, each delivery to a person, and periodic campaigns.

ISO 10004 measures the satisfaction of everyone served, not only of those who complained: a
service event says that a service was delivered to a person (a permit issued, a desk visit, a
call), and may start a survey as a resolved complaint does. The person is a ``complainant`` row
(the one personal-data store, purged and erased the same way), whatever brought them here.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.complaint import Complainant
from app.models.organisation import Channel, Unit
from app.models.questionnaire import Questionnaire
from app.models.types import UTCDateTime, str_enum, utcnow


class Service(db.Model):
    """A service of the catalogue (a tree, like complaint categories)."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), index=True)

    parent: Mapped[Service | None] = relationship(remote_side="Service.id")


class ServiceEvent(db.Model):
    """One delivery of a service to a person, reported by the organisation's systems."""

    __tablename__ = "service_event"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Volumes and campaign samples count events by unit and time.
        Index("ix_service_event_unit_occurred", "unit_id", "occurred_at"),
        Index("ix_service_event_service_occurred", "service_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), default="default")
    external_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    complainant_id: Mapped[int | None] = mapped_column(ForeignKey("complainant.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
    person: Mapped[Complainant | None] = relationship()


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    CLOSED = "closed"


class Campaign(db.Model):
    """A periodic survey of a random sample of the people served in a past period, stratified
    by unit, each unit's sample sized from the target margin of error and the expected
    response rate."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    # The people served from served_from up to (not including) served_until are sampled.
    served_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    served_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    margin_of_error: Mapped[float] = mapped_column(Float, default=0.05)
    expected_response_rate: Mapped[float] = mapped_column(Float, default=0.3)
    state: Mapped[CampaignState] = mapped_column(
        str_enum(CampaignState, "campaign_state"), default=CampaignState.DRAFT)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship()
