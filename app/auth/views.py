from __future__ import annotations

import datetime as dt
import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp, throttle, two_factor
from app.auth.forms import LoginCodeForm, LoginForm
from app.auth.pages import no_store
from app.auth.services import authenticate
from app.auth.sessions import (
    SESSION_KEY,
    end_other_sessions,
    end_session,
    session_user,
    start_session,
)
from app.extensions import db, limiter, login_manager
from app.models import User
from app.redirects import local_target

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"

#: Where a login waits between a right password and the code (app.auth.two_factor). It is not a
#: login: flask-login knows nothing of it, so every page still sees an anonymous visitor.
SECOND_STEP_KEY = "second_step"
SECOND_STEP_MINUTES = 5
#: One budget per client for both steps of a login (the per-account one is app.auth.throttle).
login_limit = limiter.shared_limit("10 per minute", scope="staff-login", methods=["POST"])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # Only with an open, unexpired server-side session (app.auth.sessions), never from the
    # user id in the cookie alone: a cookie copied before logout or a timeout is worthless.
    return session_user(session.get(SESSION_KEY), int(user_id))


@bp.before_app_request
def check_staff_session() -> None:
    # Load a signed-in user (and so check the session's timeouts) before any view runs: the
    # loader's small commit (app.auth.sessions) then never lands in the middle of a view's
    # transaction. Anonymous sessions (respondents) are left alone.
    if "_user_id" in session:
        current_user._get_current_object()  # the proxy loads the user on first use


def _safe_next(target: str | None) -> str:
    # Only pages of this app: an open redirect after login would make phishing easy.
    return local_target(target, url_for("main.index"))


def _locked_out(template: str, **context: object) -> ResponseReturnValue:
    # Said for every address alike, with or without an account (app.auth.throttle).
    flash(
        _(
            "Too many failed logins with this e-mail address. Wait %(minutes)s minutes "
            "and try again.",
            minutes=current_app.config["MEMNUN_LOGIN_LOCK_MINUTES"],
        ),
        "error",
    )
    return render_template(template, **context), 429


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        if throttle.is_locked(email):
            return _locked_out("auth/login.html", form=form)
        user = authenticate(email, form.password.data or "")
        if user is not None and user.two_factor_on:
            # The failure count is kept until the code is right too: a known password must
            # not reset it between guesses of the code.
            _fresh_session()
            session[SECOND_STEP_KEY] = {
                "user": user.id,
                "since": int(time.time()),
                "next": _safe_next(request.args.get("next")),
            }
            return redirect(url_for("auth.login_code"))
        if user is not None:
            return _complete_login(user, _safe_next(request.args.get("next")))
        throttle.record_failure(email)
        flash(_("The e-mail or the password is not right."), "error")
    return render_template("auth/login.html", form=form)


def _fresh_session() -> None:
    """A fresh session at each step of a login: nothing from before carries over but the
    language picked on the login page."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def _complete_login(user: User, target: str) -> ResponseReturnValue:
    throttle.clear_failures(user.email)
    token = start_session(user)
    _fresh_session()
    login_user(user)
    session[SESSION_KEY] = token
    chosen = session.get("language")  # picked on the login page: kept, and remembered
    if chosen in current_app.config["MEMNUN_LANGUAGES"] and user.language is None:
        user.language = chosen
    user.last_login_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    if two_factor.must_enrol(user):
        return redirect(url_for("auth.two_factor_page"))
    return redirect(target)


def _waiting_login() -> User | None:
    """The user whose password was right a moment ago and whose code is awaited, or None (no
    such login, or it waited longer than ``SECOND_STEP_MINUTES``)."""
    waiting = session.get(SECOND_STEP_KEY)
    if not isinstance(waiting, dict):
        return None
    since, user_id = waiting.get("since"), waiting.get("user")
    if (
        not isinstance(since, int)
        or not isinstance(user_id, int)
        or time.time() - since > SECOND_STEP_MINUTES * 60
    ):
        session.pop(SECOND_STEP_KEY, None)
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or not user.two_factor_on:
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@login_limit
def login_code() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    was_waiting = SECOND_STEP_KEY in session
    user = _waiting_login()
    if user is None:
        if was_waiting:
            flash(
                _(
                    "Log in again: the code was not entered within %(minutes)s minutes.",
                    minutes=SECOND_STEP_MINUTES,
                ),
                "error",
            )
        return redirect(url_for("auth.login"))
    form = LoginCodeForm()
    if not form.validate_on_submit():
        return no_store(render_template("auth/login_code.html", form=form)), (
            400 if form.is_submitted() else 200
        )
    if throttle.is_locked(user.email):
        return _locked_out("auth/login_code.html", form=form)
    kind = two_factor.check_second_factor(user, form.code.data or "")
    if kind is None:
        throttle.record_failure(user.email)
        form.code.errors = [_("This code is not right, or it was used already.")]
        return no_store(render_template("auth/login_code.html", form=form)), 400
    target = _safe_next(session[SECOND_STEP_KEY].get("next"))
    answer = _complete_login(user, target)
    if kind == "recovery":
        # Someone who needed a recovery code may have lost the phone: other devices go.
        end_other_sessions(user, keep_token=session.get(SESSION_KEY))
        left = two_factor.recovery_codes_left(user)
        flash(
            ngettext(
                "You used a recovery code; %(num)d is left. Make new ones on the two-factor page.",
                "You used a recovery code; %(num)d are left. Make new ones on the "
                "two-factor page when they run low.",
                left,
            ),
            "warning",
        )
    return answer


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    end_session(session.get(SESSION_KEY))  # a copy of the cookie dies too
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
