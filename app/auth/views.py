from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp, throttle
from app.auth.forms import LoginForm
from app.auth.services import authenticate
from app.auth.sessions import SESSION_KEY, end_session, session_user, start_session
from app.extensions import db, limiter, login_manager
from app.models import User
from app.redirects import local_target

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        if throttle.is_locked(email):
            # Said for every address alike, with or without an account (app.auth.throttle).
            flash(_("Too many failed logins with this e-mail address. Wait %(minutes)s minutes "
                    "and try again.", minutes=current_app.config["MEMNUN_LOGIN_LOCK_MINUTES"]),
                  "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(email, form.password.data or "")
        if user is not None:
            throttle.clear_failures(email)
            token = start_session(user)
            chosen = session.get("language")  # picked on the login page: kept, and remembered
            session.clear()  # a fresh session at login: nothing from before carries over
            login_user(user)
            session[SESSION_KEY] = token
            if chosen in current_app.config["MEMNUN_LANGUAGES"] and user.language is None:
                user.language = chosen
            user.last_login_at = dt.datetime.now(dt.UTC)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        throttle.record_failure(email)
        flash(_("The e-mail or the password is not right."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    end_session(session.get(SESSION_KEY))  # a copy of the cookie dies too
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
