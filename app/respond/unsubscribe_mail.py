"""Unsubscribe requests by e-mail: the ``mailto:`` of ``List-Unsubscribe`` (RFC 2369).

When ``MEMNUN_UNSUBSCRIBE_MAILTO`` names a mailbox, every invitation offers
``mailto:<mailbox>?subject=unsubscribe <code>`` beside its one-click URL; mailbox providers send
that mail themselves when the person presses their "unsubscribe" button and the URL is not used.
The mailbox's MTA pipes each message to ``memnun unsubscribe read`` (``take_unsubscribe_mail``),
which finds the code (``tokens.unsubscribe_code``: the invitation id and an HMAC under the
secret key, so nobody can make one up for another invitation) in the subject, or in the text of
the body for mail programs that drop the subject, and opts the person out through the same
service as the opt-out page and the one-click POST. Nothing of the message is kept: not the
sender, not the text; the audit names the invitation.
"""

from __future__ import annotations

import contextlib
import logging
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from app.distribution.tokens import invitation_of_code
from app.extensions import db
from app.models import Invitation
from app.respond.services import opt_out

log = logging.getLogger(__name__)

CODE_RE = re.compile(r"\bunsubscribe\s+(\d{1,18}-[0-9a-f]{20})\b", re.IGNORECASE)
MAX_TEXT = 20_000  # of a body searched for the code: the request is short


def _code(message: EmailMessage) -> str | None:
    places = [str(message.get("Subject") or "")]
    body = message.get_body(preferencelist=("plain",))
    if body is not None:
        with contextlib.suppress(LookupError, ValueError):  # unknown charset, broken encoding
            places.append(body.get_content()[:MAX_TEXT])
    for text in places:
        for match in CODE_RE.finditer(text):
            if invitation_of_code(match.group(1)) is not None:
                return match.group(1)
    return None


def take_unsubscribe_mail(raw: bytes) -> int | None:
    """Opt out the person whose invitation the message's code names; return that invitation's
    id, or None when the message holds no genuine code (nothing changes then)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    code = _code(message)
    invitation_id = invitation_of_code(code) if code else None
    invitation = db.session.get(Invitation, invitation_id) if invitation_id else None
    if invitation is None:
        log.info("unsubscribe mail without a genuine code: ignored")
        return None
    opt_out(invitation, how="mail")
    return invitation.id
