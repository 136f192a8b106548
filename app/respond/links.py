"""Keeping the survey link's token out of every address after the first.

The e-mail link ``/s/<token>`` is opened once: its token goes into a cookie (HttpOnly,
SameSite=Lax, Path=/s, Secure when the session cookie is) and the browser is sent on to a clean
address (``/s/survey``, ``/s/opt-out``). From there on the token is in no URL, so it cannot leak
through the browser's history, a Referer header or an access log.

The cookie keeps the last few links opened, newest first. The clean address shows the newest;
a form names the link it was shown for by a fingerprint (not the token), so that a survey still
open in another tab is stored against its own invitation, never against a newer one.
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from werkzeug.wrappers import Response

from app.distribution.tokens import TOKEN_LENGTH

COOKIE_NAME = "memnun_survey"
COOKIE_PATH = "/s"
KEPT_LINKS = 3
FORM_FIELD = "_survey"  # cannot be a question key, which starts with a letter
DEFAULT_LIFETIME = 24 * 3600


def fingerprint(token: str) -> str:
    """A short, non-secret name for a token that a page may show: it opens nothing."""
    return hashlib.sha256(f"form:{token}".encode()).hexdigest()[:16]


def cookie_lifetime() -> int:
    """Seconds the cookie lives, renewed by every survey page shown.

    As long as the CSRF token of the form: a form that can still be sent can always be matched
    to its link, and an expired CSRF token can still be answered with the form filled in.
    """
    configured = current_app.config.get("MEMNUN_RESPOND_COOKIE_SECONDS")
    return int(configured or current_app.config.get("WTF_CSRF_TIME_LIMIT") or DEFAULT_LIFETIME)


def tokens_in_cookie() -> list[str]:
    raw = request.cookies.get(COOKIE_NAME, "")
    return [token for token in raw.split(".") if len(token) == TOKEN_LENGTH][:KEPT_LINKS]


def token_of_request() -> str | None:
    """The token this request is about: the one the posted form names, else the newest."""
    tokens = tokens_in_cookie()
    named = request.form.get(FORM_FIELD) if request.method == "POST" else None
    if named:
        return next((token for token in tokens if fingerprint(token) == named), None)
    return tokens[0] if tokens else None


def _store(response: Response, tokens: list[str]) -> None:
    if not tokens:
        response.delete_cookie(
            COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
        return
    response.set_cookie(
        COOKIE_NAME,
        ".".join(tokens[:KEPT_LINKS]),
        max_age=cookie_lifetime(),
        path=COOKIE_PATH,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )


def remember(response: Response, token: str) -> None:
    """Make ``token`` the newest link of the cookie (and renew the cookie's lifetime)."""
    _store(response, [token, *(other for other in tokens_in_cookie() if other != token)])


def forget(response: Response, token: str) -> None:
    """Drop ``token`` from the cookie once its link has done its work."""
    _store(response, [other for other in tokens_in_cookie() if other != token])
