from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import text

from app.extensions import db
from app.main import bp
from app.redirects import local_target


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template("main/index.html")


@bp.route("/healthz")
def health() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok")


@bp.route("/language", methods=["POST"])
def set_language() -> ResponseReturnValue:
    language = request.form.get("language", "")
    if language in current_app.config["MEMNUN_LANGUAGES"]:
        session["language"] = language
    # Only pages of this app: the switch must not be a way to send someone elsewhere.
    return redirect(local_target(request.form.get("next"), url_for("main.index")))
