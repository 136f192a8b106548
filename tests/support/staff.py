"""Staff accounts in tests: the password link out of an e-mail, and the accounts of each role."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

LINK_RE = re.compile(r"(https?://[^\s\"<>]+/auth/password/([A-Za-z0-9_-]+))")


def link_in(message: Message) -> tuple[str, str]:
    """The password link of a password e-mail and its token (from the text part)."""
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    text = body.get_content() if body is not None else message.as_string()
    match = LINK_RE.search(text)
    assert match, "no password link in the e-mail"
    return match.group(1), match.group(2)


def outbox_messages(outbox: str | Path) -> list[EmailMessage]:
    """The messages the file mail backend wrote, oldest first."""
    from email import policy
    from email.parser import BytesParser

    files = sorted(Path(outbox).glob("*.eml"))
    return [
        BytesParser(policy=policy.default).parsebytes(path.read_bytes())  # type: ignore[misc]
        for path in files
    ]


def user_id(app: Any, email: str) -> int:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
    assert found is not None, email
    return int(found)
