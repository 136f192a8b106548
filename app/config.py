"""Configuration from the environment.

Every setting a deployer can change is read from a variable prefixed ``MEMNUN_``; the names are
a contract (docs/design.md, "Contracts", and the README). Nothing secret has a default in the
code: when ``MEMNUN_SECRET_KEY`` is unset a key is generated once and kept under ``instance/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting the app cannot start with; the message names the variable to correct."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"MEMNUN_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return default if value is None else int(value)


def _env_count(name: str, default: int) -> int:
    """A whole number, zero or more, or a ConfigError that says which variable is wrong."""
    value = _env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"MEMNUN_{name} must be a whole number, zero or more (got {value!r})")
    return number


#: Who must use two-factor login (``MEMNUN_REQUIRE_2FA``): nobody is forced (``off``), admins
#: (``admin``), or every member of staff (``all``). Anyone may switch it on for themselves.
REQUIRE_2FA_VALUES = ("off", "admin", "all")


def require_2fa_setting(value: object) -> str:
    """The ``MEMNUN_REQUIRE_2FA`` value, checked: one of ``REQUIRE_2FA_VALUES``, any case."""
    word = str(value if value is not None else "off").strip().lower()
    if word not in REQUIRE_2FA_VALUES:
        raise ConfigError(
            f"MEMNUN_REQUIRE_2FA must be one of {', '.join(REQUIRE_2FA_VALUES)} (got {value!r})"
        )
    return word


def secret_key_from_instance(instance_path: Path) -> str:
    """Return the instance's generated secret key, creating it (mode 0600) on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Let deployers write ``postgresql://`` and still get the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def load_config(instance_path: Path) -> dict[str, Any]:
    """Build the Flask configuration from ``MEMNUN_*`` environment variables."""
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance_path / 'memnun.sqlite'}"
    mail_from = _env("MAIL_FROM", "Memnun <no-reply@memnun.localhost>")
    return {
        "SECRET_KEY": _env("SECRET_KEY") or secret_key_from_instance(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # No ping on every checkout (a round trip per request): connections are renewed after
        # POOL_RECYCLE_SECONDS, and a database restart is noticed by the first statement that
        # fails, which renews the whole pool (app.respond retries its token lookup once then).
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": False,
            "pool_recycle": _env_int("POOL_RECYCLE_SECONDS", 1800),
        },
        # A streaming replica for the readers that only summarise (app.databases): read while it
        # answers and lags by at most MAX_LAG seconds, asked at most every CHECK seconds.
        "MEMNUN_REPLICA_DATABASE_URL": normalise_database_url(_env("REPLICA_DATABASE_URL") or "")
        or None,
        "MEMNUN_REPLICA_MAX_LAG_SECONDS": _env_count("REPLICA_MAX_LAG_SECONDS", 30),
        "MEMNUN_REPLICA_CHECK_SECONDS": _env_count("REPLICA_CHECK_SECONDS", 5),
        "MEMNUN_REPLICA_CONNECT_TIMEOUT": _env_count("REPLICA_CONNECT_TIMEOUT", 2),
        # `memnun serve` (gunicorn): where it listens, how many worker processes (default
        # 2 x cores + 1) and threads each, and how long a request may take before its worker is
        # restarted; the access log (no tokens, app.serving) goes to stdout unless switched off.
        "MEMNUN_WEB_BIND": _env("WEB_BIND", "127.0.0.1:8000"),
        "MEMNUN_WEB_WORKERS": _env_count("WEB_WORKERS", 2 * (os.cpu_count() or 1) + 1),
        "MEMNUN_WEB_THREADS": _env_count("WEB_THREADS", 1),
        "MEMNUN_WEB_TIMEOUT": _env_count("WEB_TIMEOUT", 60),
        "MEMNUN_WEB_GRACEFUL_TIMEOUT": _env_count("WEB_GRACEFUL_TIMEOUT", 30),
        "MEMNUN_WEB_ACCESS_LOG": _env_bool("WEB_ACCESS_LOG", True),
        # Behind PgBouncer in transaction mode: no server-side prepared statements.
        "MEMNUN_TRANSACTION_POOLING": _env_bool("TRANSACTION_POOLING", False),
        "MEMNUN_BASE_URL": (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        "MEMNUN_TIMEZONE": _env("TIMEZONE", "Europe/Istanbul"),
        "MEMNUN_ORGANISATION_NAME": _env("ORGANISATION_NAME", "Memnun"),
        "MEMNUN_MAIL_BACKEND": _env("MAIL_BACKEND", "file"),
        "MEMNUN_MAIL_FROM": mail_from,
        "MEMNUN_SMTP_HOST": _env("SMTP_HOST", "localhost"),
        "MEMNUN_SMTP_PORT": _env_int("SMTP_PORT", 25),
        "MEMNUN_SMTP_USER": _env("SMTP_USER"),
        "MEMNUN_SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "MEMNUN_SMTP_TLS": _env_bool("SMTP_TLS", False),
        "MEMNUN_SMTP_TIMEOUT": _env_int("SMTP_TIMEOUT", 30),
        # SMS, for complainants with a phone and no e-mail: off while no gateway URL is set.
        "MEMNUN_SMS_GATEWAY_URL": _env("SMS_GATEWAY_URL"),
        "MEMNUN_SMS_GATEWAY_TOKEN": _env("SMS_GATEWAY_TOKEN"),
        "MEMNUN_SMS_GATEWAY_USER": _env("SMS_GATEWAY_USER"),
        "MEMNUN_SMS_GATEWAY_PASSWORD": _env("SMS_GATEWAY_PASSWORD"),
        "MEMNUN_SMS_GATEWAY_TIMEOUT": _env_int("SMS_GATEWAY_TIMEOUT", 10),
        "MEMNUN_SMS_BODY_TEMPLATE": _env("SMS_BODY_TEMPLATE"),
        # Shared with the gateway: signs its delivery reports (app.distribution.receipts).
        "MEMNUN_SMS_RECEIPT_SECRET": _env("SMS_RECEIPT_SECRET"),
        "MEMNUN_UNSUBSCRIBE_MAILTO": _env("UNSUBSCRIBE_MAILTO"),
        # DKIM signing of outgoing mail (app.distribution.dkim_signing): all three, or none.
        # Bounces: the base of every invitation's return path (app.distribution.verp).
        "MEMNUN_BOUNCE_ADDRESS": _env("BOUNCE_ADDRESS"),
        # A mailbox polled for bounces (app.distribution.bounce_imap): off while no host is set.
        **{f"MEMNUN_BOUNCE_IMAP_{name}": _env(f"BOUNCE_IMAP_{name}") for name in (
            "HOST", "PORT", "SECURITY", "USER", "PASSWORD", "PASSWORD_FILE", "FOLDER", "OTHERS")},
        "MEMNUN_BOUNCE_IMAP_INTERVAL_SECONDS": _env_count("BOUNCE_IMAP_INTERVAL_SECONDS", 120),
        "MEMNUN_DKIM_SELECTOR": _env("DKIM_SELECTOR"),
        "MEMNUN_DKIM_DOMAIN": _env("DKIM_DOMAIN"),
        "MEMNUN_DKIM_KEY_FILE": _env("DKIM_KEY_FILE"),
        "MEMNUN_OUTBOX_DIR": _env("OUTBOX_DIR") or str(instance_path / "outbox"),
        "MEMNUN_DISPATCH_INTERVAL_SECONDS": _env_int("DISPATCH_INTERVAL_SECONDS", 30),
        "MEMNUN_DISPATCH_BATCH_SIZE": _env_int("DISPATCH_BATCH_SIZE", 100),
        "MEMNUN_DISPATCH_LEASE_SECONDS": _env_int("DISPATCH_LEASE_SECONDS", 300),
        "MEMNUN_DISPATCH_GROUP_COMMIT": _env_int("DISPATCH_GROUP_COMMIT", 1),
        "MEMNUN_DISPATCH_CONNECTIONS": _env_int("DISPATCH_CONNECTIONS", 1),
        "MEMNUN_MAX_SEND_ATTEMPTS": _env_int("MAX_SEND_ATTEMPTS", 8),
        "MEMNUN_MIN_GROUP_SIZE": _env_int("MIN_GROUP_SIZE", 5),
        # Comment themes (app.analytics.themes): how many, and how often computed again.
        "MEMNUN_THEMES_COUNT": _env_int("THEMES_COUNT", 12),
        "MEMNUN_THEMES_INTERVAL_HOURS": _env_int("THEMES_INTERVAL_HOURS", 6),
        "MEMNUN_DASHBOARD_REFRESH_SECONDS": _env_int("DASHBOARD_REFRESH_SECONDS", 30),
        "MEMNUN_RETENTION_DAYS": _env_int("RETENTION_DAYS", 180),
        # What `memnun run` and `memnun scheduler` write to stderr (app.logsafe.configure_logging).
        "MEMNUN_LOG_LEVEL": (_env("LOG_LEVEL") or "INFO").upper(),
        # Staff sessions (app.auth.sessions): ended after this long without a request, and this
        # long after login whatever happens; both checked on the server.
        "MEMNUN_SESSION_IDLE_MINUTES": _env_int("SESSION_IDLE_MINUTES", 30),
        "MEMNUN_SESSION_MAX_HOURS": _env_int("SESSION_MAX_HOURS", 12),
        # Per-account login throttle, on top of the per-address limit on POST /auth/login.
        "MEMNUN_LOGIN_MAX_FAILURES": _env_int("LOGIN_MAX_FAILURES", 5),
        "MEMNUN_LOGIN_LOCK_MINUTES": _env_int("LOGIN_LOCK_MINUTES", 15),
        # Two-factor login: who must have it (checked again in create_app, overrides included).
        "MEMNUN_REQUIRE_2FA": require_2fa_setting(_env("REQUIRE_2FA", "off")),
        "MEMNUN_RESPOND_RATE_LIMIT": _env("RESPOND_RATE_LIMIT", "60 per minute"),
        # Walk-in QR codes (app/walkin): the POST's limit per address, and when a service
        # point's answers look like stuffing (empty: the defaults of walkin.services).
        "MEMNUN_WALKIN_RATE_LIMIT": _env("WALKIN_RATE_LIMIT", "10 per minute"),
        **{f"MEMNUN_WALKIN_{name}": _env(f"WALKIN_{name}") for name in (
            "BURST_MINUTES", "BURST_FLOOR", "BURST_FACTOR", "PATTERN_RUN", "PATTERN_MINUTES")},
        "MEMNUN_RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        # Prepended to every key in Redis, so that installations sharing one Redis never mix.
        "MEMNUN_RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "memnun"),
        # Proxies (load balancers) in front of the app whose X-Forwarded-For is believed. 0:
        # none, the connection's address is the client's, and the header cannot be forged to
        # escape a rate limit. Behind one load balancer: 1.
        "MEMNUN_TRUSTED_PROXIES": _env_count("TRUSTED_PROXIES", 0),
        # Webhook receivers on the private network, by name (app.webhooks.addresses).
        "MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS": _env("WEBHOOK_ALLOWED_PRIVATE_HOSTS", ""),
        # Off only for load tests on localhost (every request comes from one address).
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        # Complaints per POST /api/v1/complaints/batch (a batch must also fit MAX_CONTENT_LENGTH).
        "MEMNUN_API_BATCH_MAX": _env_int("API_BATCH_MAX", 500),
        # A respondent may leave a survey open for a long time; the token must outlive that.
        "WTF_CSRF_TIME_LIMIT": _env_int("CSRF_TIME_LIMIT", 24 * 3600),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SECURE_COOKIES", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "BABEL_DEFAULT_LOCALE": _env("DEFAULT_LANGUAGE", "tr"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "MEMNUN_LANGUAGES": ["tr", "en", "nl", "et"],
    }
