"""Planner, dispatcher, mail backends and the scheduler wiring."""

from flask import Blueprint

bp = Blueprint("distribution", __name__, url_prefix="/admin")

from app.distribution import views  # noqa: E402, F401  (registers the routes on bp)
