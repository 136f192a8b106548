"""The designer: questionnaires and their versions (draft, publish, import, templates) and its
pages. The format itself is ``app.questionnaires``; distribution rules are ``app.distribution``."""

from flask import Blueprint

bp = Blueprint("design", __name__, url_prefix="/admin/questionnaires")

from app.design import views  # noqa: E402,F401
