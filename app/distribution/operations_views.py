"""The operations page for admins: invitations by state, suppression reasons, failures, retry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth.decorators import role_required
from app.distribution import bp
from app.distribution.operations import operations_summary, retry_failed
from app.models import InvitationChannel, InvitationState, SuppressionReason

STATE_NAMES = {
    InvitationState.PLANNED: _l("planned"),
    InvitationState.SENT: _l("sent"),
    InvitationState.REMINDED: _l("reminded"),
    InvitationState.RESPONDED: _l("responded"),
    InvitationState.EXPIRED: _l("expired"),
    InvitationState.CANCELLED: _l("cancelled"),
    InvitationState.SUPPRESSED: _l("suppressed"),
    InvitationState.FAILED: _l("failed"),
}
REASON_NAMES = {
    SuppressionReason.NO_CONSENT: _l("no consent to surveys"),
    SuppressionReason.NO_CONTACT: _l("no e-mail address (or phone number for SMS)"),
    SuppressionReason.OPTED_OUT: _l("opted out of surveys"),
    SuppressionReason.FATIGUE: _l("surveyed recently (fatigue window)"),
    SuppressionReason.NOT_SAMPLED: _l("not in the sample"),
    SuppressionReason.NO_MATCHING_RULE: _l("no matching rule"),
}
SENT_BY = {InvitationChannel.EMAIL: _l("E-mail"), InvitationChannel.SMS: _l("SMS")}


class RetryForm(FlaskForm):
    """A button: nothing to fill in, only the CSRF token to check."""


@bp.route("/operations")
@role_required()
def operations() -> ResponseReturnValue:
    return render_template(
        "distribution/operations.html", ops=operations_summary(), form=RetryForm(),
        state_names=STATE_NAMES, reason_names=REASON_NAMES, channel_names=SENT_BY,
    )


@bp.route("/operations/retry", methods=["POST"])
@role_required()
def retry() -> ResponseReturnValue:
    if not RetryForm().validate_on_submit():
        abort(400)
    raw = request.form.get("invitation")
    if raw is not None and not raw.isdigit():
        abort(400)
    invitation_id = int(raw) if raw is not None else None
    count = retry_failed(f"user:{current_user.id}", invitation_id)
    if invitation_id is not None and count == 0:
        flash(_("Invitation %(id)s is not failed (any more): nothing to retry.", id=raw), "info")
    else:
        flash(_("%(count)s failed invitations are planned again.", count=count), "info")
    return redirect(url_for("distribution.operations"))
