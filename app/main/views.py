from __future__ import annotations

from flask import (
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import text

from app.actions.names import ACTION_STATUS_NAMES
from app.analytics.names import METRIC_NAMES
from app.extensions import db
from app.followup.views import REASON_NAMES
from app.main import bp
from app.main.home import home_for
from app.numbers import figure, percent
from app.redirects import local_target


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "main/index.html",
        home=home_for(current_user),
        figure=figure,
        percent=percent,
        metric_names=METRIC_NAMES,
        reason_names=REASON_NAMES,
        status_names=ACTION_STATUS_NAMES,
    )


@bp.route("/favicon.ico")
def favicon() -> ResponseReturnValue:
    # Browsers ask for /favicon.ico on every site whatever the page links to.
    return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


@bp.route("/healthz")
def health() -> ResponseReturnValue:
    """200 while this host reaches the database, 503 otherwise: the load balancer takes a host
    that answers 503 (or nothing) out. Tried twice: the connection a restarted database or
    PgBouncer left in the pool fails once, which renews the pool, and the second try says
    whether the database itself answers."""
    for attempt in (1, 2):
        try:
            db.session.execute(text("SELECT 1"))
            return jsonify(status="ok")
        except Exception:  # noqa: BLE001 - any database failure means unhealthy
            db.session.rollback()
            if attempt == 2:
                current_app.logger.exception("health check: database unreachable")
    return jsonify(status="error", database="unreachable"), 503


@bp.route("/language", methods=["POST"])
def set_language() -> ResponseReturnValue:
    language = request.form.get("language", "")
    if language in current_app.config["MEMNUN_LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:
            current_user.language = language  # remembered for the next login, on any browser
            db.session.commit()
    # Only pages of this app: the switch must not be a way to send someone elsewhere.
    return redirect(local_target(request.form.get("next"), url_for("main.index")))
