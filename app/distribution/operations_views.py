"""The operations page for admins and the satisfaction team (designers, whose rules are every
rule: docs/design.md, "Staff pages"): invitations by state, suppression reasons, failures,
retry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from app.auth.decorators import role_required
from app.distribution import bp
from app.distribution.operations import BOUNCE_DAYS, operations_summary, retry_failed
from app.forms import StaffForm
from app.models import InvitationChannel, InvitationState, Role, SuppressionReason
from app.numbers import percent
from app.routing import MAX_INTEGER

STATE_NAMES = {
    InvitationState.PLANNED: _l("planned"),
    InvitationState.SENT: _l("sent"),
    InvitationState.REMINDED: _l("reminded"),
    InvitationState.RESPONDED: _l("responded"),
    InvitationState.EXPIRED: _l("expired"),
    InvitationState.CANCELLED: _l("cancelled"),
    InvitationState.SUPPRESSED: _l("suppressed"),
    InvitationState.FAILED: _l("failed"),
    InvitationState.BOUNCED: _l("bounced"),
}
REASON_NAMES = {
    SuppressionReason.NO_CONSENT: _l("no consent to surveys"),
    SuppressionReason.NO_CONTACT: _l("no e-mail address (or phone number for SMS)"),
    SuppressionReason.OPTED_OUT: _l("opted out of surveys"),
    SuppressionReason.FATIGUE: _l("surveyed recently (fatigue window)"),
    SuppressionReason.NOT_SAMPLED: _l("not in the sample"),
    SuppressionReason.NO_MATCHING_RULE: _l("no matching rule"),
}
SENT_BY = {InvitationChannel.EMAIL: _l("E-mail"), InvitationChannel.SMS: _l("SMS"),
           InvitationChannel.PHONE: _l("Phone")}
BOUNCE_HEADINGS = (("unit", _l("Bounce rate by unit")), ("rule", _l("Bounce rate by rule")),
                   ("sent_by", _l("Bounce rate by channel")))
BOUNCE_COLUMNS = {"unit": _l("Unit"), "rule": _l("Rule"), "sent_by": _l("Channel")}


class RetryForm(StaffForm):
    """A button: the CSRF token, and the invitation's id when one invitation is retried (none:
    every failed one). An id beyond the column's range is refused, not looked up (500)."""

    invitation = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_INTEGER)])


@bp.route("/operations")
@role_required(Role.DESIGNER)
def operations() -> ResponseReturnValue:
    return render_template(
        "distribution/operations.html", ops=operations_summary(), form=RetryForm(),
        state_names=STATE_NAMES, reason_names=REASON_NAMES, channel_names=SENT_BY,
        bounce_days=BOUNCE_DAYS, bounce_headings=BOUNCE_HEADINGS, bounce_columns=BOUNCE_COLUMNS,
        share=percent,
    )


@bp.route("/operations/retry", methods=["POST"])
@role_required(Role.DESIGNER)
def retry() -> ResponseReturnValue:
    form = RetryForm()
    if not form.validate_on_submit():
        abort(400)
    invitation_id = form.invitation.data
    raw = request.form.get("invitation")
    if raw is not None and invitation_id is None:
        abort(400)  # given but empty
    count = retry_failed(f"user:{current_user.id}", invitation_id)
    if invitation_id is not None and count == 0:
        flash(_("Invitation %(id)s is not failed (any more): nothing to retry.",
                id=invitation_id), "info")
    else:
        flash(_("%(count)s failed invitations are planned again.", count=count), "info")
    return redirect(url_for("distribution.operations"))
