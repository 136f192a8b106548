"""The corpus of messages that come back (tests/support/datasets/bounces/*.eml): DSNs from
Postfix and Gmail, Exchange's own format, a soft bounce, a delay warning, out-of-office replies.
Each has ``{return_path}`` (the VERP address it came back to) and ``{recipient}`` (the address
that bounced) to fill in."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent / "datasets" / "bounces"


def bounce(name: str, return_path: str, recipient: str = "nobody@example.org") -> bytes:
    text = (CORPUS / f"{name}.eml").read_text(encoding="utf-8")
    text = text.replace("{return_path}", return_path).replace("{recipient}", recipient)
    return text.replace("\n", "\r\n").encode()  # as SMTP carries it
