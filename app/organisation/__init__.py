"""The organisation's settings (name, sender, language, time zone, data controller, logo):
``settings`` reads and changes them; ``views`` serves the logo, which the public survey pages
show too. The admin page that changes them is ``app.staff.organisation_views``. This package
sits low (it imports only models, errors and extensions) so that every other one may read the
settings."""

from flask import Blueprint

bp = Blueprint("organisation", __name__)

from app.organisation import views  # noqa: E402,F401
