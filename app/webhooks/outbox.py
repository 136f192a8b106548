"""Firing events: one delivery row per subscribed, active webhook, committed at once."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Webhook, WebhookDelivery
from app.models.types import utcnow

log = logging.getLogger(__name__)

RESPONSE_CREATED = "response.created"
LOW_SCORE = "response.low_score"
#: The events a webhook may subscribe to, with what each one carries.
EVENT_TYPES = {
    RESPONSE_CREATED: _l("A survey response was submitted; data: the response as GET "
                         "/api/v1/responses gives it to a read key (no free text, no personal "
                         "data)."),
    LOW_SCORE: _l("A response scored under the alert threshold; data: as for "
                  "response.created."),
}


def subscribers(event_type: str) -> list[Webhook]:
    """The active webhooks that subscribed to ``event_type``.

    Webhooks are few (an organisation registers a handful), so the JSON list of events is
    filtered here rather than in SQL, where SQLite and PostgreSQL would need different code.
    """
    webhooks = db.session.scalars(select(Webhook).where(Webhook.active.is_(True)))
    return [webhook for webhook in webhooks if event_type in (webhook.events or [])]


# Built once: a survey POST asks on every response, and building costs more than running it.
_ACTIVE_EVENTS = select(Webhook.id, Webhook.events).where(Webhook.active.is_(True))


def subscribed(*event_types: str) -> dict[str, tuple[int, ...]]:
    """The ids of the active webhooks subscribed to each of ``event_types``, in one query."""
    rows = db.session.execute(_ACTIVE_EVENTS)
    active = [(webhook_id, events or []) for webhook_id, events in rows]
    return {kind: tuple(webhook_id for webhook_id, events in active if kind in events)
            for kind in event_types}


def envelope(
    event_type: str, data: dict[str, Any], at: dt.datetime | None = None
) -> dict[str, Any]:
    """What a receiver gets: the event's id (the same on every retry), type, time and data."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "created_at": (at or utcnow()).isoformat(),
        "data": data,
    }


@dataclass(frozen=True)
class PendingEvent:
    """An event whose receivers and envelope are known: ``queue_event`` writes its deliveries.

    Built inside the transaction that stores what the event is about (see
    ``app.respond.services``), so that nothing is read again after that commit.
    """

    event_type: str
    webhook_ids: tuple[int, ...]
    payload: dict[str, Any]

    @classmethod
    def of(cls, event_type: str, webhook_ids: tuple[int, ...],
           data: dict[str, Any]) -> PendingEvent | None:
        """The event, or None when no webhook listens to it."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
        return cls(event_type, webhook_ids, envelope(event_type, data)) if webhook_ids else None


def queue_event(event: PendingEvent) -> int:
    """Write one delivery row per receiver of ``event`` and commit; how many were queued."""
    now = utcnow()
    for webhook_id in event.webhook_ids:
        db.session.add(WebhookDelivery(
            webhook_id=webhook_id, event_id=event.payload["id"], event_type=event.event_type,
            payload=event.payload, next_attempt_at=now, attempts=0,
        ))
    db.session.commit()
    log.info("webhook event %s (%s) queued for %s webhook(s)", event.payload["id"],
             event.event_type, len(event.webhook_ids))
    return len(event.webhook_ids)


def enqueue_webhook(event_type: str, payload: dict[str, Any]) -> int:
    """Queue ``payload`` (a JSON-serialisable object) as an ``event_type`` event for every
    webhook subscribed to it; commits and returns how many deliveries were queued.

    Returns at once: nothing is sent here. Raises ValueError for an unknown event type.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event = PendingEvent.of(event_type, subscribed(event_type)[event_type], payload)
    return queue_event(event) if event is not None else 0


def queue_safely(event: PendingEvent | None, about: str) -> None:
    """``queue_event`` for an event about something already committed (``about``: ids only, for
    the log). Never raises: a webhook problem must not turn a respondent's thank-you page into an
    error. A failure is logged and rolled back."""
    if event is None:
        return
    try:
        queue_event(event)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not queue the %s webhooks of %s", event.event_type, about)
        db.session.rollback()
