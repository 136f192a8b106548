"""Open redirects: a ``next`` that a browser reads as another host must never leave the app.

Browsers drop tabs and newlines from a URL, read a backslash as a slash and ``////host`` as
``//host``; Werkzeug collapses leading slashes in the Location it sends. Every target below is
one of those, and every answer must stay on this site.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.support.web import csrf_token_from

HOSTILE_TARGETS = [
    "////evil.example/phish",
    "///evil.example",
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/\\evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "java\tscript:alert(1)",
    "javascript:alert(1)",
    " //evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "evil.example",
]
SITE = "http://localhost/auth/login"


def as_a_browser_follows(location: str) -> str:
    """The absolute URL a browser goes to for ``location`` (WHATWG URL parsing, roughly)."""
    cleaned = "".join(c for c in location if c not in "\t\n\r").strip("\x00 \x0b\x0c")
    return urljoin(SITE, cleaned.replace("\\", "/"))


def assert_local(location: str) -> None:
    followed = urlsplit(as_a_browser_follows(location))
    assert followed.scheme == "http" and followed.netloc == "localhost", location
    assert location.startswith("/") and not location.startswith("//"), location
    assert not any(c in location for c in "\\\t\r\n\x00"), location


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_login_never_sends_a_signed_in_user_to_another_host(
    admin_client: FlaskClient, target: str
) -> None:
    response = admin_client.get("/auth/login", query_string={"next": target})
    assert response.status_code == 302
    assert_local(response.headers["Location"])


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_language_switch_never_sends_anyone_to_another_host(
    client: FlaskClient, target: str
) -> None:
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/language", data={"language": "en", "next": target, "csrf_token": token}
    )
    assert response.status_code == 302
    assert_local(response.headers["Location"])


def test_local_targets_still_work(admin_client: FlaskClient) -> None:
    response = admin_client.get("/auth/login", query_string={"next": "/reports?unit=3"})
    assert response.headers["Location"] == "/reports?unit=3"
    token = csrf_token_from(admin_client.get("/").get_data(as_text=True))
    switched = admin_client.post(
        "/language", data={"language": "tr", "next": "/auth/login", "csrf_token": token}
    )
    assert switched.headers["Location"] == "/auth/login"
