"""What staff call complaint states, events and staff actions on invitations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.models import ComplaintStatus, EventType

COMPLAINT_STATUS_NAMES = {
    ComplaintStatus.RECEIVED: _l("received"),
    ComplaintStatus.ACKNOWLEDGED: _l("acknowledged"),
    ComplaintStatus.RESOLVED: _l("resolved"),
    ComplaintStatus.REOPENED: _l("reopened"),
    ComplaintStatus.CLOSED: _l("closed"),
}
EVENT_NAMES = {
    EventType.RECEIVED: _l("Received"),
    EventType.ACKNOWLEDGED: _l("Acknowledged"),
    EventType.RESOLVED: _l("Resolved"),
    EventType.REOPENED: _l("Reopened"),
    EventType.CLOSED: _l("Closed"),
}
STAFF_ACTION_NAMES = {
    "invitation.send_now": _l("Sent now by hand"),
    "invitation.cancel": _l("Cancelled by hand"),
    "invitation.replan": _l("Planned again by hand"),
    "invitation.retry": _l("Retried by hand"),
}
