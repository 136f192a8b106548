"""`memnun privacy export --email X`: everything held about the person, as JSON."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from tests.support.privacy import OTHER, TARGET, PrivacyWorld


def export(app, email: str) -> dict:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["privacy", "export", "--email", email])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_export_gives_everything_held_about_the_person(app, privacy_world: PrivacyWorld) -> None:
    document = export(app, TARGET.email.upper())
    assert document["email"] == TARGET.email.lower()
    records = document["complainant_records"]
    assert sorted(r["name"] for r in records) == ["Z. Karaca", "Zeynep Karaca"]
    assert {r["phone"] for r in records} == {TARGET.phone}
    complaints = document["complaints"]
    assert [c["id"] for c in complaints] == privacy_world.complaint_ids[TARGET.email.lower()]
    first = complaints[0]
    assert first["subject"].startswith("Zeynep Karaca")
    assert first["complainant"]["email"] == TARGET.email.lower()
    assert [event["type"] for event in first["history"]][-1] == "resolved"
    assert "Zeynep Karaca" in first["history"][-1]["note"]
    assert first["invitations"][0]["state"] == "responded"
    answers = {a["question"]: a["value"] for a in first["responses"][0]["answers"]}
    assert answers["overall"] == 1 and TARGET.phone in answers["improve"]
    assert TARGET.phone in first["follow_ups"][0]["notes"][0]["text"]
    assert len(document["outbox_files"]) == 2
    # Nothing of anybody else.
    assert OTHER.name not in json.dumps(document, ensure_ascii=False)
    with app.app_context():
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "privacy.export"))
        assert audit.detail == {"complainants": 2, "complaints": 2, "service_events": 0}
        assert TARGET.email.lower() not in json.dumps([audit.target, audit.detail])
    # After an erasure, nothing can be found under the address any more.
    assert export(app, "nobody@example.org")["complaints"] == []
    app.test_cli_runner().invoke(args=["privacy", "erase", "--email", TARGET.email, "--yes"])
    assert export(app, TARGET.email)["complainant_records"] == []
