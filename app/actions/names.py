"""What people call what an improvement action addresses, and its states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.analytics.names import METRIC_NAMES

#: What an improvement action can address (``ACTION_METRICS``): the targets' metrics, and
#: complaint frequency.
ACTION_METRIC_NAMES = {**METRIC_NAMES, "complaints": _l("Complaints")}
#: ``ActionStatus`` values and what people call them.
ACTION_STATUS_NAMES = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}
