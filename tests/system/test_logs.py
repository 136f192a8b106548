"""No token, key or personal data in any log line of the servers Memnun starts.

``memnun run`` (the web app, its request log and the scheduler in one process) runs at DEBUG
against a real SMTP server (aiosmtpd), and a whole run goes through it over real HTTP: a staff
member signs in and makes an API key and a webhook whose receiver is down; an integrator pushes
complaints with names, e-mail addresses and phone numbers (one by one and in a batch) and
resolves them; the scheduler sends the invitations; one person answers through their link (a
one-click answer in the URL), another opts out; the staff member opens the dashboards, exports
the responses and downloads the review pack; the webhook fails. Then every line the process
wrote is searched for each survey token, the API key, the password, the session cookies, and
every name, address and phone number.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tests.support.browsing import Browser
from tests.support.processes import (
    app_env,
    free_port,
    run_memnun,
    start_memnun_run,
    stop,
    tail,
    wait_for_http,
    wait_until,
)
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.xdist_group("processes")

ADMIN, PASSWORD = "yonetici@example.org", "Gizli-parola-4821"
PEOPLE = [  # name, e-mail, phone
    ("Şükrü Ağaoğlu", "sukru.agaoglu@example.com.tr", "+90 532 111 22 33"),
    ("Ayşe Yılmaz", "ayse.yilmaz@example.net", "+90 533 444 55 66"),
    ("Mari Tamm", "mari.tamm@example.ee", "+372 5123 4567"),
]
WEBHOOK_SECRET = "webhook-secret-0123456789abcdef"
TOKEN_RE = re.compile(r"/s/([A-Za-z0-9_-]{43})")


def _api(base: str, key: str, method: str, path: str, body: Any) -> Any:
    response = requests.request(
        method,
        f"{base}/api/v1{path}",
        json=body,
        timeout=60,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code < 300, (path, response.status_code, response.text[:500])
    return response.json()


def _complaint(number: int, person: tuple[str, str, str]) -> dict[str, Any]:
    name, email, phone = person
    received = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    return {
        "external_id": f"LOG-{number}",
        "received_at": received,
        "channel": "web",
        "category": "yol",
        "unit": "fen",
        "subject": f"{name} arıyor",
        "description": f"{name}, {phone}, {email}",
        "complainant": {
            "name": name,
            "email": email,
            "phone": phone,
            "language": "tr",
            "survey_consent": True,
        },
    }


def _integrate(base: str, key: str) -> None:
    _api(base, key, "PUT", "/units/fen", {"name": "Fen İşleri", "parent": None})
    _api(
        base,
        key,
        "PUT",
        "/categories/yol",
        {"name": "Yol", "parent": None, "committed_response_days": 10},
    )
    _api(
        base,
        key,
        "PUT",
        "/distribution-rules/default",
        {
            "questionnaire": "post-resolution",
            "delay": "PT0M",
            "send_window": "00:00-23:59",
            "fatigue_days": 0,
            "sample_rate": 1.0,
            "reminder_after": "PT1H",
        },
    )
    _api(base, key, "POST", "/complaints", _complaint(0, PEOPLE[0]))
    _api(
        base,
        key,
        "POST",
        "/complaints/batch",
        {"complaints": [_complaint(n, p) for n, p in enumerate(PEOPLE[1:], start=1)]},
    )
    for number in range(len(PEOPLE)):
        ref = f"ext:LOG-{number}"
        _api(
            base,
            key,
            "POST",
            f"/complaints/{ref}/events",
            {"type": "resolved", "at": dt.datetime.now(dt.UTC).isoformat()},
        )


def _staff_setup(staff: Browser) -> str:
    """An API key (returned) and a webhook whose receiver is down."""
    made = staff.submit("/admin/api-keys", "/admin/api-keys", name="Entegrasyon", scopes="admin")
    page = made.text if made.status_code == 200 else staff.get(made.headers["Location"]).text
    key = re.search(r'<code id="new-key">([^<]+)</code>', page)
    assert key, page[:2000]
    hook = staff.submit(
        "/admin/webhooks",
        "/admin/webhooks",
        url=f"http://127.0.0.1:{free_port()}/hook",
        secret=WEBHOOK_SECRET,
    )
    assert hook.status_code in (200, 302), hook.text[:1000]
    assert "127.0.0.1" in staff.get("/admin/webhooks").text
    return key.group(1)


def _respond(base: str, token: str, opt_out: bool) -> Browser:
    person = Browser(base)
    if opt_out:
        assert person.get(f"/s/{token}/opt-out").status_code == 200
        assert person.submit("/s/opt-out", "/s/opt-out").status_code in (200, 302)
        return person
    opened = person.get(f"/s/{token}?overall=2")  # a one-click answer from the e-mail
    assert opened.status_code == 200, opened.status_code
    page = requests.utils.urlparse(opened.url).path
    for _ in range(5):  # page by page, with what each page shows chosen, to the thanks
        form = next(f for f in person.form_list(page) if f.method == "POST")
        answered = person.submit(page, form.action)
        assert answered.status_code in (302, 303), answered.text[:1000]
        page = requests.utils.urlparse(answered.headers["Location"]).path
        if page.endswith("/thanks"):
            return person
    raise AssertionError(f"the survey did not end: {page}")


def _staff_reads(staff: Browser) -> None:
    assert staff.get("/dashboards/").status_code == 200
    assert staff.get("/reports/").status_code == 200
    export = staff.submit("/reports/", "/reports/responses")
    assert export.status_code == 200, export.text[:500]
    pack = staff.submit("/reports/", "/reports/pack")
    assert pack.status_code == 200, pack.text[:500]
    assert staff.get("/admin/operations").status_code == 200


def _webhook_failed(app: Flask) -> bool:
    from app.models import WebhookDelivery

    with app.app_context():
        found = db.session.scalars(select(WebhookDelivery.attempts)).all()
        db.session.remove()
    return any(attempts >= 1 for attempts in found)


def test_no_secret_or_personal_data_in_any_log_line(
    app: Flask, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    env = app_env(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path,
        MAIL_BACKEND="smtp",
        SMTP_HOST=smtp_server.host,
        SMTP_PORT=smtp_server.port,
        LOG_LEVEL="DEBUG",
        WEBHOOK_ALLOWED_PRIVATE_HOSTS="127.0.0.1",
        BASE_URL="http://127.0.0.1",
    )
    run_memnun(env, "user", "create", "--email", ADMIN, "--role", "admin", "--password", PASSWORD)
    run_memnun(env, "templates", "install")
    port, log = free_port(), tmp_path / "memnun-run.log"
    server = start_memnun_run(env, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", server, log)
        staff = Browser(base)
        staff.login(ADMIN, PASSWORD)
        key = _staff_setup(staff)
        _integrate(base, key)
        assert wait_until(lambda: len(smtp_server.messages) >= len(PEOPLE), 60), tail(log)
        tokens = [
            TOKEN_RE.search(m.get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
            for m in smtp_server.messages
        ]
        respondents = [
            _respond(base, tokens[0], opt_out=False),
            _respond(base, tokens[1], opt_out=True),
        ]
        _staff_reads(staff)
        assert wait_until(lambda: _webhook_failed(app), 60), tail(log)
    finally:
        stop(server)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "GET /s/<token>" in text and " INFO app." in text  # the logs were really written
    cookies = [c.value for b in (staff, *respondents) for c in b.session.cookies]
    needles = [
        *tokens,
        key,
        key[10:],
        PASSWORD,
        WEBHOOK_SECRET,
        *filter(None, cookies),
        *(part for person in PEOPLE for part in person),
        *(person[2].replace(" ", "") for person in PEOPLE),
    ]
    found = sorted({needle for needle in needles if needle and needle in text})
    assert not found, f"in the logs: {found}\n{text[-3000:]}"
