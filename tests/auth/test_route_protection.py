"""Every route the app registers refuses anonymous users, except the few that must be public."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.routing import Rule

# Public on purpose: the respondent's pages (reached by token), login, health, language switch,
# and the API's contract (the OpenAPI document and its docs page describe no data).
PUBLIC_ENDPOINTS = {"static", "auth.login", "main.health", "main.set_language", "main.favicon",
                    "api.openapi_document", "api.api_docs"}
PUBLIC_PREFIXES = ("respond.",)
SAMPLE_ARGUMENTS = {"int": "1", "default": "x", "path": "x/y", "string": "x"}
VARIABLE_RE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")


def _sample_path(rule: Rule) -> str:
    """The rule's path with a plausible value in each variable part."""

    def sample(match: re.Match[str]) -> str:
        return SAMPLE_ARGUMENTS.get(match.group(1) or "default", "x")

    return VARIABLE_RE.sub(sample, rule.rule)


def _protected_routes(app: Flask) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, _sample_path(rule)))
    return routes


def test_every_registered_route_refuses_anonymous_users(make_app) -> None:
    # CSRF off so that the check reached is the authentication one, not the CSRF one.
    app = make_app(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    routes = _protected_routes(app)
    assert len(routes) > 10, "the route table looks too small to be the real app"
    let_through = []
    for endpoint, method, path in routes:
        response = client.open(path, method=method)
        refused = response.status_code == 401 or (
            response.status_code == 302 and "/auth/login" in response.headers["Location"]
        )
        if not refused:
            let_through.append((endpoint, method, path, response.status_code))
    assert not let_through, f"routes open to anonymous users: {let_through}"


@pytest.mark.parametrize("path", ["/dashboards/", "/dashboards/_dash-layout", "/admin/outbox"])
def test_known_private_pages_redirect_to_login(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/auth/login")


def test_api_without_key_is_401_with_the_error_shape(client) -> None:
    response = client.post("/api/v1/complaints", json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
