"""Crafted values in the path: every route with an int, string or path argument, every method,
signed in as an admin (and with an admin API key under /api/), with a number past 64 bits, a
negative number, NUL and a lone surrogate in each argument in turn. None may answer a server
error: PostgreSQL refuses NUL in text and integers past its columns, so without a check at the
edge they are 500s. The other arguments of the route hold real values, so the crafted one is
the only thing wrong with the request.

CSRF is off so that the view is reached (CSRF has its own tests).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.extensions import db
from tests.support.factories import make_user

CRAFTED = (str(10**20), "-1", "%00", "%ED%A0%80", "a%01b")
CONVERTERS = {"int", "default", "string", "path", "sent"}
NOT_CALLED = {"auth.logout", "auth.login"}  # would end or replace the session under test
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _variables(rule: Rule) -> list[tuple[str, str]]:
    return [(match.group(1) or "default", match.group(2))
            for match in VARIABLE.finditer(rule.rule)]


def crafted_requests(app: Flask, values: dict[str, str]) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) with one crafted value in one argument, for every rule."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_CALLED:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for converter, name in _variables(rule):
            if converter not in CONVERTERS:
                continue
            for value in CRAFTED:
                chosen = {**values, name: value}
                path = VARIABLE.sub(lambda m, c=chosen: c.get(m.group(2), "x"), rule.rule)
                found.extend((rule.endpoint, method, path) for method in methods)
    return found


def _sign_in(client: Any, app: Flask) -> None:
    signed_in = client.post("/auth/login", data={"email": "admin@example.org",
                                                 "password": make_user(app)})
    assert signed_in.status_code == 302


@pytest.fixture
def world(make_app: Any) -> tuple[Flask, dict[str, str], str]:
    from app.auth.services import create_api_key
    from app.design.services import install_template, template_paths
    from app.models import ApiScope, DistributionRule

    # Errors answer 500 instead of propagating, so that every failing route is listed.
    app = make_app(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        ces = install_template(next(p for p in template_paths() if p.stem == "ces"))
        db.session.add(DistributionRule(key="ces", questionnaire=ces))
        db.session.commit()
        _, api_key = create_api_key("crafted", [ApiScope.ADMIN])
    values = {"key": "ces", "number": "1", "question_key": "effort", "code": "fen",
              "token": "x" * 43, "package_name": "dash", "path": "drill", "name": "x.eml",
              "filename": "css/app.css", "fingerprinted_path": "deps/polyfill@7.12.1.min.js"}
    return app, values, api_key


def test_no_crafted_path_value_makes_a_server_error(world: tuple[Flask, dict[str, str], str]
                                                    ) -> None:
    app, values, api_key = world
    client = app.test_client()
    _sign_in(client, app)
    requests = crafted_requests(app, values)
    assert any("/actions/" in path and str(10**20) in path for _, _, path in requests)
    failures = []
    for endpoint, method, path in requests:
        headers = {"Authorization": f"Bearer {api_key}"} if path.startswith("/api/") else {}
        status = client.open(path, method=method, headers=headers).status_code
        if status >= 500:
            failures.append(f"{method} {path} ({endpoint}): {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("invitation", [str(10**20), str(2**31), "²", "-1", "1\x00"])
def test_operations_retry_refuses_an_id_it_cannot_look_up(
        world: tuple[Flask, dict[str, str], str], invitation: str) -> None:
    app, _, _ = world
    client = app.test_client()
    _sign_in(client, app)
    response = client.post("/admin/operations/retry", data={"invitation": invitation})
    assert response.status_code == 400
