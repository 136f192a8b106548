"""The demo's walk-in QR codes: two service points with answers, a few held for review, on
the staff pages after `make run`."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.demo import load_demo
from app.extensions import db
from app.models import Response, ServicePoint
from app.walkin.services import CodeState, current_code, find_point

TODAY = dt.date(2026, 3, 18)


def test_the_demo_has_two_service_points_with_answers_and_some_held(
        app: Flask, admin_client: FlaskClient) -> None:
    with app.app_context():
        load_demo(seed=3, today=TODAY, scale=0.1)
        points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).all()
        assert len(points) == 2 and all(point.active for point in points)
        for point in points:  # each poster prints and its code opens the survey
            code = current_code(point)
            assert code is not None and find_point(code) == (point, CodeState.OPEN)
        held = Counter(db.session.scalars(select(Response.held_reason).where(
            Response.held.is_(True), Response.service_point_id.is_not(None))))
        assert held == {"burst": 12, "device": 1}
        counted = Counter(db.session.scalars(select(Response.service_point_id).where(
            Response.held.is_(False), Response.service_point_id.is_not(None))))
        assert all(counted[point.id] >= 40 for point in points)
        ids = [point.id for point in points]
    listed = admin_client.get("/walk-in/points").get_data(as_text=True)
    assert "Çözüm Merkezi" in listed and "İmar ve Şehircilik danışma masası" in listed
    assert admin_client.get(f"/walk-in/points/{ids[0]}/poster").status_code == 200
    review = admin_client.get("/walk-in/held").get_data(as_text=True)
    assert review.count('name="response"') == 2 * 13  # accept and reject, each answer
