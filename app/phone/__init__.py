"""Phone interviews: the call list, the call screen, and what each call does (issue 17)."""

from flask import Blueprint

bp = Blueprint("phone", __name__)

from app.phone import views  # noqa: E402, F401
