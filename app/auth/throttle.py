"""Per-account login throttle: after ``MEMNUN_LOGIN_MAX_FAILURES`` failed logins for one e-mail
address within ``MEMNUN_LOGIN_LOCK_MINUTES``, that address must wait, whoever tries it.

The per-address limit on POST /auth/login (flask-limiter, 10 a minute) slows one attacker down;
this one protects an account from many addresses. It counts by the e-mail address typed, not by
the account, so an address without an account locks exactly like one with an account: the
answers never tell whether an account exists.

Counts live in flask-limiter's storage (``MEMNUN_RATELIMIT_STORAGE_URI``), shared by every
worker when that is Redis, and the throttle is off wherever rate limiting is (RATELIMIT_ENABLED).
Only a hash of the address is used as the key.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, parse

from app.auth.services import hash_secret
from app.extensions import limiter

NAMESPACE = "login-account"


def _limit() -> RateLimitItem:
    config = current_app.config
    return parse(f"{int(config['MEMNUN_LOGIN_MAX_FAILURES'])} per "
                 f"{int(config['MEMNUN_LOGIN_LOCK_MINUTES'])} minutes")


def _key(email: str) -> str:
    return hash_secret("login:" + email.strip().lower())


def _active() -> bool:
    return bool(limiter.enabled and current_app.config.get("RATELIMIT_ENABLED", True))


def is_locked(email: str) -> bool:
    """Whether logins for ``email`` must wait (too many failures lately)."""
    return _active() and not limiter.limiter.test(_limit(), NAMESPACE, _key(email))


def record_failure(email: str) -> None:
    if _active():
        limiter.limiter.hit(_limit(), NAMESPACE, _key(email))


def clear_failures(email: str) -> None:
    """A successful login starts the count again."""
    if _active():
        limiter.limiter.clear(_limit(), NAMESPACE, _key(email))
