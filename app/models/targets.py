"""Metric targets for alerts, and service volumes to turn complaint counts into rates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Target(db.Model):
    """The level a metric should reach; ``unit_id`` null means the whole organisation."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("unit_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)


class ServiceVolume(db.Model):
    """Transactions a unit handled in a month (for complaints per 1,000 transactions)."""

    __tablename__ = "service_volume"
    __table_args__ = (UniqueConstraint("unit_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    transactions: Mapped[int]
