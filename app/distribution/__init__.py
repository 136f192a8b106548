"""Planner, dispatcher, mail backends and the scheduler wiring."""

from flask import Blueprint

bp = Blueprint("distribution", __name__, url_prefix="/admin")
