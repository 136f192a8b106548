"""Flask extensions, created unbound so that models and blueprints can import them."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.errors import ConfigurationError as LimitsConfigurationError
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.config import ConfigError
from app.databases import RoutingSession

# Alembic needs named constraints to alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The session sends a replica reader's SELECTs to the replica (app.databases).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# Schemes of the `limits` storages that speak to Redis (or Valkey) and take a key prefix.
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel",
                           "valkey", "valkeys", "valkey+unix", "valkey+cluster",
                           "valkey+sentinel"})
STORAGE_TIMEOUT_SECONDS = 5


def shown_uri(uri: str) -> str:
    """The storage URI for an error message, without a password it may hold."""
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:  # unparsable: show its scheme only, the rest may hold a password
        return uri.split("://", 1)[0] + "://..."
    if password is None:
        return uri
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}{port}").geturl()


def init_rate_limits(app: Flask) -> None:
    """Bind the limiter to ``app`` and make sure its storage answers now, at start-up.

    A wrong ``MEMNUN_RATELIMIT_STORAGE_URI`` (unknown scheme, driver missing, server not
    reachable) stops the app with a message that names the variable, rather than turning the
    first survey link or login into a server error. Should Redis fail later, each worker falls
    back to counting in its own memory and goes back to Redis once it answers again.
    """
    uri = app.config["MEMNUN_RATELIMIT_STORAGE_URI"]
    app.config["RATELIMIT_STORAGE_URI"] = uri
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    try:
        scheme = urlsplit(uri).scheme
    except ValueError as exc:
        raise ConfigError(f"MEMNUN_RATELIMIT_STORAGE_URI={shown_uri(uri)!r} is not a URI: "
                          f"{exc}") from exc
    options: dict[str, object] = {}
    if scheme in REDIS_SCHEMES:
        # One prefix per installation, so that two of them (or two test runs) can share a Redis.
        options["key_prefix"] = app.config["MEMNUN_RATELIMIT_KEY_PREFIX"]
        options["socket_connect_timeout"] = STORAGE_TIMEOUT_SECONDS
        options["socket_timeout"] = STORAGE_TIMEOUT_SECONDS
    app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    try:
        limiter.init_app(app)
    except (LimitsConfigurationError, ValueError) as exc:
        raise ConfigError(
            f"MEMNUN_RATELIMIT_STORAGE_URI={shown_uri(uri)!r} cannot be used: {exc}"
        ) from exc
    if limiter.enabled and not limiter.storage.check():
        raise ConfigError(
            f"MEMNUN_RATELIMIT_STORAGE_URI={shown_uri(uri)!r} does not answer "
            f"({_storage_failure()}); start it, correct the URI, or use memory:// "
            "on a single process"
        )


def _storage_failure() -> str:
    """Why the storage did not answer, as its client says it."""
    connection = getattr(limiter.storage, "get_connection", None)
    try:
        if connection is not None:
            connection().ping()
    except Exception as exc:  # noqa: BLE001 - any driver error is worth showing as it is
        return f"{type(exc).__name__}: {exc}"
    return "no answer to a health check"
