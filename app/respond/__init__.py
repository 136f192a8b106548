"""Public survey pages reached by a token."""

from flask import Blueprint

bp = Blueprint("respond", __name__, url_prefix="/s")

from app.respond import views  # noqa: E402,F401
