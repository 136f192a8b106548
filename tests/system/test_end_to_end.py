"""The whole flow over real parts: HTTP API, planner, SMTP, survey page, dashboard figures."""

from __future__ import annotations

import datetime as dt
import re

import requests

from app.extensions import db
from tests.support.server import serve
from tests.support.web import csrf_token_from

LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43})(?=[\s\"<])")


def _prepare(app, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from app.design.services import install_all_templates
    from app.distribution.rules import ensure_default_rule

    app.config.update(
        MEMNUN_MAIL_BACKEND="smtp",
        MEMNUN_SMTP_HOST=smtp_server.host,
        MEMNUN_SMTP_PORT=smtp_server.port,
    )
    with app.app_context():
        install_all_templates()
        rule = ensure_default_rule()
        # Send as soon as the complaint is resolved, at any hour, so the test need not wait.
        rule.delay_minutes = 0
        rule.send_window_start, rule.send_window_end = "00:00", "23:59"
        db.session.commit()


def test_complaint_to_dashboard(app, api_key, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from app.analytics.overview import overview
    from app.distribution.dispatcher import dispatch_due

    _prepare(app, smtp_server)
    with serve(app) as live:
        app.config["MEMNUN_BASE_URL"] = live.url
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {api_key}"
        assert api.put(f"{live.url}/api/v1/units/fen", json={"name": "Fen İşleri", "parent": None}
                       ).status_code == 201
        assert api.put(f"{live.url}/api/v1/categories/yol",
                       json={"name": "Yol ve kaldırım", "parent": None,
                             "committed_response_days": 10}).status_code == 201
        received = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        created = api.post(f"{live.url}/api/v1/complaints", json={
            "external_id": "CMP-2026-0001", "received_at": received.isoformat(),
            "channel": "web", "category": "yol", "unit": "fen",
            "complainant": {"name": "Ayşe Yılmaz", "email": "ayse@example.com",
                            "language": "tr", "survey_consent": True},
        })
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        resolved = api.post(f"{live.url}/api/v1/complaints/{complaint_id}/events", json={
            "type": "resolved", "at": (received + dt.timedelta(days=1)).isoformat(),
        })
        assert resolved.status_code in (200, 201), resolved.text

        with app.app_context():
            result = dispatch_due()
        assert result.sent == 1
        assert len(smtp_server.messages) == 1
        message = smtp_server.messages[0]
        assert message["To"] == "ayse@example.com"
        body = message.get_body(preferencelist=("plain",)).get_content()
        link = LINK_RE.search(body).group(1)

        browser = requests.Session()
        page = browser.get(link)
        assert page.status_code == 200
        assert "CMP-2026-0001" in page.text
        form = {"csrf_token": csrf_token_from(page.text), "overall": "5", "resolved": "yes",
                "timeliness": "4", "courtesy": "5", "clarity": "4"}
        answered = browser.post(page.url, data=form, allow_redirects=False)
        assert answered.status_code in (302, 303), answered.text
        assert browser.get(live.url + answered.headers["Location"]).status_code == 200
        again = browser.get(link)
        assert again.status_code == 200 and "CMP-2026-0001" not in again.text

    with app.app_context():
        today = dt.date.today()
        figures = overview(today - dt.timedelta(days=30), today + dt.timedelta(days=1),
                           min_group=1)
    assert figures.responses == 1
    assert figures.complaints == 1
    assert figures.csat.value == 1.0
