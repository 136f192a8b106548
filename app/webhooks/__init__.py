"""Webhooks: signed JSON POSTs to the receivers an admin registered, through an outbox.

Firing an event (``enqueue_webhook``) only writes one ``webhook_delivery`` row per subscribed
webhook, so it never waits for a receiver; the delivery job (``deliver_due_webhooks``, on the
job table of ``app.scheduler``) POSTs due rows, and retries failures with exponential backoff.
The admin pages are ``views``.

Who fires what: the respond service fires ``response.created`` for every new response (a
link's, a phone interview's and a walk-in answer's, all through
``app.respond.services.commit_with_hooks``), and the follow-up service (``app.followup``)
``response.low_score``; both events are built (``PendingEvent``) inside the response's
transaction and queued (``queue_safely``) after it.
"""

from app.webhooks.delivery import DeliveryResult, deliver_due_webhooks, sign
from app.webhooks.outbox import (
    EVENT_TYPES,
    LOW_SCORE,
    RESPONSE_CREATED,
    PendingEvent,
    enqueue_webhook,
    queue_event,
    queue_safely,
    subscribed,
)

__all__ = [
    "EVENT_TYPES",
    "LOW_SCORE",
    "RESPONSE_CREATED",
    "DeliveryResult",
    "deliver_due_webhooks",
    "PendingEvent",
    "enqueue_webhook",
    "queue_event",
    "queue_safely",
    "subscribed",
    "sign",
]
