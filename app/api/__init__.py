"""The REST API v1 under ``/api/v1``: complaints in, responses, figures and rules out.

``bp`` is the API itself (bearer keys, JSON errors, no CSRF: no cookie is trusted here). The
views are thin: requests are parsed with ``app.schemas``, the work is done by the services
(``app.intake`` for complaints and events, ``app.distribution.rules`` for rules, ``listing`` and
``metrics`` here for what is read), and the answers are built by ``app.documents``. The admin
pages of the integration (API keys) are ``admin_views.bp``.
"""

from flask import Blueprint

from app.api_errors import register_api_error_handlers
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Bearer-token API: no cookies are trusted here, so there is nothing for CSRF to protect.
csrf.exempt(bp)
register_api_error_handlers(bp)

from app.api import views  # noqa: E402,F401
