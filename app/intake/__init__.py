"""REST API v1 and CSV import: the only way complaints enter Memnun.

Two blueprints: ``bp`` is the API (bearer keys, JSON errors, no CSRF); ``admin_bp`` holds the
admins' pages for the integration (API keys, webhooks, CSV upload), which are ordinary logged-in
pages with CSRF.
"""

from flask import Blueprint

from app.api_errors import register_api_error_handlers
from app.extensions import csrf

bp = Blueprint("intake", __name__, url_prefix="/api/v1")
admin_bp = Blueprint("intake_admin", __name__, url_prefix="/admin")

# Bearer-token API: no cookies are trusted here, so there is nothing for CSRF to protect.
csrf.exempt(bp)
register_api_error_handlers(bp)

from app.intake import admin_views, views  # noqa: E402,F401
