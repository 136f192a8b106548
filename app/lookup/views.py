"""Complaint lookup, the complaint page with its invitation's story and actions, and the queue
of invitations. Thin: ``app.lookup.services`` and ``app.distribution`` decide."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.analytics.tree import category_tree
from app.auth.pages import no_store
from app.auth.scope import unit_choices, units_in_scope
from app.distribution import manual
from app.distribution.operations import (
    failed_invitations,
    next_up,
    planned_until,
    queue_counts,
    retry_failed,
)
from app.distribution.operations_views import REASON_NAMES, SENT_BY, STATE_NAMES
from app.errors import Conflict
from app.extensions import db
from app.followup.services import may_see_contact, may_use_follow_ups
from app.forms import select_choices
from app.lookup import bp
from app.lookup.forms import (
    ANY,
    CancelForm,
    QueueFilterForm,
    ReplanForm,
    SearchForm,
    SendNowForm,
)
from app.lookup.names import COMPLAINT_STATUS_NAMES, EVENT_NAMES, STAFF_ACTION_NAMES
from app.lookup.services import (
    Search,
    complaint_story,
    find_complaints,
    may_act_on_invitations,
    visible_complaint,
    visible_invitation,
)
from app.models import ComplaintStatus, DistributionRule, Invitation, InvitationState
from app.models.types import utcnow
from app.phone.services import may_make_calls
from app.timefmt import organisation_zone


def _names() -> dict[str, object]:
    return {
        "status_names": COMPLAINT_STATUS_NAMES,
        "state_names": STATE_NAMES,
        "reason_names": REASON_NAMES,
        "channel_names": SENT_BY,
        "event_names": EVENT_NAMES,
        "action_names": STAFF_ACTION_NAMES,
        "zone": organisation_zone(),
    }


def _local_day_start(day: dt.date | None, days: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    local = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), organisation_zone())
    return local.astimezone(dt.UTC)


def _search_form() -> SearchForm:
    form = SearchForm(request.args)
    form.unit.choices = select_choices([(ANY, _("Any unit")),
                                         *unit_choices(current_user, under=1)])
    form.category.choices = select_choices([(ANY, _("Any category")),
                                            *category_tree().labelled(under=1)])
    form.status.choices = select_choices(
        [("", _("Any state")), *((s.value, n) for s, n in COMPLAINT_STATUS_NAMES.items())]
    )
    form.invitation.choices = select_choices(
        [("", _("Any")), *((s.value, n) for s, n in STATE_NAMES.items())]
    )
    if not may_see_contact(current_user):
        del form.contact  # nobody else searches by personal data
    return form


@bp.route("/complaints/")
@login_required
def complaints() -> ResponseReturnValue:
    form = _search_form()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    searched = any(value for key, value in request.args.items() if key != "page")
    args = {key: value for key, value in request.args.items() if key != "page"}
    if searched and not form.validate():
        return render_template(
            "lookup/complaints.html",
            form=form,
            rows=[],
            more=False,
            page=page,
            args=args,
            searched=True,
            **_names(),
        ), 400
    search = Search(
        reference=form.reference.data or "",
        unit_id=form.unit.data or None,
        category_id=form.category.data or None,
        status=ComplaintStatus(form.status.data) if form.status.data else None,
        invitation_state=InvitationState(form.invitation.data) if form.invitation.data else None,
        received_from=_local_day_start(form.received_from.data),
        received_before=_local_day_start(form.received_to.data, days=1),
        contact=(form.contact.data or "") if "contact" in form else "",
    )
    rows, more = find_complaints(current_user, search, page=min(page, 10_000))
    return no_store(
        render_template(
            "lookup/complaints.html",
            form=form,
            rows=rows,
            more=more,
            page=page,
            args=args,
            searched=searched,
            **_names(),
        )
    )


@bp.route("/complaints/<int:complaint_id>")
@login_required
def complaint(complaint_id: int) -> ResponseReturnValue:
    found = visible_complaint(current_user, complaint_id)
    if found is None:
        abort(404)  # another unit's complaint looks like none at all
    return _complaint_page(found.id)


def _complaint_page(
    complaint_id: int,
    status: int = 200,
    *,
    replan: ReplanForm | None = None,
    send: SendNowForm | None = None,
) -> ResponseReturnValue:
    found = visible_complaint(current_user, complaint_id)
    assert found is not None
    story = complaint_story(current_user, found, str(get_locale() or "tr"))
    html = render_template(
        "lookup/complaint.html",
        story=story,
        may_act=may_act_on_invitations(current_user),
        shows_follow_ups=may_use_follow_ups(current_user),
        makes_calls=may_make_calls(current_user),
        now=utcnow(),
        send_form=send or SendNowForm(prefix="send"),
        cancel_form=CancelForm(),
        replan_form=replan or ReplanForm(prefix="replan"),
        **_names(),
    )
    return no_store(html), status


def _actionable(invitation_id: int) -> Invitation:
    if not may_act_on_invitations(current_user):
        abort(403)
    invitation = visible_invitation(current_user, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


def _back(invitation: Invitation) -> ResponseReturnValue:
    return redirect(
        url_for("lookup.complaint", complaint_id=invitation.complaint_id)
        + f"#invitation-{invitation.id}"
    )


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(organisation_zone()).strftime("%Y-%m-%d %H:%M")


@bp.route("/invitations/<int:invitation_id>/send", methods=["POST"])
@login_required
def send_now(invitation_id: int) -> ResponseReturnValue:
    invitation = _actionable(invitation_id)
    form = SendNowForm(prefix="send")
    if not form.validate_on_submit():
        abort(400)
    complaint_id = invitation.complaint_id
    try:
        result = manual.send_now(
            invitation, f"user:{current_user.id}", confirmed=bool(form.confirm.data)
        )
    except manual.MadeByPhone:
        flash(_("Not sent: this survey is a phone call. An interviewer makes it from the call "
                "list when it is due."), "error")
        return _complaint_page(complaint_id, 409, send=form)
    except manual.OutsideSendingHours as refused:
        form.confirm.errors = [
            _(
                "Not sent: it is outside this rule's sending hours (they open next at %(when)s). "
                "Tick the box to send it anyway.",
                when=_when(refused.next_opening),
            )
        ]
        return _complaint_page(complaint_id, 409, send=form)
    except Conflict:
        flash(
            _(
                "Not sent: the invitation is no longer waiting to be sent, or it is being "
                "sent right now."
            ),
            "error",
        )
        return _back(invitation)
    flash(
        SEND_MESSAGES[result.outcome](),
        "info"
        if result.outcome
        in (
            manual.SendOutcome.SENT,
            manual.SendOutcome.SENT_ELSEWHERE,
            manual.SendOutcome.IN_FLIGHT,
        )
        else "error",
    )
    return _back(invitation)


SEND_MESSAGES = {
    manual.SendOutcome.SENT: lambda: _("The invitation was sent."),
    manual.SendOutcome.SENT_ELSEWHERE: lambda: _(
        "The invitation went out: the scheduler sent it at the same moment."
    ),
    manual.SendOutcome.IN_FLIGHT: lambda: _(
        "The scheduler is sending this invitation at this very moment."
    ),
    manual.SendOutcome.RETRYING: lambda: _(
        "Not sent yet: the mail server did not take it. The dispatcher tries again shortly."
    ),
    manual.SendOutcome.FAILED: lambda: _("Not sent: the invitation failed. See its error."),
    manual.SendOutcome.NOT_SENT: lambda: _(
        "Not sent: the complainant opted out, has no contact data any more, or it expired."
    ),
}


@bp.route("/invitations/<int:invitation_id>/cancel", methods=["POST"])
@login_required
def cancel(invitation_id: int) -> ResponseReturnValue:
    invitation = _actionable(invitation_id)
    if not CancelForm().validate_on_submit():
        abort(400)
    try:
        manual.cancel(invitation, f"user:{current_user.id}")
    except Conflict:
        flash(_("Only an invitation not sent yet can be cancelled."), "error")
    else:
        flash(_("The invitation is cancelled: it will not be sent."), "info")
    return _back(invitation)


@bp.route("/invitations/<int:invitation_id>/replan", methods=["POST"])
@login_required
def replan(invitation_id: int) -> ResponseReturnValue:
    invitation = _actionable(invitation_id)
    complaint_id = invitation.complaint_id
    form = ReplanForm(prefix="replan")
    if not form.validate_on_submit():
        return _complaint_page(complaint_id, 400, replan=form)
    when = form.due_at.data.replace(tzinfo=organisation_zone()).astimezone(dt.UTC)
    try:
        manual.replan(
            invitation, when, f"user:{current_user.id}", confirmed=bool(form.confirm.data)
        )
    except manual.OutsideSendingHours as refused:
        when = _when(refused.next_opening)
        form.confirm.errors = [
            _("This time is outside the rule's calling hours (they open next at %(when)s). "
              "Tick the box to plan the call anyway.", when=when)
            if isinstance(refused, manual.OutsideCallingHours) else
            _("This time is outside the rule's sending hours (they open next at %(when)s). "
              "Tick the box to plan it anyway.", when=when)
        ]
        return _complaint_page(complaint_id, 409, replan=form)
    except Conflict as refused:
        form.due_at.errors = [
            _("The new time is in the past.")
            if "past" in str(refused)
            else _("Only an invitation not sent yet can be planned again.")
        ]
        return _complaint_page(complaint_id, 409, replan=form)
    flash(_("The invitation is planned for %(when)s.", when=_when(when)), "info")
    return _back(invitation)


# --- the queue ---------------------------------------------------------------------------------


def _day_ends(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    today = now.astimezone(organisation_zone()).date()
    end = _local_day_start(today, days=1)
    after = _local_day_start(today, days=2)
    assert end is not None and after is not None
    return end, after


@bp.route("/invitations/")
@login_required
def queue() -> ResponseReturnValue:
    form = QueueFilterForm(request.args)
    form.unit.choices = select_choices([(ANY, _("Any unit")),
                                         *unit_choices(current_user, under=1)])
    rules = db.session.execute(
        select(DistributionRule.id, DistributionRule.key).order_by(DistributionRule.key)
    ).all()
    form.rule.choices = select_choices([(ANY, _("Any rule")), *rules])
    if request.args and not form.validate():
        abort(400)
    units = units_in_scope(current_user)
    now = utcnow()
    today_end, tomorrow_end = _day_ends(now)
    narrowed = {"rule_id": form.rule.data or None, "unit_id": form.unit.data or None}
    planned = planned_until(tomorrow_end, units, **narrowed)
    calls = [row for row in planned if row.is_call]
    planned = [row for row in planned if not row.is_call]
    return render_template(
        "lookup/queue.html",
        form=form,
        now=now,
        today_end=today_end,
        counts=queue_counts(now, today_end, tomorrow_end, units),
        overdue=[row for row in planned if row.due_at and row.due_at <= now],
        today=[row for row in planned if row.due_at and now < row.due_at < today_end],
        tomorrow=[row for row in planned if row.due_at and row.due_at >= today_end],
        failed=failed_invitations(units, **narrowed),
        calls=calls,
        makes_calls=may_make_calls(current_user),
        next=next_up(units),
        may_act=may_act_on_invitations(current_user),
        whole=units is None,
        **_names(),
    )


@bp.route("/invitations/<int:invitation_id>/retry", methods=["POST"])
@login_required
def retry(invitation_id: int) -> ResponseReturnValue:
    _actionable(invitation_id)
    if not CancelForm().validate_on_submit():
        abort(400)
    if retry_failed(f"user:{current_user.id}", invitation_id):
        flash(_("Invitation %(id)s is planned again.", id=invitation_id), "info")
    else:
        flash(
            _("Invitation %(id)s is not failed (any more): nothing to retry.", id=invitation_id),
            "info",
        )
    return redirect(url_for("lookup.queue"))
