"""What a message that came back to an invitation's return path says: hard or soft bounce, a
delay warning, an auto-reply, or nothing we know.

Bounces are recognised by flufl.bounce (GNU Mailman's bounce detectors: RFC 3464 delivery status
notifications and the common non-standard formats of Exchange, Postfix, qmail, Exim, Yahoo,
GroupWise, ...), not by hand. It answers which recipients failed for good and which are only
delayed. Refined here with the DSN's own status codes, which flufl reads but does not return:

- ``hard``: failed, with a 5.x.x status (or no status: a non-DSN format that says "failed").
- ``soft``: failed with a 4.x.x status: the bouncing server gave up on a temporary problem
  (mailbox full, the message expired in its queue). Worth trying again later.
- ``delayed``: a warning that the server is still trying: nothing to do (sending again now
  would make a copy).
- ``auto_reply``: out of office and other automatic answers (RFC 3834 ``Auto-Submitted``,
  the headers of common autoresponders, their usual subjects): ignored, not a bounce.
- ``unknown``: anything else (a person answering the survey mail, spam): ignored.

Only the kind and the status codes leave this module; the message (addresses, text) does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.iterators import typed_subpart_iterator
from email.message import Message

from flufl.bounce import all_failures

STATUS_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
AUTO_REPLY_SUBJECT_RE = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|"
    r"auto:|abwesenheit|afwezig|otomatik yan[ıi]t|ofisten uzakta|puhkusel)",
    re.IGNORECASE,
)
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponse")
AUTO_PRECEDENCE = {"auto_reply", "auto-reply"}


@dataclass(frozen=True)
class Classified:
    kind: str  # hard, soft, delayed, auto_reply, unknown
    statuses: tuple[str, ...] = ()  # the DSN's status codes, e.g. ("5.1.1",)

    @property
    def status(self) -> str:
        return ",".join(self.statuses) or "-"


def _dsn_fields(message: Message) -> tuple[list[str], list[str]]:
    """Actions and status codes of the DSN's per-recipient blocks (none for other formats)."""
    actions: list[str] = []
    statuses: list[str] = []
    for part in typed_subpart_iterator(message, "message", "delivery-status"):
        if not part.is_multipart():
            continue
        for block in part.get_payload():
            action = str(block.get("action", "")).strip().lower()
            if action:
                actions.append(action)
            match = STATUS_RE.match(str(block.get("status", "")))
            if match:
                statuses.append(".".join(match.groups()))
    return actions, statuses


def is_auto_reply(message: Message) -> bool:
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if any(message.get(name) for name in AUTO_REPLY_HEADERS):
        return True
    if str(message.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return True
    return bool(AUTO_REPLY_SUBJECT_RE.match(str(message.get("Subject", ""))))


def classify(message: Message) -> Classified:
    """The kind of ``message`` (see the module)."""
    delayed, failed = all_failures(message)
    actions, statuses = _dsn_fields(message)
    codes = tuple(dict.fromkeys(statuses))  # in order, once each
    if failed:
        if codes and all(code.startswith("4.") for code in codes):
            return Classified("soft", codes)
        return Classified("hard", codes)
    if delayed or (actions and all(a.startswith("delayed") for a in actions)):
        return Classified("delayed", codes)
    # A DSN whose addresses flufl could not read still says what happened.
    if any(a.startswith(("fail", "error")) for a in actions):
        soft = codes and all(code.startswith("4.") for code in codes)
        return Classified("soft" if soft else "hard", codes)
    if is_auto_reply(message):
        return Classified("auto_reply")
    return Classified("unknown")
