"""The respondent's pages as an attacker or a curious proxy sees them: headers, cookie, no inline
code, and the rate limit on every address that looks a token up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.config import load_config
from app.models import InvitationState
from tests.support.respond import GOOD_ANSWERS, form_fields, invite, open_link, post_survey

pytestmark = pytest.mark.usefixtures("compiled_catalogues")


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def assert_private_headers(response: Any) -> None:
    headers = response.headers
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    sources = " ".join(" ".join(values) for values in policy.values())
    assert "unsafe" not in sources and "http" not in sources and "*" not in sources
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


def assert_no_inline_code(page: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
    assert "<style" not in page and " style=" not in page, "an inline style"
    assert not re.search(r"\son[a-z]+=", page), "an inline event handler"
    assert "javascript:" not in page


def test_every_respondent_response_carries_the_strict_headers(app, client) -> None:
    invited = invite(app, external_id="CMP-1")
    closed = invite(app, external_id="CMP-2", state=InvitationState.EXPIRED)
    seen = []

    def check(response: Any, status: int) -> Any:
        assert response.status_code == status, response.request.path
        assert_private_headers(response)
        if response.mimetype == "text/html" and response.status_code != 302:
            assert_no_inline_code(response.get_data(as_text=True))
        assert invited.token not in response.headers.get("Location", "")
        seen.append(status)
        return response

    check(client.get(f"/s/{invited.token}?overall=3"), 302)
    page = check(client.get("/s/survey"), 200).get_data(as_text=True)
    assert '<meta name="referrer" content="no-referrer">' in page
    action, one_click = form_fields(page, "one-click")
    check(client.post(action, data=one_click, headers={"X-Memnun-Fetch": "1"}), 204)
    check(client.get(f"/s/{invited.token}/opt-out"), 302)
    check(client.get("/s/opt-out"), 200)
    check(client.post("/s/survey", data={"csrf_token": "old", **GOOD_ANSWERS}), 200)  # resend
    check(post_survey(client, invited.token, GOOD_ANSWERS), 302)
    check(client.get("/s/thanks"), 200)
    check(open_link(client, invited.token), 200)  # already answered
    check(open_link(client, closed.token), 410)
    check(client.get(f"/s/{'Q' * 43}"), 404)
    check(app.test_client().get("/s/survey"), 404)
    check(client.get("/s/opted-out"), 200)
    assert len(seen) == 13


def test_the_static_files_of_the_pages_hold_no_inline_code_either() -> None:
    static = Path(__file__).resolve().parents[2] / "app" / "static"
    script = (static / "js" / "survey.js").read_text()
    assert "eval(" not in script and "new Function" not in script and "innerHTML" not in script
    assert "http://" not in script and "https://" not in script
    style = (static / "css" / "survey.css").read_text()
    assert "@import" not in style and "url(" not in style  # nothing fetched from anywhere


def test_the_link_cookie_is_secure_when_the_site_is(make_app) -> None:
    app = make_app(SESSION_COOKIE_SECURE=True)
    invited = invite(app)
    response = app.test_client().get(f"/s/{invited.token}")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("memnun_")]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_token_addresses_are_rate_limited(make_app) -> None:
    app = make_app(RATELIMIT_ENABLED=True, MEMNUN_RESPOND_RATE_LIMIT="5 per minute",
                   BABEL_DEFAULT_LOCALE="tr")
    client = app.test_client()
    invited = invite(app)
    # One budget for every address that looks a token up: guessing through the cookie is no
    # way around the limit on the link.
    for path in (f"/s/{invited.token}", "/s/survey", f"/s/{'R' * 43}", "/s/opt-out",
                 f"/s/{invited.token}/opt-out"):
        assert client.get(path).status_code in (200, 302, 404)
    refused = client.get(f"/s/{invited.token}")
    assert refused.status_code == 429
    assert "Çok fazla istek" in refused.get_data(as_text=True)
    assert refused.headers.get("Retry-After")
    assert_private_headers(refused)
    assert client.get("/s/survey").status_code == 429
    assert client.get("/s/thanks").status_code == 200  # no token, no limit
    # Another address has its own budget.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.get("/s/survey").status_code == 404


def test_the_rate_limit_is_configurable_and_sixty_a_minute_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMNUN_RESPOND_RATE_LIMIT", raising=False)
    monkeypatch.setenv("MEMNUN_SECRET_KEY", "x")
    assert load_config(tmp_path)["MEMNUN_RESPOND_RATE_LIMIT"] == "60 per minute"
    monkeypatch.setenv("MEMNUN_RESPOND_RATE_LIMIT", "10 per minute")
    assert load_config(tmp_path)["MEMNUN_RESPOND_RATE_LIMIT"] == "10 per minute"
    assert load_config(tmp_path)["MEMNUN_RETENTION_DAYS"] == 180


@pytest.mark.parametrize("path", ["/s/survey", "/s/opt-out"])
def test_a_post_without_csrf_token_counts_against_the_limit_before_any_lookup(
    make_app, path: str
) -> None:
    # The CSRF check ran before the limit and looked the cookie's token up to answer: tokens
    # could be tried there without end, a valid one answering otherwise than a made-up one.
    app = make_app(RATELIMIT_ENABLED=True, MEMNUN_RESPOND_RATE_LIMIT="3 per minute",
                   BABEL_DEFAULT_LOCALE="tr")
    invited = invite(app)
    valid, made_up = app.test_client(), app.test_client()
    valid.set_cookie("memnun_survey", invited.token, path="/s")
    made_up.set_cookie("memnun_survey", "Q" * len(invited.token), path="/s")
    for _ in range(3):
        assert valid.post(path, data={"csrf_token": "old"}).status_code == 200
    for name, client in (("valid", valid), ("made up", made_up)):
        refused = client.post(path, data={"csrf_token": "old", **GOOD_ANSWERS})
        assert refused.status_code == 429, name
        assert "Çok fazla istek" in refused.get_data(as_text=True)
        assert client.post(path, data={}).status_code == 429  # no token field at all
