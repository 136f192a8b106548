"""Per-account login throttle: after ``MEMNUN_LOGIN_MAX_FAILURES`` failed logins for one e-mail
address within ``MEMNUN_LOGIN_LOCK_MINUTES``, that address must wait, whoever tries it.

The per-address limit on POST /auth/login (flask-limiter, 10 a minute) slows one attacker down;
this one protects an account from many addresses. It counts by the e-mail address typed, not by
the account, so an address without an account locks exactly like one with an account: the
answers never tell whether an account exists.

Counts live in flask-limiter's storage (``MEMNUN_RATELIMIT_STORAGE_URI``), shared by every
worker when that is Redis, and the throttle is off wherever rate limiting is (RATELIMIT_ENABLED).
Only a hash of the address is used as the key. While Redis is down, flask-limiter counts in each
worker's memory (``limiter.limiter`` is then that fallback); a storage error the fallback has not
caught yet lets the login through to the password check rather than answering 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from limits import RateLimitItem, parse

from app.auth.services import hash_secret
from app.extensions import limiter

NAMESPACE = "login-account"
T = TypeVar("T")
log = logging.getLogger(__name__)


def _limit() -> RateLimitItem:
    config = current_app.config
    return parse(f"{int(config['MEMNUN_LOGIN_MAX_FAILURES'])} per "
                 f"{int(config['MEMNUN_LOGIN_LOCK_MINUTES'])} minutes")


def _key(email: str) -> str:
    return hash_secret("login:" + email.strip().lower())


def _active() -> bool:
    return bool(limiter.enabled and current_app.config.get("RATELIMIT_ENABLED", True))


def _counting(action: Callable[[], T], otherwise: T) -> T:
    try:
        return action()
    except limiter.storage.base_exceptions:
        log.warning("login throttle skipped: the rate-limit storage did not answer")
        return otherwise


def is_locked(email: str) -> bool:
    """Whether logins for ``email`` must wait (too many failures lately)."""
    if not _active():
        return False
    limit, key = _limit(), _key(email)
    return _counting(lambda: not limiter.limiter.test(limit, NAMESPACE, key), False)


def record_failure(email: str) -> None:
    if _active():
        limit, key = _limit(), _key(email)
        _counting(lambda: limiter.limiter.hit(limit, NAMESPACE, key), False)


def clear_failures(email: str) -> None:
    """A successful login starts the count again."""
    if _active():
        limit, key = _limit(), _key(email)
        _counting(lambda: limiter.limiter.clear(limit, NAMESPACE, key), None)
