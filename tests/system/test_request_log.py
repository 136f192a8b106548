"""The request log of the server ``memnun run`` starts: no survey token, no query string.

Whoever reads a log with ``GET /s/<token>?overall=5`` in it can answer the survey in the
person's name or opt them out.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from app.cli import run_command
from tests.support.respond import invite


def handler_of_memnun_run(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The request handler ``memnun run`` gives Werkzeug's server (its default when none)."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *a, **k: seen.update(k))
    result = app.test_cli_runner().invoke(run_command, ["--no-scheduler", "--port", "5999"])
    assert result.exit_code == 0, result.output
    return seen.get("request_handler") or WSGIRequestHandler


def test_the_request_log_holds_neither_token_nor_query(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    invited = invite(app)
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         request_handler=handler_of_memnun_run(app, monkeypatch))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            first = requests.get(f"{base}/s/{invited.token}?overall=5&lang=tr",
                                 allow_redirects=False, timeout=10)
            requests.get(f"{base}/s/{invited.token}/opt-out?lang=en", allow_redirects=False,
                         timeout=10)
            requests.get(f"{base}/s/{invited.token}/", allow_redirects=False, timeout=10)
            requests.get(f"{base}/healthz?probe=abc", timeout=10)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert first.status_code == 302
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage())  # no terminal colours
             for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) == 4, lines
    for line in lines:
        assert invited.token not in line and "?" not in line, line
        assert "overall" not in line and "probe" not in line, line
    assert '"GET /s/<token> HTTP/1.1" 302' in lines[0]
    assert '"GET /s/<token>/opt-out HTTP/1.1" 302' in lines[1]
    assert '"GET /s/<token>/... HTTP/1.1" 404' in lines[2]
    assert '"GET /healthz HTTP/1.1" 200' in lines[3]
