"""One way to show a time (app/timefmt): the same instant reads the same on the questionnaires
list, the outbox, the follow-ups, the improvement actions and in the responses export, in the
organisation's zone and the reader's language."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from app.models import ActionStatus, ImprovementAction
from app.timefmt import export_instant, format_instant, zone_label
from tests.support.datasets.reports import Data
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

# 07:00:54 UTC is 10:00 in Istanbul (UTC+3 all year): the outbox showed this instant as
# '2026-12-07 07:00:54' on one page and '12/7/26, 7:00 AM' on another.
INSTANT = dt.datetime(2026, 12, 7, 7, 0, 54, tzinfo=dt.UTC)
SHOWN = {"tr": "7 Ara 2026 10:00", "en": "Dec 7, 2026"}


@pytest.fixture
def pages(app) -> dict[str, str]:
    """The pages that show INSTANT, each as a path."""
    with app.app_context():
        data = Data().setup()
        data.version.published_at = INSTANT
        response = data.response("fen", INSTANT, overall=1)
        db.session.flush()
        follow_up = open_follow_up_if_needed(response)
        action = ImprovementAction(
            metric="csat",
            title="Call back",
            owner="Fen",
            status=ActionStatus.DONE,
            closed_at=INSTANT,
        )
        db.session.add(action)
        db.session.commit()
        outbox = Path(app.config["MEMNUN_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / "20261207T070054000000Z-inv1-0123abcd.eml").write_text(
            "Subject: Anket\nContent-Language: tr\n\nMerhaba\n"
        )
        return {
            "questionnaires": "/admin/questionnaires/",
            "outbox": "/admin/outbox",
            "follow-ups": "/follow-ups/",
            "follow-up": f"/follow-ups/{follow_up.id}",
            "action": f"/actions/{action.id}",
        }


def _shown_times(html: str) -> list[str]:
    return re.findall(r"<time datetime=\"([^\"]+)\" title=\"([^\"]+)\">([^<]+)</time>", html)


@pytest.mark.parametrize("language", ["tr", "en"])
def test_the_same_instant_reads_the_same_on_every_page_and_in_the_export(
    app, client, pages, language
) -> None:
    login(client, "admin@example.org", make_user(app))
    headers = {"Accept-Language": language}
    with app.test_request_context(), force_locale(language):
        expected = format_instant(INSTANT)
        zone = zone_label(INSTANT)
    assert expected.startswith(SHOWN[language]) and "10:00" in expected
    assert zone == "Europe/Istanbul (GMT+03:00)"
    for name, path in pages.items():
        html = client.get(path, headers=headers).get_data(as_text=True)
        times = [shown for shown in _shown_times(html) if shown[0].startswith("2026-12-07")]
        assert times, f"{name}: the instant is not shown"
        for machine, title, text in times:
            assert (machine, title, text) == ("2026-12-07T10:00:54+03:00", zone, expected), name
        assert "UTC" not in html.replace("UTC+", ""), f"{name} still says UTC"

    page = client.get("/reports/", headers=headers).get_data(as_text=True)
    export = client.post(
        "/reports/responses",
        headers=headers,
        data={
            "csrf_token": csrf_token_from(page),
            "start": "2026-12-01",
            "last": "2026-12-31",
            "unit": "0",
            "format": "csv",
        },
    )
    assert export.status_code == 200, export.get_data(as_text=True)[:500]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][1].endswith("(Europe/Istanbul)")
    assert rows[1][1] == "2026-12-07T10:00:54+03:00"
    with app.app_context():
        assert export_instant(INSTANT) == rows[1][1]
