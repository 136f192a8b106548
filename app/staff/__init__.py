"""Running Memnun from the browser: staff accounts (``accounts``: invite, change, disable,
password links, sessions) and the organisation settings page. The ``memnun user`` commands call
the same services (``app.staff.cli``)."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from app.staff import organisation_views, views  # noqa: E402,F401
