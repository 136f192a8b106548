"""Walk-in service points: a desk or branch with a QR code that opens a short survey.

A walk-in answer has no invitation and no person: it is a ``response`` with ``mode`` walk_in and
``service_point_id`` set. The point's link code is derived from the secret key, the point and
its ``generation`` (``app.walkin.codes``), so a poster can be printed again at any time, and only
its SHA-256 hash is stored; regenerating raises the generation, which ends the old code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Unit
from app.models.questionnaire import Questionnaire
from app.models.types import UTCDateTime, utcnow


class ServicePoint(db.Model):
    """A unit's service point (a desk, a branch) with the link code of its poster."""

    __tablename__ = "service_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    # SHA-256 of the current link code; a new code replaces it (and ends the old one).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    regenerated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship()
    questionnaire: Mapped[Questionnaire] = relationship()


class WalkInDevice(db.Model):
    """That a device answered at a service point on a day: a keyed hash of its address and
    browser for that day only (never the address), kept apart from the answers and deleted
    after two days. It backs up the signed cookie when a visitor clears it."""

    __tablename__ = "walk_in_device"
    __table_args__ = (UniqueConstraint("service_point_id", "day", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_point_id: Mapped[int] = mapped_column(
        ForeignKey("service_point.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
