"""The ``Server`` header: Werkzeug writes its own version and Python's into every answer
("Werkzeug/3.1.3 Python/3.11.2"), which tells an attacker which published flaws to try. Every
answer of the app, errors and static files included, names no software and no version."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from flask.testing import FlaskClient

from tests.support.server import LiveServer


@pytest.mark.parametrize("path", ["/healthz", "/auth/login", "/nowhere", "/static/css/app.css",
                                  "/api/v1/units", "/dashboards/"])
def test_no_answer_names_the_server_software(live_server: LiveServer, path: str) -> None:
    try:
        with urllib.request.urlopen(live_server.url + path) as answer:  # noqa: S310 (localhost)
            headers = answer.headers
    except urllib.error.HTTPError as refused:
        headers = refused.headers
    servers = headers.get_all("Server") or []
    assert servers, "no Server header: Werkzeug would write its own"
    for server in servers:
        assert "Werkzeug" not in server and "Python" not in server, server
        assert not any(character.isdigit() for character in server), server


def test_the_app_answers_with_a_neutral_server_header(client: FlaskClient) -> None:
    # Behind another server (gunicorn), the app's own header is the one that is sent.
    for path in ("/healthz", "/nowhere", "/auth/login"):
        assert client.get(path).headers.get_all("Server") == ["Memnun"]
