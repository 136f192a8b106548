"""The app's route table as requests: every registered route but the public ones, with a
plausible value in each variable part, and whether an answer refused an anonymous visitor."""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

# Public on purpose: the respondent's pages (reached by token), login, health, language switch,
# the API's contract (the OpenAPI document and its docs page describe no data), the organisation's
# logo (shown on the survey pages), the page of a password link (the token is the key), the
# walk-in survey a poster's QR code opens (``walkin.``), and the
# SMS gateway's delivery-report callback (``callbacks.``: its body is signed with an HMAC).
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "main.health",
    "main.set_language",
    "main.favicon",
    "api.openapi_document",
    "api.api_docs",
    "organisation.logo",
    "staff.set_password",
}
PUBLIC_PREFIXES = ("respond.", "callbacks.", "walkin.")
SAMPLE_ARGUMENTS = {"int": "1", "default": "x", "path": "x/y", "string": "x"}
VARIABLE_RE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")


def sample_path(rule: Rule) -> str:
    """The rule's path with a plausible value in each variable part."""

    def sample(match: re.Match[str]) -> str:
        return SAMPLE_ARGUMENTS.get(match.group(1) or "default", "x")

    return VARIABLE_RE.sub(sample, rule.rule)


def protected_routes(app: Flask, public: set[str] | None = None) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every route outside ``public`` (default: the public ones)."""
    public = PUBLIC_ENDPOINTS if public is None else public
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public or rule.endpoint.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, sample_path(rule)))
    return routes


def refused_as_anonymous(response: TestResponse) -> bool:
    """A 401, or a redirect to the login page."""
    return response.status_code == 401 or (
        response.status_code == 302 and "/auth/login" in response.headers["Location"]
    )
