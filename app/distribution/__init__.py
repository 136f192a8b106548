"""Planner, dispatcher, mail backends and the scheduler wiring."""

from flask import Blueprint

bp = Blueprint("distribution", __name__, url_prefix="/admin")

# Importing the view modules registers their routes on bp.
from app.distribution import operations_views, rule_views, views  # noqa: E402, F401
