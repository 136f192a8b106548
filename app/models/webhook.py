"""Webhooks an admin registered, and the outbox of their deliveries.

The secret is kept as the admin gave it (or as it was generated for them): every delivery is
signed with it, so it must be usable, unlike API keys, which are only ever compared and so are
stored as a hash. It is shown once, when the webhook is registered, and never again on any page,
API answer or log line.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow


class Webhook(db.Model):
    """A receiver: every event of a type in ``events`` is POSTed to ``url``, signed."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True
    )


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its first try or for the next retry
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up after the last allowed attempt


class WebhookDelivery(db.Model):
    """One event for one webhook: the outbox row the delivery job works from.

    ``claimed_until`` is a lease, as for invitations: a delivery job claims a row before it
    POSTs, and a job that dies leaves a lease that runs out, so the row is tried again. A
    receiver may therefore see an event twice; ``event_id`` (also sent as a header) lets it
    drop the copy.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")
