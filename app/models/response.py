"""Survey responses and their answers (long format, so the database can aggregate)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, String, Text, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Channel
from app.models.types import UTCDateTime, str_enum, utcnow


class Response(db.Model):
    """At most one per invitation, enforced by the database.

    Unit, category, channel and questionnaire are copied from the complaint and the version at
    submission time: analytics aggregates responses without joining through personal data, and
    a response keeps the segment it was given in even if a complaint is later moved.
    """

    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_unit_submitted", "unit_id", "submitted_at"),
        Index("ix_response_questionnaire_submitted", "questionnaire_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
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
