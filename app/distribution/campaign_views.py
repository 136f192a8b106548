"""Admin pages of campaigns (the satisfaction team: designers and admins, whole organisation):
the list, planning one, its page (the preview while a draft, the progress by unit once
started), starting it and closing it early. Thin: ``app.distribution.campaigns`` decides."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.decorators import role_required
from app.distribution import bp
from app.distribution.campaign_forms import CampaignForm
from app.distribution.campaigns import (
    CampaignError,
    close_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    preview,
    progress,
    start_campaign,
)
from app.distribution.forms import choices
from app.extensions import db
from app.forms import StaffForm
from app.models import Campaign, CampaignState, Questionnaire, Role
from app.timefmt import organisation_zone

ONE_DAY = dt.timedelta(days=1)  # the period's and the closing's last day is the day before


def state_names() -> dict[CampaignState, str]:
    return {CampaignState.DRAFT: _("draft"), CampaignState.RUNNING: _("running"),
            CampaignState.CLOSED: _("closed")}


def _actor() -> str:
    return f"user:{current_user.id}"  # the audit log names ids, never addresses


def _campaign_or_404(key: str) -> Campaign:
    campaign = get_campaign(key)
    if campaign is None:
        abort(404)
    return campaign


def _questionnaires() -> dict[str, int]:
    return {key: id_ for key, id_ in db.session.execute(
        select(Questionnaire.key, Questionnaire.id).order_by(Questionnaire.key))}


@bp.route("/campaigns")
@role_required(Role.DESIGNER)
def campaigns() -> ResponseReturnValue:
    return render_template("distribution/campaigns.html", campaigns=list_campaigns(),
                           state_names=state_names(), one_day=ONE_DAY)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def new_campaign() -> ResponseReturnValue:
    form = CampaignForm()
    if request.method == "GET":
        today = dt.datetime.now(organisation_zone()).date()
        last_month_end = today.replace(day=1) - dt.timedelta(days=1)
        form.served_from.data = last_month_end.replace(day=1)
        form.served_until.data = last_month_end
        form.margin_points.data, form.response_rate_percent.data = 5, 30
        form.closes_on.data = today + dt.timedelta(days=28)
    known = _questionnaires()
    form.questionnaire.choices = choices((key, key) for key in known)
    if form.validate_on_submit():
        try:
            campaign = create_campaign(
                {**form.values(), "questionnaire_id": known[form.questionnaire.data]}, _actor())
        except CampaignError as exc:
            form.key.errors = [*form.key.errors, str(exc)]
        else:
            flash(_("Campaign %(key)s planned: check the preview, then start it.",
                    key=campaign.key), "info")
            return redirect(url_for("distribution.campaign", key=campaign.key))
    status = 422 if request.method == "POST" else 200
    return render_template("distribution/campaign_new.html", form=form), status


@bp.route("/campaigns/<key>")
@role_required(Role.DESIGNER)
def campaign(key: str) -> ResponseReturnValue:
    found = _campaign_or_404(key)
    plan = preview(found) if found.state == CampaignState.DRAFT else None
    lines = progress(found) if found.state != CampaignState.DRAFT else []
    return render_template("distribution/campaign.html", campaign=found, plan=plan,
                           lines=lines, form=StaffForm(), state_names=state_names(),
                           one_day=ONE_DAY)


@bp.route("/campaigns/<key>/start", methods=["POST"])
@role_required(Role.DESIGNER)
def campaign_start(key: str) -> ResponseReturnValue:
    found = _campaign_or_404(key)
    if not StaffForm().validate_on_submit():
        abort(400)
    try:
        planned = start_campaign(found, _actor())
    except CampaignError as exc:
        flash(str(exc), "error")
        return redirect(url_for("distribution.campaign", key=key), 303)
    flash(_("Campaign started: %(count)d invitations planned.", count=planned), "info")
    return redirect(url_for("distribution.campaign", key=key), 303)


@bp.route("/campaigns/<key>/close", methods=["POST"])
@role_required(Role.DESIGNER)
def campaign_close(key: str) -> ResponseReturnValue:
    found = _campaign_or_404(key)
    if not StaffForm().validate_on_submit():
        abort(400)
    if close_campaign(found, _actor()) is None:
        flash(_("Only a running campaign can be closed."), "error")
    else:
        flash(_("Campaign closed: its links no longer work."), "info")
    return redirect(url_for("distribution.campaign", key=key), 303)
