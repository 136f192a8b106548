"""Distribution: rules (and saving them), the planner, the dispatcher and the channels it sends
by (``channels``: e-mail and SMS), and the admin pages of rules, outbox and operations. The
clock that runs the dispatcher is ``app.scheduler``."""

from flask import Blueprint

bp = Blueprint("distribution", __name__, url_prefix="/admin")

# Importing the view modules registers their routes on bp.
from app.distribution import (  # noqa: E402, F401
    campaign_views,
    operations_views,
    rule_views,
    views,
)
