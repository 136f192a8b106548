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


#: Loggers kept at WARNING whatever the level: SQLAlchemy's engine logs every statement with its
#: parameters (names, addresses, token hashes) from INFO on, urllib3 every URL it opens.
QUIET_LOGGERS = ("sqlalchemy", "urllib3")


def configure_logging(level: str) -> None:
    """Where the servers Memnun starts (``memnun run``, ``memnun scheduler``) log: stderr, at
    ``level`` (``MEMNUN_LOG_LEVEL``), without the libraries that would log personal data."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def scrub(text: str, limit: int = 500) -> str:
    """An error text safe to keep and show: no e-mail addresses, bounded length."""
    return EMAIL_RE.sub("<address>", text)[:limit]


def log_exception(logger: logging.Logger, message: str, *args: Any) -> None:
    """Like ``logger.exception`` (call it in an ``except`` block), minus e-mail addresses."""
    error = sys.exc_info()[1]
    details = "".join(traceback.format_exception(error)) if error else ""
    logger.error(message + "\n%s", *args, scrub(details, limit=20000))
