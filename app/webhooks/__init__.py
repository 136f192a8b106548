"""Webhooks: signed JSON POSTs to the receivers an admin registered, through an outbox.

Firing an event (``enqueue_webhook``) only writes one ``webhook_delivery`` row per subscribed
webhook, so it never waits for a receiver; the delivery job (``deliver_due_webhooks``, on the
job table of ``app.scheduler``) POSTs due rows, and retries failures with exponential backoff.
The admin pages are ``views``.

Who fires what: the respond service fires ``response.created`` for every new response
(``response_created``); the follow-up service (``app.followup``) fires ``response.low_score``.
"""

from app.webhooks.delivery import DeliveryResult, deliver_due_webhooks, sign
from app.webhooks.outbox import (
    EVENT_TYPES,
    LOW_SCORE,
    RESPONSE_CREATED,
    enqueue_webhook,
    response_created,
)

__all__ = [
    "EVENT_TYPES",
    "LOW_SCORE",
    "RESPONSE_CREATED",
    "DeliveryResult",
    "deliver_due_webhooks",
    "enqueue_webhook",
    "response_created",
    "sign",
]
