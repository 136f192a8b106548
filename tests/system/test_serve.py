"""``memnun serve``: gunicorn with the settings' workers, threads and timeouts, no scheduler, and
an access log that holds no survey token, query string, cookie or key (whatever format a
deployer writes); ``MEMNUN_TRANSACTION_POOLING`` switches psycopg's prepared statements off.
The command run for real, behind HAProxy with PgBouncer, is in tests/cluster."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from gunicorn.config import Config

from app import create_app
from app.cli import serve_command
from app.databases import transaction_pooling_options
from app.distribution.tokens import token_for
from app.extensions import db
from app.serving import ACCESS_LOG_FORMAT, gunicorn_logger_class
from tests.support.database import base_config


def served_options(app: Flask, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("app.serving.serve_with_gunicorn",
                        lambda served, options: seen.update(options, app=served))

    def no_scheduler(*_: Any) -> None:
        raise AssertionError("memnun serve started a scheduler")

    monkeypatch.setattr("app.scheduler.start_background_scheduler", no_scheduler)
    result = app.test_cli_runner().invoke(serve_command, list(args))
    assert result.exit_code == 0, result.output
    return seen


def test_serve_takes_workers_threads_and_timeouts_from_the_settings(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(MEMNUN_WEB_BIND="127.0.0.1:8123", MEMNUN_WEB_WORKERS=5, MEMNUN_WEB_THREADS=3,
                   MEMNUN_WEB_TIMEOUT=45, MEMNUN_WEB_GRACEFUL_TIMEOUT=12)
    options = served_options(app, monkeypatch)
    assert options["app"] is app
    assert (options["bind"], options["workers"], options["threads"]) == (["127.0.0.1:8123"], 5, 3)
    assert (options["timeout"], options["graceful_timeout"]) == (45, 12)
    assert options["access_log_format"] == ACCESS_LOG_FORMAT and options["accesslog"] == "-"
    assert options["post_worker_init"].__name__ == "post_worker_init"  # gc.freeze()
    given = served_options(app, monkeypatch, "--bind", "0.0.0.0:9000", "--workers", "2")
    assert (given["bind"], given["workers"], given["threads"]) == (["0.0.0.0:9000"], 2, 3)


def test_the_default_is_two_workers_per_core_and_one(tmp_path: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.delenv("MEMNUN_WEB_WORKERS", raising=False)
    app = create_app(base_config(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path))
    assert app.config["MEMNUN_WEB_WORKERS"] == 9


def access_line(format_: str, path: str, query: str, referer: str) -> str:
    """What gunicorn's access log writes for one request through ``memnun serve``'s logger."""
    config = Config()
    config.set("access_log_format", format_)
    logger = gunicorn_logger_class()(config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?{query}", "PATH_INFO": path,
               "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.9",
               "HTTP_REFERER": referer, "HTTP_COOKIE": "session=SESSIONSECRET"}
    request = SimpleNamespace(headers=[("COOKIE", "session=SESSIONSECRET"),
                                       ("AUTHORIZATION", "Bearer mk_KEYSECRET"),
                                       ("REFERER", referer)])
    response = SimpleNamespace(status="302 FOUND", sent=10,
                               headers=[("Set-Cookie", "session=NEWSECRET")])
    atoms = logger.atoms(response, request, environ, dt.timedelta(milliseconds=12))
    return format_ % atoms


@pytest.mark.parametrize("format_", [
    ACCESS_LOG_FORMAT,
    '%(h)s "%(r)s" %(s)s %(U)s?%(q)s %(f)s %({cookie}i)s %({authorization}i)s %({referer}i)s '
    '%({set-cookie}o)s %({query_string}e)s %({raw_uri}e)s %({http_cookie}e)s',
])
def test_the_access_log_holds_no_token_query_cookie_or_key(app: Flask, format_: str) -> None:
    import app.serving as serving

    serving._served_url_map = app.url_map
    token = token_for(4242, app.config["SECRET_KEY"])
    line = access_line(format_, f"/s/{token}", "overall=5", f"https://m.example/s/{token}?x=1")
    for secret in (token, "overall=5", "SESSIONSECRET", "KEYSECRET", "NEWSECRET", "x=1"):
        assert secret not in line, line
    assert "/s/<token>" in line and "302" in line


def test_transaction_pooling_switches_prepared_statements_off(make_app: Any,
                                                              backend: str) -> None:
    options = transaction_pooling_options("postgresql+psycopg://h/db", {"pool_recycle": 5})
    assert options == {"pool_recycle": 5, "connect_args": {"prepare_threshold": None}}
    assert transaction_pooling_options("sqlite:///x", {}) == {}
    app = make_app(MEMNUN_TRANSACTION_POOLING=True)
    with app.app_context():
        if backend == "postgresql":  # the driver's connection as the app gets it
            raw = db.session.connection().connection.driver_connection
            assert raw.prepare_threshold is None
        db.session.remove()
    plain = make_app()
    with plain.app_context():
        if backend == "postgresql":
            assert db.session.connection().connection.driver_connection.prepare_threshold == 5
        db.session.remove()
