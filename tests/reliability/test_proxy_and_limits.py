"""Rate limits behind a proxy and across workers (issue 8; docs/scaling.md).

- The client's address: with ``MEMNUN_TRUSTED_PROXIES=0`` (the default) X-Forwarded-For is
  never read, so a forged one does not escape a limit; with 1, each forwarded client has its own
  budget, and what a client wrote into the header itself (left of the proxy's entry) is ignored.
- Shared counts: two gunicorn processes on the same Redis share one budget (the second answers
  429 once the first used it up), where with ``memory://`` each has its own. Needs the Redis on
  127.0.0.1:6379 (``MEMNUN_TEST_REDIS_URL`` to use another); skipped without it, failed under
  CI=true. Each run uses keys of its own (``MEMNUN_RATELIMIT_KEY_PREFIX``) and deletes them.
- A wrong storage URI stops the app at start-up with a message naming the variable; a Redis that
  goes away later costs the limits their sharing, never a 500, and they come back with it.

The counts live in flask-limiter's storage, not in the database: SQLite alone is enough.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, request

from app import create_app
from app.config import ConfigError, load_config
from app.extensions import db
from tests.support.database import base_config
from tests.support.factories import make_user
from tests.support.processes import (
    app_env,
    free_port,
    missing,
    start_gunicorn,
    stop,
    tail,
    wait_for_http,
    wait_until,
)
from tests.support.server import serve
from tests.support.web import csrf_token_from

# The process-level runs share one pytest-xdist worker, so that no two of them run at once.
pytestmark = pytest.mark.xdist_group("processes")

REDIS_URL = os.environ.get("MEMNUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 5  # token lookups a minute per address in these tests
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _token_path() -> str:
    return "/s/" + secrets.token_urlsafe(32)  # a link that does not exist: 404 until limited


def _lookups(base: str, forwarded: str | None, count: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return [requests.get(base + _token_path(), headers=headers, timeout=30,
                         allow_redirects=False).status_code for _ in range(count)]


def _login_attempt(session: requests.Session, base: str, email: str, password: str,
                   forwarded: str | None = None) -> int:
    page = session.get(base + "/auth/login", timeout=30)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return session.post(base + "/auth/login", headers=headers, timeout=30, allow_redirects=False,
                        data={"email": email, "password": password,
                              "csrf_token": csrf_token_from(page.text)}).status_code


def _limited_app(make_app: Any, proxies: int) -> Flask:
    app = make_app(RATELIMIT_ENABLED=True, MEMNUN_RESPOND_RATE_LIMIT=f"{LIMIT} per minute",
                   MEMNUN_TRUSTED_PROXIES=proxies)

    @app.get("/_test/address")
    def address() -> str:  # what every limit keys on
        return request.remote_addr or ""

    return app


# --- the client's address behind a proxy --------------------------------------------------------


@sqlite_only
def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(make_app) -> None:  # type: ignore[no-untyped-def]
    app = _limited_app(make_app, proxies=0)
    with serve(app) as live:
        forged = [f"203.0.113.{n}" for n in range(LIMIT + 1)]
        statuses = [_lookups(live.url, address, 1)[0] for address in forged]
        assert statuses == [404] * LIMIT + [429]
        assert _lookups(live.url, "198.51.100.77", 1) == [429]
        seen = requests.get(live.url + "/_test/address", timeout=30,
                            headers={"X-Forwarded-For": "198.51.100.77"}).text
        assert seen == "127.0.0.1"
        # The login's limit per address (10 a minute) holds the same way.
        session = requests.Session()
        logins = [_login_attempt(session, live.url, f"u{n}@example.org", "wrong password!",
                                 forwarded=f"192.0.2.{n}") for n in range(11)]
        assert logins == [200] * 10 + [429]


@sqlite_only
def test_behind_one_proxy_each_forwarded_client_has_its_own_budget(make_app) -> None:  # type: ignore[no-untyped-def]
    app = _limited_app(make_app, proxies=1)
    with serve(app) as live:
        assert _lookups(live.url, "203.0.113.1", LIMIT + 1) == [404] * LIMIT + [429]
        assert _lookups(live.url, "203.0.113.2", 1) == [404]  # another client, its own budget
        # A client that writes the header itself gets the proxy's entry appended after it; only
        # that last entry is believed, so the forged part buys nothing.
        assert _lookups(live.url, "198.51.100.9, 203.0.113.1", 1) == [429]
        seen = requests.get(live.url + "/_test/address", timeout=30,
                            headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.3"}).text
        assert seen == "203.0.113.3"
        # Without the header (a request that did not come through the proxy): the connection.
        assert requests.get(live.url + "/_test/address", timeout=30).text == "127.0.0.1"
        session = requests.Session()
        first = [_login_attempt(session, live.url, f"u{n}@example.org", "wrong password!",
                                forwarded="192.0.2.1") for n in range(11)]
        assert first == [200] * 10 + [429]
        assert _login_attempt(session, live.url, "u0@example.org", "wrong password!",
                              forwarded="192.0.2.2") == 200


@sqlite_only
def test_a_staff_session_works_behind_the_proxy(make_app) -> None:  # type: ignore[no-untyped-def]
    """Only the address is taken from the proxy: a login through it (whatever the forwarded
    scheme and host say) gets its session and CSRF-checked forms as anywhere else."""
    app = _limited_app(make_app, proxies=1)
    password = make_user(app, "viewer@example.org", "viewer")
    with serve(app) as live:
        session = requests.Session()
        session.headers.update({"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https",
                                "X-Forwarded-Host": "evil.example"})
        assert _login_attempt(session, live.url, "viewer@example.org", password) == 302
        home = session.get(live.url + "/", timeout=30, allow_redirects=False)
        assert home.status_code == 200
        logout = session.post(live.url + "/auth/logout", timeout=30, allow_redirects=False,
                              data={"csrf_token": csrf_token_from(
                                  session.get(live.url + "/reports/", timeout=30).text)})
        assert logout.status_code == 302 and logout.headers["Location"] == "/auth/login"


def test_the_number_of_proxies_is_read_and_checked(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMNUN_SECRET_KEY", "x")
    monkeypatch.delenv("MEMNUN_TRUSTED_PROXIES", raising=False)
    assert load_config(tmp_path)["MEMNUN_TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("MEMNUN_TRUSTED_PROXIES", "2")
    assert load_config(tmp_path)["MEMNUN_TRUSTED_PROXIES"] == 2
    for wrong in ("-1", "yes", "1.5"):
        monkeypatch.setenv("MEMNUN_TRUSTED_PROXIES", wrong)
        with pytest.raises(ConfigError, match="MEMNUN_TRUSTED_PROXIES"):
            load_config(tmp_path)


def test_the_command_line_names_a_wrong_setting_without_a_traceback(tmp_path: Path) -> None:
    memnun = Path(sys.executable).parent / "memnun"  # the console script beside this Python
    env = {**os.environ, "MEMNUN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "MEMNUN_SECRET_KEY": "x", "MEMNUN_TRUSTED_PROXIES": "-1"}
    result = subprocess.run([str(memnun), "db", "current"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "MEMNUN_TRUSTED_PROXIES must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- the storage of the counts ------------------------------------------------------------------


def _app_with_storage(tmp_path: Path, uri: str) -> Flask:
    return create_app({**base_config(f"sqlite:///{tmp_path / 'storage.sqlite'}", tmp_path),
                       "RATELIMIT_ENABLED": True, "MEMNUN_RATELIMIT_STORAGE_URI": uri})


def test_a_wrong_storage_uri_stops_the_app_at_start_up(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there
    cases = {
        "bogus://somewhere": "unknown storage scheme",
        f"redis://127.0.0.1:{closed_port}/0": "does not answer",
        f"redis://:s3cret-word@127.0.0.1:{closed_port}/0": "does not answer",
        "redis://[unclosed": "is not a URI",
    }
    for uri, reason in cases.items():
        with pytest.raises(ConfigError) as raised:
            _app_with_storage(tmp_path, uri)
        message = str(raised.value)
        assert "MEMNUN_RATELIMIT_STORAGE_URI" in message and reason in message, message
        assert "s3cret-word" not in message  # the password is never printed
    # Switched off, nothing is checked (load tests on localhost).
    create_app({**base_config(f"sqlite:///{tmp_path / 'off.sqlite'}", tmp_path),
                "RATELIMIT_ENABLED": False,
                "MEMNUN_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{closed_port}/0"})


def _redis_client(url: str) -> Any:
    try:
        import redis
    except ImportError:
        missing("the redis package is not installed (a dependency: pip install -e .)")
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing(f"Redis at {url} is not reachable ({exc}); start it or set "
                "MEMNUN_TEST_REDIS_URL")
    return client


@pytest.fixture
def redis_prefix() -> Iterator[tuple[Any, str]]:
    """The shared Redis and a key prefix of this test's own, its keys deleted afterwards."""
    client = _redis_client(REDIS_URL)
    prefix = f"memnun-test-{uuid.uuid4().hex}"
    yield client, prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def _schema(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


@contextmanager
def _workers(scratch: Path, count: int, **settings: Any) -> Iterator[list[str]]:
    """``count`` single-worker gunicorns on one database: separate processes, like the workers
    of one gunicorn or of several hosts, each with its own memory. Their base URLs."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = app_env(_schema(scratch), scratch, RATELIMIT_ENABLED="true",
                  RESPOND_RATE_LIMIT=f"{LIMIT} per minute", **settings)
    started: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for number in range(count):
            port, log = free_port(), scratch / f"gunicorn-{number}.log"
            started.append(start_gunicorn(env, port, log, workers=1))
            wait_for_http(f"http://127.0.0.1:{port}/auth/login", started[-1], log, seconds=120)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in started:
            stop(process)


def test_two_workers_share_one_budget_in_redis(tmp_path: Path, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    scratch = tmp_path / "redis"
    with _workers(scratch, 2, RATELIMIT_STORAGE_URI=REDIS_URL,
                  RATELIMIT_KEY_PREFIX=prefix) as (first, second):
        assert _lookups(first, None, LIMIT) == [404] * LIMIT
        assert _lookups(second, None, 1) == [429]  # the budget was spent on the other worker
        assert _lookups(first, None, 1) == [429]
        assert any(True for _ in client.scan_iter(match=f"{prefix}:*"))  # the counts are there
        # The per-account login throttle is shared too: failures on one worker lock the
        # account on the other, even with the right password.
        password = make_user(create_app(base_config(
            f"sqlite:///{scratch / 'shared.sqlite'}", scratch)), "viewer@example.org", "viewer")
        failures = [_login_attempt(requests.Session(), first, "viewer@example.org", "wrong!")
                    for _ in range(5)]
        assert failures == [200] * 5
        assert _login_attempt(requests.Session(), second, "viewer@example.org", password) == 429
    # The control: with memory:// each process counts alone (so the test above can fail).
    with _workers(tmp_path / "memory", 2, RATELIMIT_STORAGE_URI="memory://") as (first, second):
        assert _lookups(first, None, LIMIT + 1) == [404] * LIMIT + [429]
        assert _lookups(second, None, 1) == [404]


class PrivateRedis:
    """A Redis server of this test's own on a free port, that it may stop and start again."""

    def __init__(self, scratch: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server is not installed (Debian's redis-server)")
        self.binary, self.scratch, self.port = str(binary), scratch, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.scratch / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.scratch)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = _redis_client(self.url) if wait_until(self._answers, 20) else None
        assert client is not None, tail(self.scratch / "redis.log")
        client.close()

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def keys(self) -> list[bytes]:
        import redis

        return list(redis.Redis(port=self.port, socket_connect_timeout=1).scan_iter())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def test_a_redis_outage_costs_the_sharing_not_a_500(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        with _workers(tmp_path / "outage", 1, RATELIMIT_STORAGE_URI=server.url) as [base]:
            assert _lookups(base, None, 2) == [404, 404]
            assert server.keys()
            server.kill()
            # Redis gone: the worker counts in its own memory, from zero, and still limits.
            during = _lookups(base, None, LIMIT + 1)
            assert during == [404] * LIMIT + [429], during
            assert _login_attempt(requests.Session(), base, "nobody@example.org",
                                  "wrong!") == 200
            # Redis back (empty): within seconds the worker counts there again.
            server.start()
            assert wait_until(lambda: bool(_lookups(base, None, 1)) and bool(server.keys()),
                              30, interval=1), "the worker never went back to Redis"
    finally:
        server.kill()
    log = (tmp_path / "outage" / "gunicorn-0.log").read_text()
    assert "Traceback" not in log, log[-3000:]
