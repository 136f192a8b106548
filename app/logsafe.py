"""Logging an unexpected error without the personal data its message may carry.

Database errors quote the statement's parameters (an IN list of e-mail addresses, say) and
PostgreSQL's details quote values. The traceback is kept, for whoever has to fix the bug, with
every e-mail address in it replaced.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def scrub(text: str, limit: int = 500) -> str:
    """An error text safe to keep and show: no e-mail addresses, bounded length."""
    return EMAIL_RE.sub("<address>", text)[:limit]


def log_exception(logger: logging.Logger, message: str, *args: Any) -> None:
    """Like ``logger.exception`` (call it in an ``except`` block), minus e-mail addresses."""
    error = sys.exc_info()[1]
    details = "".join(traceback.format_exception(error)) if error else ""
    logger.error(message + "\n%s", *args, scrub(details, limit=20000))
