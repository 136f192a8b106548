"""Firing events: one delivery row per subscribed, active webhook, committed at once."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Response, Webhook, WebhookDelivery
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


def enqueue_webhook(event_type: str, payload: dict[str, Any]) -> int:
    """Queue ``payload`` (a JSON-serialisable object) as an ``event_type`` event for every
    webhook subscribed to it; commits and returns how many deliveries were queued.

    Returns at once: nothing is sent here. Raises ValueError for an unknown event type.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    targets = subscribers(event_type)
    if not targets:
        return 0
    event = envelope(event_type, payload)
    now = utcnow()
    for webhook in targets:
        db.session.add(WebhookDelivery(
            webhook_id=webhook.id, event_id=event["id"], event_type=event_type, payload=event,
            next_attempt_at=now, attempts=0,
        ))
    db.session.commit()
    log.info("webhook event %s (%s) queued for %s webhook(s)", event["id"], event_type,
             len(targets))
    return len(targets)


def response_created(response: Response) -> None:
    """Queue ``response.created`` for a response that was just committed.

    Never raises: the respondent's answer is stored already, and a webhook problem must not turn
    their thank-you page into an error. A failure is logged (ids only) and rolled back.
    """
    response_id = response.id
    try:
        if not subscribers(RESPONSE_CREATED):
            return
        from app.documents import response_document, response_with_context

        found = response_with_context(response_id)
        if found is None:
            return
        enqueue_webhook(RESPONSE_CREATED, response_document(*found, include_free_text=False))
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not queue the webhooks of response %s", response_id)
        db.session.rollback()
