"""The delivery job: POST due webhook deliveries, signed, and retry failures with backoff.

What a receiver gets (POST, ``Content-Type: application/json``, UTF-8):

    X-Memnun-Event: response.created
    X-Memnun-Delivery: <event id; the same on every retry, so a copy can be dropped>
    X-Memnun-Timestamp: <Unix seconds of this attempt>
    X-Memnun-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

    {"id": ..., "type": ..., "created_at": ..., "data": {...}}

The timestamp is signed with the body so that a receiver can refuse an old message replayed (a
few minutes' tolerance is usual). A 2xx answer is a delivery; anything else (another status, a
redirect, a timeout, a refused connection) is retried after 1, 2, 4, ... minutes (at most six
hours apart) until ``MEMNUN_WEBHOOK_MAX_ATTEMPTS`` tries, after which the row is ``failed`` with
the last error kept. Redirects are not followed: the signed message goes only where the admin
said.

Claims work as for invitations: a row is claimed with a lease (``claimed_until``) by an UPDATE
that only one process can win, on SQLite and PostgreSQL alike; a process that dies leaves a
lease that runs out, and the row is tried again (so at least once, and twice only then).
A receiver that cannot be reached is not tried again in the same pass, and a pass stops after
its time budget, so a dead receiver never holds up the surveys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, select, update

from app.extensions import db
from app.models import DeliveryState, Webhook, WebhookDelivery
from app.models.types import utcnow
from app.webhooks.addresses import ForbiddenAddress, allowed_private_hosts, check_receiver

log = logging.getLogger(__name__)

BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
LEASE = dt.timedelta(minutes=5)
USER_AGENT = "Memnun-Webhooks/1"
ALLOWED_SCHEMES = ("http", "https")


@dataclass
class DeliveryResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # not tried in this pass: its receiver was unreachable, or time ran out

    def summary(self) -> str:
        return (f"webhooks: delivered {self.delivered}, to retry {self.retried}, "
                f"failed {self.failed}, deferred {self.deferred}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd ... failure, at most six hours."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


#: What the admin page says of a receiver that did not answer: one text for a refused
#: connection, a reset, a timeout or a name that does not resolve, so the page is no port scanner.
NO_ANSWER = "no answer from the receiver"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float,
         allowed: frozenset[str] = frozenset()) -> tuple[int | None, str]:
    """POST once; returns (HTTP status or None, a short error text or "").

    The host is checked again right before (``check_receiver``): a name re-pointed at a private
    address since its registration is refused here. ``allowed``: private hosts the operator
    allows by name.
    """
    if urlsplit(url).scheme not in ALLOWED_SCHEMES:  # never file:, ftp: or the like
        return None, "the URL is not http or https"
    try:
        check_receiver(url, allowed)
    except ForbiddenAddress:
        return None, "the receiver's address is not a public one"
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers=headers
    )
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"[:500]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # The kind of failure stays in the server's log (no URL: it may carry a token).
        log.warning("webhook receiver did not answer: %s", type(exc).__name__)
        return None, NO_ANSWER


def _due(now: dt.datetime) -> list[ColumnElement[bool]]:
    active = select(Webhook.id).where(Webhook.active.is_(True))
    return [
        WebhookDelivery.state == DeliveryState.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now),
        WebhookDelivery.webhook_id.in_(active),
    ]


def _claim(now: dt.datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due rows, oldest first; only rows whose UPDATE hit are ours."""
    candidates = list(db.session.scalars(
        select(WebhookDelivery.id).where(*_due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    ))
    db.session.rollback()  # hold no read snapshot: SQLite could not upgrade it to a write
    claimed = []
    for delivery_id in candidates:
        hit = db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, *_due(now))
            .values(claimed_until=now + LEASE).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if hit == 1:
            claimed.append(delivery_id)
    return claimed


def _set(delivery_id: int, **values: Any) -> None:
    db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        .values(claimed_until=None, **values).execution_options(synchronize_session=False)
    )
    db.session.commit()


def _attempt(delivery: WebhookDelivery, timeout: float) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Memnun-Event": delivery.event_type,
        "X-Memnun-Delivery": delivery.event_id,
        "X-Memnun-Timestamp": str(timestamp),
        "X-Memnun-Signature": sign(delivery.webhook.secret, timestamp, body),
    }
    return post(delivery.webhook.url, body, headers, timeout,
                allowed_private_hosts(current_app.config))


def _record(delivery_id: int, attempts: int, status: int | None, error: str,
            now: dt.datetime, max_attempts: int, result: DeliveryResult) -> None:
    if status is not None and 200 <= status < 300:
        _set(delivery_id, state=DeliveryState.DELIVERED, attempts=attempts, last_status=status,
             last_error=None, delivered_at=now)
        result.delivered += 1
    elif attempts >= max_attempts:
        _set(delivery_id, state=DeliveryState.FAILED, attempts=attempts, last_status=status,
             last_error=error)
        result.failed += 1
        log.warning("webhook delivery %s failed for good after %s attempts", delivery_id,
                    attempts)
    else:
        _set(delivery_id, attempts=attempts, last_status=status, last_error=error,
             next_attempt_at=now + backoff(attempts))
        result.retried += 1


def deliver_due_webhooks(now: dt.datetime | None = None, limit: int = 100) -> DeliveryResult:
    """POST every due delivery once (at most ``limit``); returns what happened.

    ``now`` (for tests and catch-up) decides what is due and when retries fall due.
    """
    config = current_app.config
    timeout = float(config.get("MEMNUN_WEBHOOK_TIMEOUT_SECONDS", 10))
    max_attempts = int(config.get("MEMNUN_WEBHOOK_MAX_ATTEMPTS", 10))
    budget = float(config.get("MEMNUN_WEBHOOK_PASS_SECONDS", 30))
    now = now or utcnow()
    started = time.monotonic()
    result = DeliveryResult()
    unreachable: set[int] = set()
    for delivery_id in _claim(now, limit):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            continue
        if delivery.webhook_id in unreachable or time.monotonic() - started > budget:
            _set(delivery_id)  # release the claim: the next pass tries again
            result.deferred += 1
            continue
        status, error = _attempt(delivery, timeout)
        if status is None:
            unreachable.add(delivery.webhook_id)
        _record(delivery_id, delivery.attempts + 1, status, error, now, max_attempts, result)
    if result.delivered or result.retried or result.failed:
        log.info(result.summary())
    return result
