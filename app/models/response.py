"""Survey responses and their answers (long format, so the database can aggregate)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Float, ForeignKey, Index, String, Text, false, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Channel
from app.models.types import UTCDateTime, str_enum, utcnow


class ResponseSource(enum.StrEnum):
    """Whom a response speaks for: a complainant about the handling of their complaint, a
    service user after a service event, or a person sampled by a campaign."""

    COMPLAINANT = "complainant"
    SERVICE_USER = "service_user"
    CAMPAIGN = "campaign"


class ResponseMode(enum.StrEnum):
    """How the answers were given: phone answers are known to run higher than web ones, so
    figures can be split and filtered by mode."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    WALK_IN = "walk_in"

    @classmethod
    def answering(cls, channel: str) -> ResponseMode:
        """The mode of an answer to an invitation sent by ``channel`` (an
        ``InvitationChannel``: email, sms or phone): each channel is its own mode."""
        return cls(str(channel))


class Response(db.Model):
    """At most one per invitation, enforced by the database; a walk-in response has none.

    Unit, category (or service), channel and questionnaire are copied from the complaint (or
    service event) and the version at submission time: analytics aggregates responses without
    joining through personal data, and a response keeps the segment it was given in even if a
    complaint is later moved. ``held`` keeps a response out of every figure until a person
    accepts it (a walk-in burst that looks like stuffing); ``held_reason`` says why.
    """

    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_unit_submitted", "unit_id", "submitted_at"),
        Index("ix_response_questionnaire_submitted", "questionnaire_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    service_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_event.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    source: Mapped[ResponseSource] = mapped_column(
        str_enum(ResponseSource, "response_source"),
        default=ResponseSource.COMPLAINANT,
        server_default=ResponseSource.COMPLAINANT.value,
    )
    mode: Mapped[ResponseMode] = mapped_column(
        str_enum(ResponseMode, "response_mode"),
        default=ResponseMode.EMAIL,
        server_default=ResponseMode.EMAIL.value,
    )
    # The walk-in service point whose QR code the answers came through.
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_point.id"), index=True)
    # The staff member who recorded a phone interview's answers.
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    held_reason: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    answers: Mapped[list[Answer]] = relationship(back_populates="response")


class Answer(db.Model):
    """One answer. ``question_type`` and ``attribute`` are copied from the version so that
    metrics can select answers in SQL (e.g. every overall 1-5 rating) without parsing documents."""

    __tablename__ = "answer"
    __table_args__ = (
        Index("ix_answer_key_response", "question_key", "response_id"),
        # The comments explorer's search (``app.wordforms``); SQLite scans with LIKE instead.
        Index("ix_answer_search_terms",
              func.to_tsvector(literal_column("'simple'"), literal_column("search_terms")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    question_key: Mapped[str] = mapped_column(String(64))
    question_type: Mapped[str] = mapped_column(String(32))
    attribute: Mapped[str | None] = mapped_column(String(64))
    value_number: Mapped[float | None] = mapped_column(Float)
    value_choice: Mapped[str | None] = mapped_column(String(200))
    value_text: Mapped[str | None] = mapped_column(Text)
    #: A text answer's stems in its response's language, space-separated with a space at
    #: either end (``app.wordforms.search_terms``): what the comments explorer searches.
    search_terms: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")
