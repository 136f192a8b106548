"""Phone interviews: each call the satisfaction team makes for an invitation by phone."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow


class PhoneUse(enum.StrEnum):
    """Whether and when a distribution rule has people called instead of (or after) a message.

    ``everyone``: every matched person with a phone number is called; ``phone_only``: those
    with a phone number and no e-mail address are called rather than sent an SMS; ``fallback``:
    e-mail or SMS first, and a call when the link expired unanswered (and for people with only a
    phone number when no SMS gateway is set up)."""

    OFF = "off"
    EVERYONE = "everyone"
    PHONE_ONLY = "phone_only"
    FALLBACK = "fallback"


class CallOutcome(enum.StrEnum):
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CALL_BACK = "call_back"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    COMPLETED = "completed"


#: Outcomes that count against the rule's maximum of attempts.
FAILED_OUTCOMES = (CallOutcome.NO_ANSWER, CallOutcome.BUSY)


class CallAttempt(db.Model):
    """One call for one invitation by phone, and how it ended. ``note`` is the interviewer's
    own words (it may name people: cleared by erasure like other free text)."""

    __tablename__ = "call_attempt"
    __table_args__ = (Index("ix_call_attempt_invitation_at", "invitation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[CallOutcome] = mapped_column(str_enum(CallOutcome, "call_outcome"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    call_back_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
