"""The respondent's pages: survey, thank-you, opt-out, and the pages for links that no longer work.

The e-mail links ``/s/<token>`` and ``/s/<token>/opt-out`` only move the token into a cookie and
send the browser on to ``/s/survey`` or ``/s/opt-out`` (see links.py), where the forms are shown
and posted. The link token is never logged (only the invitation id), pages are never cached, and
no Referer leaves them. A GET never stores anything: mail scanners open every link in a message.
A one-click answer from the e-mail is kept in the session, shown chosen, and stored by a POST the
page sends (its script, or a button when scripts are off) - see services.save_first_answer.
Every route that looks a token up counts against one rate limit first, and only then checks
CSRF (``token_lookup``): no answer about a token comes past the limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app, g, make_response, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as HttpResponse

from app.distribution.tokens import find_invitation, invitation_id_of
from app.extensions import csrf, db, limiter
from app.models import Complaint, Invitation, ServiceEvent
from app.respond import bp
from app.respond.forms import (
    OptOutForm,
    as_form_data,
    build_form,
    chosen_in_link,
    first_answers,
    survey_answers,
)
from app.respond.links import fingerprint, forget, remember, token_of_request
from app.respond.pages import (
    SurveyPage,
    blank_survey_page,
    invitation_language,
    link_closed_page,
    no_survey,
    render_page,
    speaking,
    survey_page,
    thanks_page,
    unknown_link,
)
from app.respond.services import (
    AlreadyAnswered,
    LinkState,
    SurveyClosed,
    SurveyLink,
    find_survey_link,
    link_state,
    partial_answers,
    save_first_answer,
    submit_response,
    survey_version,
)
from app.respond.services import opt_out as opt_out_person

log = logging.getLogger(__name__)
T = TypeVar("T")

# No inline script or style anywhere on these pages, nothing from another origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
THANKS_KEY = "respond_thanks"
OPTED_OUT_KEY = "respond_opted_out"
CHOSEN_KEY = "respond_chosen"  # {"link": fingerprint, "answers": {question key: value}}
SAVED_KEY = "respond_saved"  # fingerprint of the link whose first answer was just stored
STEP_FIELD = "_step"
FIRST_ANSWER = "first"
FETCH_HEADER = "X-Memnun-Fetch"  # sent by survey.js: answer with a status, not a page
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")

# The survey pages read an invitation as a ``SurveyLink`` (services.find_survey_link: the few
# columns they use, in one Core statement); the opt-out pages, rarer, as ORM objects with these
# (the version comes from services.survey_version, which keeps published versions in memory).
OPT_OUT_LOADS = (joinedload(Invitation.complaint).joinedload(Complaint.complainant),
                 joinedload(Invitation.service_event).joinedload(ServiceEvent.person))


def _rate_limit() -> str:
    return current_app.config.get("MEMNUN_RESPOND_RATE_LIMIT") or "60 per minute"


# Every route that looks a token up shares one budget per address: guessing tokens is slow.
token_lookup_limit = limiter.shared_limit(_rate_limit, scope="respond-token")

# The app-wide CSRF check runs before any view, so before the limit above, and its error page
# looks the cookie's token up (to keep what was typed): tokens could be tried there without
# limit. These pages check CSRF themselves, inside the limit (see ``token_lookup``).
csrf.exempt(bp)


def _check_csrf() -> None:
    """The check CSRFProtect would have made before the view; raises CSRFError."""
    config = current_app.config
    if config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True):
        csrf.protect()


def token_lookup(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """A route that looks a token up: first the shared rate limit, then CSRF, then the view."""

    @wraps(view)
    def checked(*args: object, **kwargs: object) -> ResponseReturnValue:
        _check_csrf()
        return view(*args, **kwargs)

    return token_lookup_limit(checked)


# A GET here only reads (see above), so its token lookup and whatever else it reads run outside
# any transaction: no BEGIN and COMMIT round trips around the one statement of a page.
READING = {"isolation_level": "AUTOCOMMIT"}
_READING_FLAG = "memnun_respond_reading"


def _start_reading() -> None:
    """Before a GET's first statement: its connection in autocommit (psycopg: set on the client,
    no round trip; the pool resets it when the connection is returned). PostgreSQL only: Python's
    sqlite3 begins no transaction for a SELECT anyway, and SQLAlchemy would reset the isolation
    level with a PRAGMA on every return to the pool."""
    if (request.method == "GET" and db.engine.dialect.name == "postgresql"
            and not db.session().in_transaction()):
        db.session.connection(execution_options=READING)
        setattr(g, _READING_FLAG, True)


@bp.after_request
def _end_reading(response: HttpResponse) -> HttpResponse:
    """A GET that read in a transaction after all (its connection was renewed, or a test's
    session had one open) ends it with a COMMIT, not the ROLLBACK of the session's close:
    psycopg 3 forgets its prepared statements on every ROLLBACK (and sends DEALLOCATE ALL), so
    with a rollback per page view the token lookup would be prepared again and again."""
    if request.method == "GET" and not g.pop(_READING_FLAG, False):
        db.session.commit()
    return response


@bp.after_request
def _private_headers(response: HttpResponse) -> HttpResponse:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _asked_language() -> str | None:
    asked = request.args.get("lang")
    return asked if asked and LANGUAGE_CODE.match(asked) else None


def _wants_status_only() -> bool:
    return request.headers.get(FETCH_HEADER) == "1"


def _retried(lookup: Callable[[], T]) -> T:
    """``lookup``, the first statement of every request here, tried once more on a new
    connection when the pooled one was found dead (PostgreSQL restarted): the engine pings no
    connection before use, and the error has renewed the whole pool, so nobody sees a 500."""
    try:
        _start_reading()
        return lookup()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.session.rollback()
        g.pop(_READING_FLAG, None)
        log.warning("database connection lost; the token lookup is tried again")
        return lookup()


def _lookup(token: str, *loads: object) -> Invitation | None:
    return _retried(lambda: find_invitation(token, *loads))


def _survey_link(token: str) -> SurveyLink | None:
    return _retried(lambda: find_survey_link(token))


def _exists(token: str) -> bool:
    """Whether the token is a link's, asking for its id only (no ORM object)."""
    return _retried(lambda: invitation_id_of(token)) is not None


def _clean_redirect(endpoint: str, token: str) -> HttpResponse:
    response = redirect(url_for(endpoint, lang=_asked_language()))
    remember(response, token)
    return response


# --- the e-mail links --------------------------------------------------------------------------


@bp.get("/<token>")
@token_lookup
def link(token: str) -> ResponseReturnValue:
    """The survey link from the e-mail: keep the token in a cookie, go on to the clean address.

    A one-click choice (``?overall=4``) is kept in the session, never stored here.
    """
    chosen = {}
    if request.args:  # a one-click choice: only an open link's questions can take it
        invitation = _survey_link(token)
        if invitation is None:
            return unknown_link()
        if link_state(invitation) == LinkState.OPEN:
            version = survey_version(invitation)
            assert version is not None  # the link is open
            chosen = chosen_in_link(version.questions(version.languages[0]), request.args)
    elif not _exists(token):
        return unknown_link()
    if chosen:
        session[CHOSEN_KEY] = {"link": fingerprint(token), "answers": chosen}
    elif CHOSEN_KEY in session:  # popping an absent key would still write the cookie again
        session.pop(CHOSEN_KEY)
    return _clean_redirect(".survey", token)


@bp.get("/<token>/opt-out")
@token_lookup
def opt_out_link(token: str) -> ResponseReturnValue:
    if not _exists(token):
        return unknown_link()
    return _clean_redirect(".opt_out", token)


@bp.post("/<token>/opt-out")
@token_lookup_limit
def one_click_opt_out(token: str) -> ResponseReturnValue:
    """RFC 8058 one-click unsubscribe: the mailbox provider POSTs ``List-Unsubscribe=One-Click``
    to the List-Unsubscribe URL when the person presses its "unsubscribe" button.

    No cookie and no CSRF token can come with it (the provider is not the person's browser):
    the link token in the URL, stored only as a hash, is what authenticates the request, and
    it is checked within the same rate limit as every token lookup. Only this exact body opts
    out: a scanner's GET never reaches here, and another POST body is refused with 400.
    """
    if request.form.get("List-Unsubscribe") != "One-Click":
        return (
            "This address takes the one-click unsubscribe of RFC 8058: POST the form body "
            "List-Unsubscribe=One-Click.\n",
            400,
            {"Content-Type": "text/plain; charset=utf-8"},
        )
    invitation = _lookup(token, *OPT_OUT_LOADS)
    if invitation is None:
        return unknown_link()
    opt_out_person(invitation, how="one_click")
    return render_page("respond/opted_out.html", invitation_language(invitation))


# --- the survey ----------------------------------------------------------------------------------


def _chosen_for(token: str) -> dict[str, str]:
    kept = session.get(CHOSEN_KEY) or {}
    answers = kept.get("answers") if kept.get("link") == fingerprint(token) else None
    return dict(answers) if isinstance(answers, dict) else {}


def _show(page: SurveyPage) -> ResponseReturnValue:
    stored = partial_answers(page.invitation)
    with speaking(page.language):
        chosen = chosen_in_link(page.questions, _chosen_for(page.token))
        data = as_form_data(page.questions, {**stored, **chosen})
    saved = SAVED_KEY in session and session.pop(SAVED_KEY) == page.link
    if data or saved:
        with speaking(page.language):
            form = build_form(page.questions, formdata=None, data=data)
        shown = survey_page(page, form, chosen=chosen, saved=saved)
    else:  # nothing chosen or stored yet: the page every respondent first sees
        shown = blank_survey_page(page)
    response = make_response(shown)
    remember(response, page.token)  # renews the cookie while the respondent is here
    return response


def _forget_chosen() -> None:
    if CHOSEN_KEY in session:
        session.pop(CHOSEN_KEY)


def _save_first(page: SurveyPage) -> ResponseReturnValue:
    """The one-click answer, posted by the page itself: stored as a partial response."""
    answers = first_answers(page.questions, request.form)
    status_only = _wants_status_only()
    if not answers:
        return ("", 400) if status_only else redirect(url_for(".survey", lang=page.language))
    try:
        save_first_answer(page.invitation, answers, page.language)
    except AlreadyAnswered:
        return ("", 409) if status_only else render_page("respond/answered.html", page.language)
    except SurveyClosed:
        return ("", 410) if status_only else render_page("respond/closed.html", page.language, 410)
    _forget_chosen()
    if status_only:
        return "", 204
    session[SAVED_KEY] = page.link
    return redirect(url_for(".survey", lang=page.language))


def _submit(page: SurveyPage) -> ResponseReturnValue:
    with speaking(page.language):
        form = build_form(page.questions)
        answers = survey_answers(form, page.questions)
    if answers is None:
        return survey_page(page, form)
    try:
        submit_response(page.invitation, answers, page.language)
    except AlreadyAnswered:
        return render_page("respond/answered.html", page.language)
    except SurveyClosed:
        return render_page("respond/closed.html", page.language, 410)
    _forget_chosen()
    session[THANKS_KEY] = {"version": page.version.id, "language": page.language}
    response = redirect(url_for(".thanks"))
    forget(response, page.token)  # its work is done: nothing left behind on a shared computer
    return response


def _requested_invitation(*loads: object) -> tuple[str, Invitation] | None:
    token = token_of_request()
    invitation = _lookup(token, *loads) if token else None
    return (token, invitation) if token and invitation is not None else None


def _requested_link() -> tuple[str, SurveyLink] | None:
    token = token_of_request()
    invitation = _survey_link(token) if token else None
    return (token, invitation) if token and invitation is not None else None


@bp.route("/survey", methods=["GET", "POST"])
@token_lookup
def survey() -> ResponseReturnValue:
    found = _requested_link()
    if found is None:
        return no_survey()
    token, invitation = found
    closed = link_closed_page(invitation)
    if closed is not None:
        if _wants_status_only():  # the page's script reloads to show why
            return "", 409 if link_state(invitation) == LinkState.ANSWERED else 410
        return closed
    page = SurveyPage.open(invitation, token, _asked_language())
    if request.method == "GET":
        return _show(page)
    if request.form.get(STEP_FIELD) == FIRST_ANSWER:
        return _save_first(page)
    return _submit(page)


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """An expired or missing CSRF token (a survey left open overnight, a lost session cookie)
    must not throw away what was typed: show the form again, filled in, and ask to send again."""
    opting_out = request.endpoint == "respond.opt_out"
    found = _requested_invitation(*OPT_OUT_LOADS) if opting_out else _requested_link()
    if found is None:
        return no_survey()
    token, invitation = found
    log.info("CSRF check failed on %s for invitation %s", request.endpoint, invitation.id)
    if _wants_status_only():
        return "", 400
    if opting_out:
        assert isinstance(invitation, Invitation)
        return _opt_out_page(invitation, token, invitation_language(invitation), resend=True)
    closed = link_closed_page(invitation)
    if closed is not None:
        return closed
    page = SurveyPage.open(invitation, token, _asked_language())
    with speaking(page.language):
        form = build_form(page.questions)  # the posted answers, not checked yet
        chosen = chosen_in_link(page.questions, _chosen_for(token))  # its button, once more
    return survey_page(page, form, resend=True, chosen=chosen)


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> ResponseReturnValue:
    language = str(invitation_language(None, _asked_language()))
    return render_page("respond/busy.html", language, 429)


@bp.route("/thanks")
def thanks() -> ResponseReturnValue:
    return thanks_page(session.get(THANKS_KEY), "respond/thanks.html")


# --- opting out ----------------------------------------------------------------------------------


def _opt_out_page(
    invitation: Invitation, token: str, language: str, *, resend: bool = False
) -> ResponseReturnValue:
    complainant = invitation.person
    return render_page(
        "respond/opt_out.html",
        language,
        form=OptOutForm(),
        link_id=fingerprint(token),
        action=url_for(".opt_out", lang=language),
        already=bool(complainant is not None and complainant.opted_out_at),
        resend=resend,
    )


@bp.route("/opt-out", methods=["GET", "POST"])
@token_lookup
def opt_out() -> ResponseReturnValue:
    found = _requested_invitation(*OPT_OUT_LOADS)
    if found is None:
        return no_survey()
    token, invitation = found
    language = invitation_language(invitation, _asked_language())
    form = OptOutForm()
    if form.validate_on_submit():
        opt_out_person(invitation)
        session[OPTED_OUT_KEY] = language
        response = redirect(url_for(".opted_out"))
        forget(response, token)
        return response
    return _opt_out_page(invitation, token, language, resend=bool(form.errors))


@bp.route("/opted-out")
def opted_out() -> ResponseReturnValue:
    language = str(session.get(OPTED_OUT_KEY) or current_app.config["BABEL_DEFAULT_LOCALE"])
    return render_page("respond/opted_out.html", language)
