"""The demo's campaigns: a finished one and a running one, with their pages full."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.demo import load_demo
from app.distribution.campaigns import progress
from app.extensions import db
from app.models import Campaign, CampaignState, Invitation, InvitationState, Response
from tests.support.distribution import in_english

TODAY = dt.date(2026, 3, 15)


def test_a_finished_and_a_running_campaign(app: Flask, admin_client: FlaskClient) -> None:
    with app.app_context():
        summary = load_demo(seed=3, today=TODAY, scale=0.1)
        assert "campaign invitations" in summary
        campaigns = {c.state: c for c in db.session.scalars(select(Campaign))}
        assert set(campaigns) == {CampaignState.CLOSED, CampaignState.RUNNING}
        finished, running = campaigns[CampaignState.CLOSED], campaigns[CampaignState.RUNNING]
        states = dict(db.session.execute(
            select(Invitation.state, func.count()).where(Invitation.campaign_id == finished.id)
            .group_by(Invitation.state)).all())
        assert set(states) == {InvitationState.RESPONDED, InvitationState.EXPIRED}
        lines = progress(running)
        # The four units of the Beyaz Masa visitors, and imar: its building-permit applicants
        # who left an e-mail (for the rule on service events) were served in the month too.
        assert {line.name for line in lines} == {
            "Fen İşleri Müdürlüğü", "Su ve Kanalizasyon Müdürlüğü", "Zabıta Müdürlüğü",
            "Sosyal Yardım İşleri Müdürlüğü", "İmar ve Şehircilik Müdürlüğü"}
        assert all(line.sent == line.sampled > 0 for line in lines)
        assert all(line.current_margin is not None for line in lines)
        assert db.session.scalar(select(func.count(Response.id)).where(
            Response.source == "campaign", Response.complaint_id.is_(None))) > 20
        keys = finished.key, running.key
    in_english(admin_client)
    listed = admin_client.get("/admin/campaigns").get_data(as_text=True)
    assert "closed" in listed and "running" in listed
    for key in keys:
        page = admin_client.get(f"/admin/campaigns/{key}")
        assert page.status_code == 200
        assert "Zabıta Müdürlüğü" in page.get_data(as_text=True)
