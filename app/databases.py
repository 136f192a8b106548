"""The primary database and its optional streaming replica, and connections through PgBouncer.

Every write, and every read that must see its writer's own rows (the respondent's pages, intake,
dispatch, follow-ups, settings, logins), goes to the primary (``MEMNUN_DATABASE_URL``). The
readers that only summarise (the dashboards, the management-review pack, the exports, the
metrics API and the alert computations) may read from a streaming replica instead
(``MEMNUN_REPLICA_DATABASE_URL``): they ask for it with ``replica_reads`` (a decorator) or
``use_replica`` (for the rest of the request), and the session's ``get_bind`` then sends their
SELECTs to the replica while anything that writes (a flush, an INSERT/UPDATE/DELETE, a SELECT
... FOR UPDATE, a text statement other than SELECT/WITH/SET/SHOW) still goes to the primary.

Whether the replica may be read is decided per process at most every
``MEMNUN_REPLICA_CHECK_SECONDS`` (not per query): it must answer, and its last replayed
transaction must be at most ``MEMNUN_REPLICA_MAX_LAG_SECONDS`` old
(``pg_last_xact_replay_timestamp()``; a replica that has replayed everything it received from a
primary it is streaming from lags by nothing, however old that transaction is). When it is down
or behind, the readers read the primary and ``replica_notice`` says so (the dashboards show it);
when it is back, the next check sends them to it again.

Behind PgBouncer in transaction mode (``MEMNUN_TRANSACTION_POOLING=true``) each transaction may
get another server connection, so psycopg 3's automatic prepared statements (made on one server
connection, used on the next) are switched off; Debian 12 ships PgBouncer 1.18, older than the
1.21 that can keep them (``max_prepared_statements``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

EXTENSION = "memnun_replica"
_FLAG = "_memnun_replica_reads"
_FELL_BACK = "_memnun_replica_fell_back"

#: How a text statement that only reads starts (anything else is sent to the primary).
READ_ONLY_WORDS = ("select", "with", "set", "show")

#: The replica's lag in seconds: zero when it has replayed all it received from a primary it
#: is streaming from (an idle primary sends nothing, and the last replayed transaction only
#: grows old), otherwise the age of the last transaction it replayed; 0 on a server that is not
#: a replica at all (a copy kept otherwise, or the primary itself named again).
LAG_SQL = sa.text("""
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
             AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
    END
""")

NO_LAG_SQL = sa.text("SELECT 0")

P = ParamSpec("P")
R = TypeVar("R")


def transaction_pooling_options(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` (SQLAlchemy engine options) for a PostgreSQL ``url`` behind a transaction
    pooler: no server-side prepared statements (``prepare_threshold=None``)."""
    if not url.startswith("postgresql"):
        return options
    connect_args = {**options.get("connect_args", {}), "prepare_threshold": None}
    return {**options, "connect_args": connect_args}


def configure_pooling(app: Flask) -> None:
    """Apply ``MEMNUN_TRANSACTION_POOLING`` to the primary's engine options (before
    ``db.init_app``), whatever the configuration's source."""
    if app.config.get("MEMNUN_TRANSACTION_POOLING"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = transaction_pooling_options(
            str(app.config["SQLALCHEMY_DATABASE_URI"]),
            dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}))


@dataclass
class Replica:
    """One process's view of the replica: its engine and the outcome of the last check."""

    engine: Engine
    max_lag: float
    check_every: float
    usable: bool = False
    lag: float | None = None
    reason: str | None = "not checked yet"  # why it is not read: "unreachable", "lagging"
    checked_at: float = float("-inf")
    changes: int = 0  # how many times it went from usable to not or back (for tests, logs)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, *, force: bool = False) -> bool:
        """Whether reads may go to the replica now; asks it at most every ``check_every``
        seconds (one thread asks, the others use the last answer meanwhile)."""
        if not force and time.monotonic() - self.checked_at < self.check_every:
            return self.usable
        if not self._lock.acquire(blocking=force):
            return self.usable
        try:
            if not force and time.monotonic() - self.checked_at < self.check_every:
                return self.usable
            try:
                with self.engine.connect() as connection:
                    # SQLite has no replicas: a second file is as current as it is.
                    query = LAG_SQL if self.engine.dialect.name == "postgresql" else NO_LAG_SQL
                    lag = float(connection.execute(query).scalar_one())
                reason = "lagging" if lag > self.max_lag else None
            except SQLAlchemyError as exc:
                lag, reason = None, "unreachable"
                detail = type(getattr(exc, "orig", exc) or exc).__name__
                log.debug("replica check failed: %s", detail)
            self._record(lag, reason)
            return self.usable
        finally:
            self._lock.release()

    def _record(self, lag: float | None, reason: str | None) -> None:
        usable = reason is None
        if usable != self.usable and self.checked_at != float("-inf"):
            self.changes += 1
            if usable:
                log.warning("replica is back (lag %.1f s): dashboards read from it again", lag or 0)
            else:
                shown = f"{lag:.1f} s behind" if lag is not None else "not answering"
                log.warning("replica %s (%s): dashboards read from the primary", reason, shown)
        self.usable, self.lag, self.reason = usable, lag, reason
        self.checked_at = time.monotonic()

    def failed(self) -> None:
        """A connection to the replica just failed: read the primary until the next check."""
        with self._lock:
            self._record(None, "unreachable")


def init_replica(app: Flask) -> None:
    """Create the replica's engine when ``MEMNUN_REPLICA_DATABASE_URL`` is set."""
    url = app.config.get("MEMNUN_REPLICA_DATABASE_URL")
    if not url:
        app.extensions.pop(EXTENSION, None)
        return
    options: dict[str, Any] = {
        # A replica restarted under us leaves dead connections in the pool: one round trip per
        # checkout is cheap beside a dashboard's aggregates, and an error page is not.
        "pool_pre_ping": True,
        "pool_recycle": app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("pool_recycle", 1800),
    }
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": app.config["MEMNUN_REPLICA_CONNECT_TIMEOUT"]}
        if app.config.get("MEMNUN_TRANSACTION_POOLING"):
            options = transaction_pooling_options(url, options)
    app.extensions[EXTENSION] = Replica(
        engine=sa.create_engine(url, **options),
        max_lag=float(app.config["MEMNUN_REPLICA_MAX_LAG_SECONDS"]),
        check_every=float(app.config["MEMNUN_REPLICA_CHECK_SECONDS"]),
    )


def replica_of(app: Flask) -> Replica | None:
    return app.extensions.get(EXTENSION)  # type: ignore[no-any-return]


def use_replica() -> None:
    """Send this app context's reads to the replica from now on (when it may be read)."""
    setattr(g, _FLAG, True)


def replica_reads(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with its reads sent to the replica (when it may be read); the reads
    after it in the same request go to the primary again."""
    from functools import wraps

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not has_app_context():
            return function(*args, **kwargs)
        before = getattr(g, _FLAG, False)
        setattr(g, _FLAG, True)
        try:
            return function(*args, **kwargs)
        finally:
            setattr(g, _FLAG, before)

    return wrapper


def reads_fall_back() -> bool:
    """True when this context asked for the replica but reads the primary, because the replica
    is down or behind (a replica is configured): what the dashboards tell their reader."""
    replica = replica_of(current_app)
    if replica is None:
        return False
    return getattr(g, _FELL_BACK, False) or not replica.check()


def _writes(clause: Any) -> bool:
    """Whether ``clause`` may write or lock (and so belongs on the primary)."""
    if clause is None:
        return False
    if getattr(clause, "is_dml", False):
        return True
    if getattr(clause, "_for_update_arg", None) is not None:
        return True
    if isinstance(clause, sa.TextClause):
        return not clause.text.lstrip().lower().startswith(READ_ONLY_WORDS)
    return False


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending the reads of a ``replica_reads`` context to the
    replica while it may be read (see the module)."""

    def get_bind(self, mapper: Any | None = None, clause: Any | None = None,
                 bind: Any | None = None, **kwargs: Any) -> Any:
        if (bind is None and not self._flushing and has_app_context()
                and getattr(g, _FLAG, False) and not _writes(clause)):
            engine = self._replica_engine()
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    def _replica_engine(self) -> Engine | None:
        replica = replica_of(current_app)
        if replica is None:
            return None
        transaction = self.get_transaction()
        if transaction is not None and replica.engine in transaction._connections:
            return replica.engine  # already reading from it in this transaction: stay there
        if not replica.check():
            setattr(g, _FELL_BACK, True)
            return None
        try:
            # Connect now, so that a replica that went away since the last check sends this
            # read to the primary instead of failing it.
            self.connection(bind_arguments={"bind": replica.engine})
        except SQLAlchemyError:
            replica.failed()
            setattr(g, _FELL_BACK, True)
            return None
        return replica.engine
