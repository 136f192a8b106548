"""Delivery receipts from the SMS gateway: what became of an SMS after the gateway took it.

The gateway POSTs its delivery reports to ``/callbacks/sms/delivery`` (``receipt_views``) as JSON,
one report or a list of them::

    {"reference": "memnun.invitation.42@survey.example.org", "status": "delivered"}
    [{"reference": "...", "status": "failed", "error": "EC_ABSENT_SUBSCRIBER"}, ...]

``reference`` is the one we sent the message with (``sms.sms_reference``, also its
``Idempotency-Key``). The request is authenticated by an HMAC-SHA256 of the raw body under
``MEMNUN_SMS_RECEIPT_SECRET``, hex in the ``X-Memnun-Signature`` header (``sha256=<hex>``),
compared in constant time; nothing else (no cookie, no CSRF token: the gateway is no browser).

A final report of the invitation's own SMS sets ``Invitation.delivery`` once: ``delivered``, or
``failed``, which also fails an invitation that is still sent or reminded (the person never got
the link; nothing was answered), with the gateway's code as the reason. The first final report
wins: the same report again, or a later contradicting one, changes nothing and is not audited
again (taken twice, counted once), and the UPDATE is conditional, so two copies arriving at once
cannot both count. Interim reports (accepted, queued, en route) and the reminder's reports are
acknowledged and change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, update

from app.distribution.messages import base_url
from app.distribution.sms import scrub_sms
from app.extensions import db
from app.models import AuditLog, Invitation, InvitationChannel, InvitationState, MessageDelivery
from app.models.types import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Memnun-Signature"
MAX_REPORTS = 500  # reports in one request
# The gateways' words for a final outcome, and for news that is not final yet (taken, ignored).
DELIVERED_WORDS = {"delivered", "delivrd", "delivered_to_handset"}
FAILED_WORDS = {"failed", "undelivered", "undeliv", "undeliverable", "rejected", "rejectd",
                "expired", "deleted", "unknown_number"}
INTERIM_WORDS = {"accepted", "acceptd", "queued", "sent", "enroute", "buffered", "scheduled",
                 "submitted"}
REFERENCE_RE = re.compile(r"^memnun\.(invitation|reminder)\.(\d{1,18})@([A-Za-z0-9.-]{1,253})$")
# Invitations a failure report fails: those still waiting for an answer.
OPEN = (InvitationState.SENT.value, InvitationState.REMINDED.value)


class ReceiptError(ValueError):
    """A request or report that cannot be taken; ``str()`` says why, for the gateway's log."""


@dataclass(frozen=True)
class Report:
    invitation_id: int
    reminder: bool
    outcome: MessageDelivery | None  # None: interim news
    error: str


@dataclass
class Taken:
    """What one request did: reports recorded now, and reports that changed nothing."""

    recorded: int = 0
    unchanged: int = 0


def receipt_secret(config: Any) -> str | None:
    secret = (config.get("MEMNUN_SMS_RECEIPT_SECRET") or "").strip()
    return secret or None


def signature_for(secret: str, body: bytes) -> str:
    """The ``X-Memnun-Signature`` value for ``body`` (what the gateway computes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(signature_for(secret, body).encode(),
                                                str(header).strip().encode())


def _report(item: Any, position: int) -> Report:
    where = f"report {position + 1}"
    if not isinstance(item, dict):
        raise ReceiptError(f"{where}: must be an object with 'reference' and 'status'")
    reference, status = item.get("reference"), item.get("status")
    if not isinstance(reference, str) or not isinstance(status, str):
        raise ReceiptError(f"{where}: 'reference' and 'status' must be strings")
    match = REFERENCE_RE.match(reference.strip())
    ours = urlsplit(base_url()).hostname or "memnun.localhost"
    if match is None or match.group(3).lower() != ours.lower():
        raise ReceiptError(f"{where}: 'reference' is not one of the SMS references we sent")
    word = status.strip().lower().replace(" ", "_").replace("-", "_")
    if word in DELIVERED_WORDS:
        outcome: MessageDelivery | None = MessageDelivery.DELIVERED
    elif word in FAILED_WORDS:
        outcome = MessageDelivery.FAILED
    elif word in INTERIM_WORDS:
        outcome = None
    else:
        raise ReceiptError(f"{where}: unknown 'status' {status[:40]!r}; expected delivered, "
                           "failed (or undelivered, rejected, expired) or an interim status")
    error = item.get("error")
    if error is not None and not isinstance(error, str | int):
        raise ReceiptError(f"{where}: 'error' must be a string or a number")
    return Report(int(match.group(2)), match.group(1) == "reminder", outcome,
                  scrub_sms(str(error if error is not None else word), limit=120))


def parse_reports(payload: Any) -> list[Report]:
    """The reports of a request body already decoded from JSON; ReceiptError if malformed.
    All are checked before any is taken: a bad one refuses the whole request, nothing stored."""
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise ReceiptError("no report in the request")
    if len(items) > MAX_REPORTS:
        raise ReceiptError(f"at most {MAX_REPORTS} reports in one request")
    return [_report(item, position) for position, item in enumerate(items)]


def _record(report: Report) -> bool:
    """Set the invitation's delivery from ``report`` unless a final report came before."""
    now = utcnow()
    c = Invitation.__table__.c
    values: dict[str, Any] = {"delivery": report.outcome.value, "delivery_reported_at": now}
    if report.outcome == MessageDelivery.FAILED:
        values["state"] = case((c.state.in_(OPEN), InvitationState.FAILED.value),
                               else_=c.state)
        values["last_error"] = case((c.state.in_(OPEN), f"SMS not delivered: {report.error}"),
                                    else_=c.last_error)
        values["reminder_due_at"] = case((c.state.in_(OPEN), None), else_=c.reminder_due_at)
    changed = db.session.execute(
        update(Invitation.__table__)
        .where(c.id == report.invitation_id, c.channel == InvitationChannel.SMS.value,
               c.sent_at.is_not(None), c.delivery.is_(None))
        .values(values)
    ).rowcount
    if changed:
        db.session.add(AuditLog(
            actor="sms-gateway",
            action=f"sms_{report.outcome.value}",
            target=f"invitation:{report.invitation_id}",
            detail={"status": report.error} if report.outcome == MessageDelivery.FAILED else {},
        ))
    return bool(changed)


def take_reports(reports: list[Report]) -> Taken:
    """Record final reports of invitations' own messages (one commit); see the module doc."""
    taken = Taken()
    for report in reports:
        if report.outcome is None or report.reminder:
            taken.unchanged += 1
            continue
        if _record(report):
            taken.recorded += 1
        else:
            taken.unchanged += 1
    db.session.commit()
    log.info("SMS delivery reports: %s recorded, %s changed nothing", taken.recorded,
             taken.unchanged)
    return taken
