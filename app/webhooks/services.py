"""Registering and removing webhooks (the admin page calls these; they know no request)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, DeliveryState, Webhook, WebhookDelivery
from app.webhooks.addresses import ForbiddenAddress, allowed_private_hosts, check_receiver
from app.webhooks.delivery import ALLOWED_SCHEMES
from app.webhooks.outbox import EVENT_TYPES

MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
MAX_URL_LENGTH = 2000


class WebhookError(ValueError):
    """A webhook cannot be registered as asked; the message says why."""


@dataclass(frozen=True)
class WebhookSummary:
    webhook: Webhook
    pending: int
    delivered: int
    failed: int


def check_url(url: str) -> str:
    """The URL, stripped, if Memnun may POST to it (``app.webhooks.addresses``); else
    ``WebhookError`` saying why, in words that tell nothing about the network behind it."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookError(_("The URL is too long."))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise WebhookError(_("The URL must start with http:// or https:// and name a host."))
    if parts.username is not None or parts.password is not None:
        # It would be shown on the page and kept in the database; the signature already proves
        # to the receiver that a message comes from Memnun.
        raise WebhookError(_("The URL must not hold a user name or password."))
    try:
        check_receiver(url, allowed_private_hosts(current_app.config))
    except ForbiddenAddress:
        raise WebhookError(_("The URL must name a public host (not a local, private or "
                             "reserved address).")) from None
    return url


def register_webhook(
    url: str, events: list[str], secret: str | None, actor: str
) -> tuple[Webhook, str]:
    """Register a receiver; returns it and its secret (generated when none was given).

    The secret is returned here once, to be shown once; nothing shows it again.
    """
    url = check_url(url)
    unknown = [event for event in events if event not in EVENT_TYPES]
    if not events or unknown:
        raise WebhookError(_("Choose at least one of the known events."))
    secret = (secret or "").strip() or secrets.token_urlsafe(32)
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise WebhookError(_("The secret must have %(low)s to %(high)s characters.",
                             low=MIN_SECRET_LENGTH, high=MAX_SECRET_LENGTH))
    webhook = Webhook(url=url, secret=secret, events=list(dict.fromkeys(events)), active=True,
                      created_by=actor[:200])
    db.session.add(webhook)
    db.session.flush()
    # The URL's host only: a URL may carry a token in its path or query.
    db.session.add(AuditLog(actor=actor[:200], action="webhook.create",
                            target=f"webhook:{webhook.id}",
                            detail={"host": urlsplit(url).hostname, "events": webhook.events}))
    db.session.commit()
    return webhook, secret


def delete_webhook(webhook_id: int, actor: str) -> bool:
    """Delete a webhook and its deliveries (sent or not); False when there is no such webhook."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        return False
    db.session.delete(webhook)
    db.session.add(AuditLog(actor=actor[:200], action="webhook.delete",
                            target=f"webhook:{webhook_id}"))
    db.session.commit()
    return True


def list_webhooks() -> list[WebhookSummary]:
    """Every webhook with its deliveries counted by state (one grouped query)."""
    counts: dict[tuple[int, DeliveryState], int] = {
        (webhook_id, state): number
        for webhook_id, state, number in db.session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.state, func.count())
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.state)
        )
    }
    return [
        WebhookSummary(
            webhook=webhook,
            pending=counts.get((webhook.id, DeliveryState.PENDING), 0),
            delivered=counts.get((webhook.id, DeliveryState.DELIVERED), 0),
            failed=counts.get((webhook.id, DeliveryState.FAILED), 0),
        )
        for webhook in db.session.scalars(select(Webhook).order_by(Webhook.id))
    ]


def recent_problems(limit: int = 20) -> list[WebhookDelivery]:
    """The latest deliveries that failed at least once, newest first (for the admin page)."""
    return list(db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.last_error.is_not(None))
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ))
