"""Questionnaires, versions and distribution rules; the template loader; the designer UI."""

from flask import Blueprint

bp = Blueprint("design", __name__, url_prefix="/admin/questionnaires")

from app.design import views  # noqa: E402,F401
