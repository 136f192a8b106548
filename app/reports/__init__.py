"""The management-review pack, exports, targets and alerts.

``pack`` gathers the figures (from ``app.analytics`` only), ``render`` turns them into HTML, PDF,
CSV and Excel, ``exports`` writes spreadsheets safely and in a stream, ``alerts`` applies the
alert rules (``current_alerts``), ``digest`` mails them weekly, ``targets`` keeps the targets;
``views`` are thin pages.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from app.reports import comments_views, views  # noqa: E402,F401
