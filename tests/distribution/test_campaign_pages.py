"""The campaign pages: planning one in the form, the preview, starting it, the progress, closing
early; the satisfaction team's (designers and admins of the whole organisation) only, CSRF and
audited."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.distribution.campaigns import unit_plan
from app.extensions import db
from app.models import AuditLog, Campaign, CampaignState, Invitation, ServiceEvent
from tests.support.campaigns import make_campaign, serve
from tests.support.distribution import in_english, make_questionnaire
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

TODAY = dt.datetime.now(dt.UTC)


def _people(count: int) -> None:
    serve(count, "north")
    db.session.query(ServiceEvent).update(
        {ServiceEvent.occurred_at: TODAY - dt.timedelta(days=20)})


def test_plan_preview_start_watch_and_close(app: Flask, admin_client: FlaskClient) -> None:
    with app.app_context():
        make_questionnaire("visit")
        _people(40)
        db.session.commit()
    in_english(admin_client)
    url = "/admin/campaigns/new"
    token = csrf_token_from(admin_client.get(url).get_data(as_text=True))
    fields = {"key": "autumn", "name": "Autumn visits", "questionnaire": "visit",
              "served_from": (TODAY - dt.timedelta(days=30)).date().isoformat(),
              "served_until": (TODAY - dt.timedelta(days=1)).date().isoformat(),
              "margin_points": "20", "response_rate_percent": "50",
              "closes_on": (TODAY + dt.timedelta(days=14)).date().isoformat()}
    bad = admin_client.post(url, data={**fields, "margin_points": "0", "csrf_token": token})
    assert bad.status_code == 422 and "Enter a number from 1 to 20." in bad.get_data(as_text=True)
    created = admin_client.post(url, data={**fields, "csrf_token": token})
    assert created.status_code == 302, created.get_data(as_text=True)
    page = admin_client.get("/admin/campaigns/autumn").get_data(as_text=True)
    # 40 people, +-20 points at 50 %: the plan's own figures (checked by hand in
    # test_campaigns.py), here only shown.
    sample = unit_plan(0, "", 40, 40, 0.2, 0.5).sample
    assert 0 < sample < 40
    assert re.search(r"<th scope=\"row\">North</th>\s*<td class=\"number\">40</td>\s*"
                     rf"<td class=\"number\">40</td>\s*<td class=\"number\">{sample}</td>",
                     page)
    assert f"Start: invite {sample} people" in page
    assert admin_client.post("/admin/campaigns/autumn/start").status_code == 400  # no token
    started = admin_client.post("/admin/campaigns/autumn/start",
                                data={"csrf_token": csrf_token_from(page)})
    assert started.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Invitation.id))) == sample
        assert db.session.scalar(select(Campaign.state)) == CampaignState.RUNNING
    page = admin_client.get("/admin/campaigns/autumn").get_data(as_text=True)
    assert "Progress by unit" in page and "Close now" in page
    closed = admin_client.post("/admin/campaigns/autumn/close",
                               data={"csrf_token": csrf_token_from(page)})
    assert closed.status_code == 303
    listed = admin_client.get("/admin/campaigns").get_data(as_text=True)
    assert "Autumn visits" in listed and "closed" in listed
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("campaign.%")).order_by(AuditLog.id)).all()
        assert actions == ["campaign.create", "campaign.start", "campaign.close"]


def test_who_may_see_campaigns(app: Flask) -> None:
    with app.app_context():
        make_campaign()
        serve(1, "north")
        db.session.commit()
    for email, role, units, status in (
        ("viewer@example.org", "viewer", None, 403),
        ("designer-unit@example.org", "designer", ["north"], 403),
        ("designer@example.org", "designer", None, 200),
    ):
        password = make_user(app, email, role, units=units)
        client = app.test_client()
        login(client, email, password)
        assert client.get("/admin/campaigns").status_code == status, email
        assert client.get("/admin/campaigns/spring").status_code == status, email
