"""Walk-in QR codes: a unit's service points, their posters, the short survey a QR code opens
(``/w/<code>``) and the review of held answers. The survey pages reuse the respondent's
questions, form and page rendering (``app.respond``); the staff pages are in ``admin_views``."""

from flask import Blueprint

bp = Blueprint("walkin", __name__, url_prefix="/w")

from app.walkin import views  # noqa: E402,F401
