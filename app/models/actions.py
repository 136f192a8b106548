"""Improvement actions: what management decided to do about a metric, for the management review.

ISO 10002 (8.7) and ISO 10004 ask the review to look at the actions taken against the targets.
An action addresses one metric (a target's metric, or ``complaints`` for complaint frequency) for a
unit, or for the whole organisation when ``unit_id`` is null. ``owner`` names a member of staff or
a role in free text: never a complainant, so no personal data of theirs lives here.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Unit
from app.models.types import UTCDateTime, str_enum, utcnow

#: The metrics an action can address: the targets' metrics, and complaint frequency.
ACTION_METRICS = ("csat", "nps", "response_rate", "on_time_resolution", "resolution_confirmed",
                  "complaints")


class ActionStatus(enum.StrEnum):
    OPEN = "open"  # decided, not started
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"  # decided against it; kept so that the review sees why


class ImprovementAction(db.Model):
    """One action management took against a metric; ``closed_at`` is set while done or dropped."""

    __tablename__ = "improvement_action"
    __table_args__ = (Index("ix_improvement_action_unit_metric", "unit_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    metric: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(
        str_enum(ActionStatus, "action_status"), default=ActionStatus.OPEN, index=True
    )
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)

    unit: Mapped[Unit | None] = relationship()

    @property
    def closed(self) -> bool:
        return self.status in (ActionStatus.DONE, ActionStatus.DROPPED)

    def overdue(self, today: dt.date) -> bool:
        """Still to do and its due date has passed."""
        return not self.closed and self.due_on is not None and self.due_on < today
