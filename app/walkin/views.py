"""The walk-in survey a poster's QR code opens: ``/w/<token>`` (the point's link code; named
``token`` so that request logs leave it out, see app.serving), no personal data asked or kept.

A GET only shows (QR and mail scanners open links); the POST stores, within a rate limit per
address. The page's signed cookie remembers which points this device answered at today, so a
second answer the same day is refused kindly (409) and nothing is stored; the device's keyed
hash backs it up in ``services.submit_walk_in``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as HttpResponse

from app.extensions import db, limiter
from app.languages import language_name
from app.models import ServicePoint
from app.respond.forms import build_form, survey_answers
from app.respond.pages import render_page, speaking, thanks_page
from app.respond.questions import translated
from app.respond.services import SurveyVersion
from app.respond.views import CONTENT_SECURITY_POLICY
from app.timefmt import today
from app.walkin import bp
from app.walkin.services import (
    AnsweredToday,
    CodeState,
    device_fingerprint,
    find_point,
    point_version,
    submit_walk_in,
)

log = logging.getLogger(__name__)

COOKIE = "memnun_walk_in"
THANKS_KEY = "walk_in_thanks"


def _rate_limit() -> str:
    return current_app.config.get("MEMNUN_WALKIN_RATE_LIMIT") or "10 per minute"


@bp.after_request
def _private_headers(response: HttpResponse) -> HttpResponse:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


# --- the device's cookie --------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="walk-in-answered")


def _answered_points(day: dt.date) -> list[int]:
    """The points this device answered at on ``day``, as its signed cookie says."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return []
    try:
        kept = _serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(kept, dict) or kept.get("day") != day.isoformat():
        return []
    return [p for p in kept.get("points") or [] if isinstance(p, int)]


def _remember_answer(response: HttpResponse, point_id: int, day: dt.date) -> None:
    points = sorted({*_answered_points(day), point_id})
    value = _serializer().dumps({"day": day.isoformat(), "points": points})
    response.set_cookie(COOKIE, value, max_age=2 * 86400, path="/w", httponly=True,
                        samesite="Lax", secure=request.is_secure)


# --- pages ------------------------------------------------------------------------------------


def _language(version: SurveyVersion) -> str:
    asked = request.args.get("lang")
    if asked in version.languages:
        return str(asked)
    return request.accept_languages.best_match(version.languages) or version.languages[0]


def _questions(version: SurveyVersion, language: str) -> list[Any]:
    with speaking(language):
        return version.questions(language)


def _survey_page(point: ServicePoint, code: str, version: SurveyVersion, language: str,
                 form: Any, status: int = 200, *, resend: bool = False) -> ResponseReturnValue:
    questions = _questions(version, language)
    fields = {q.key: form[f"q_{q.key}"] for q in questions}

    def text(name: str) -> str:
        return translated(version.definition.get(name), language, version.languages[0])

    return render_page(
        "walkin/survey.html", language, status,
        point=point, questions=questions, fields=fields, title=text("title"),
        intro=text("intro"), resend=resend,
        problems=[(q, fields[q.key].errors) for q in questions if fields[q.key].errors],
        form_problems=list(form.form_errors),
        action=url_for(".survey", token=code, lang=language),
        language_links=[{"code": c, "name": language_name(c), "current": c == language,
                         "url": url_for(".survey", token=code, lang=c)}
                        for c in version.languages],
    )


def _closed(state: CodeState) -> ResponseReturnValue:
    language = request.accept_languages.best_match(current_app.config["MEMNUN_LANGUAGES"]) or ""
    if state == CodeState.ENDED:
        return render_page("walkin/ended.html", language, 410)
    return render_page("walkin/unknown.html", language, 404)


Opened = tuple[ServicePoint, SurveyVersion, None] | tuple[None, None, ResponseReturnValue]


def _open_point(code: str) -> Opened:
    """The point and questionnaire version a code opens, or the page saying why it does not."""
    point, state = find_point(code)
    version = point_version(point) if point is not None and state == CodeState.OPEN else None
    if point is None or version is None:
        return None, None, _closed(CodeState.ENDED if point is not None else state)
    return point, version, None


@bp.get("/<token>")
def survey_form(token: str) -> ResponseReturnValue:
    point, version, closed = _open_point(token)
    if point is None or version is None:
        return closed
    language = _language(version)
    db.session.commit()  # a GET only reads: end its transaction
    if point.id in _answered_points(today()):
        return render_page("walkin/answered.html", language, 200, point=point)
    with speaking(language):
        form = build_form(_questions(version, language), formdata=None, data={})
    return _survey_page(point, token, version, language, form)


@bp.post("/<token>")
@limiter.limit(_rate_limit, scope="walk-in")
def survey(token: str) -> ResponseReturnValue:
    point, version, closed = _open_point(token)
    if point is None or version is None:
        return closed
    language = _language(version)
    day = today()
    if point.id in _answered_points(day):
        return render_page("walkin/answered.html", language, 409, point=point)
    questions = _questions(version, language)
    with speaking(language):
        form = build_form(questions)
        answers = survey_answers(form, questions)
    if answers is None:
        return _survey_page(point, token, version, language, form, 400)
    fingerprint = device_fingerprint(point.id, request.remote_addr or "",
                                     request.headers.get("User-Agent", ""), day)
    try:
        submit_walk_in(point, version, answers, language, fingerprint=fingerprint,
                       answered_here_today=False)
    except AnsweredToday:
        return render_page("walkin/answered.html", language, 409, point=point)
    session[THANKS_KEY] = {"version": version.id, "language": language}
    response = redirect(url_for(".thanks"))
    _remember_answer(response, point.id, day)
    return response


@bp.get("/thanks")
def thanks() -> ResponseReturnValue:
    return thanks_page(session.get(THANKS_KEY), "walkin/thanks.html")


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """A lost session (the page left open, cookies cleared): keep what was typed, ask again."""
    token = (request.view_args or {}).get("token", "")
    point, version, closed = _open_point(token)
    if point is None or version is None:
        return closed
    language = _language(version)
    with speaking(language):
        form = build_form(_questions(version, language))
    return _survey_page(point, token, version, language, form, 400, resend=True)


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> ResponseReturnValue:
    language = request.accept_languages.best_match(current_app.config["MEMNUN_LANGUAGES"]) or ""
    return render_page("respond/busy.html", language, 429)
