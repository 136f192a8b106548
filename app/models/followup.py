"""The closed loop: responses that need a call back, their notes, and the alert digest's runs.

A low score or a "not resolved" answer puts the response on the unit's follow-up list
(``app.followup``): a complainant's, or a service user's (a response about a service event: no
complaint; what it is about is the response's ``service_event_id``). The list holds ids and a
reason only: the person's contact data stays in ``Complainant`` (so a purge there reaches it)
and is shown only to admins.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow


class FollowUpState(enum.StrEnum):
    OPEN = "open"  # nobody has called the complainant back yet
    CONTACTED = "contacted"  # someone talked to them; the matter may still be going on
    CLOSED = "closed"  # nothing left to do


class FollowUpReason(enum.StrEnum):
    LOW_SCORE = "low_score"  # overall satisfaction 1 or 2 of 5
    DETRACTOR = "detractor"  # likelihood to recommend 0-6 of 10
    NOT_RESOLVED = "not_resolved"  # "was your problem really solved?" answered no


class FollowUp(db.Model):
    """One response on a unit's follow-up list (at most one per response)."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_unit_state", "unit_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), unique=True)
    #: None: a service user's answer; the follow-up is about its response's service event.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: Why the response is on the list: ``FollowUpReason`` values joined by commas, most
    #: serious first (a response can be a low score and not resolved at once).
    reason: Mapped[str] = mapped_column(String(100))
    state: Mapped[FollowUpState] = mapped_column(
        str_enum(FollowUpState, "follow_up_state"), default=FollowUpState.OPEN
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    contacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    notes: Mapped[list[FollowUpNote]] = relationship(
        back_populates="follow_up", order_by="FollowUpNote.at, FollowUpNote.id",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    @property
    def reasons(self) -> list[FollowUpReason]:
        return [FollowUpReason(code) for code in self.reason.split(",") if code]


class FollowUpNote(db.Model):
    """What someone did or learnt while following a response up. Notes are never edited."""

    __tablename__ = "follow_up_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up.id", ondelete="CASCADE"), index=True
    )
    # SET NULL: removing a staff account must not remove what they wrote.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    follow_up: Mapped[FollowUp] = relationship(back_populates="notes")


class AlertDigestRun(db.Model):
    """One weekly alert digest, claimed by the first scheduler that gets to it.

    Several ``memnun scheduler`` processes may run the weekly job; the unique ``week`` (ISO week,
    e.g. ``2026-W47``) lets exactly one of them send that week's digest.
    """

    __tablename__ = "alert_digest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    messages: Mapped[int] = mapped_column(default=0)
