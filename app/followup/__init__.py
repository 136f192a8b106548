"""The closed loop: responses with a low score or a "not resolved" answer, on a list per unit
for admins and unit managers to call back (``services``), and their pages (``views``)."""

from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/follow-ups")

from app.followup import views  # noqa: E402,F401
