"""`memnun privacy erase --email X`: afterwards the person's name, e-mail address and phone are
found nowhere: not in any column of any table (searched with SQL, on SQLite and PostgreSQL), not
in the exports, not in the API's answers, not in the outbox, not in the app's logs. Their scores
stay, anonymous, and the published figures do not change; nobody else's data is touched."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from app.extensions import db
from app.models import Answer, AuditLog, Complainant, Complaint, FollowUpNote, Response
from tests.support.privacy import OTHER, TARGET, Person, PrivacyWorld
from tests.support.web import csrf_token_from, login


def database_hits(needles: list[str]) -> list[tuple[str, str, int]]:
    """(table, column, rows) for every column of every table in the database (as reflected, so
    nothing the models forget escapes) whose text holds one of ``needles``, in any case."""
    engine = db.engine
    quote = engine.dialect.identifier_preparer.quote
    inspector = inspect(engine)
    hits = []
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                value = f"lower(CAST({quote(column['name'])} AS TEXT))"
                wanted = " OR ".join(f"{value} LIKE :n{i}" for i in range(len(needles)))
                count = connection.execute(
                    text(f"SELECT count(*) FROM {quote(table)} WHERE {wanted}"),  # noqa: S608
                    {f"n{i}": f"%{needle}%" for i, needle in enumerate(needles)},
                ).scalar_one()
                if count:
                    hits.append((table, column["name"], count))
    return hits


def found_in(blob: str, person: Person) -> list[str]:
    lowered = blob.lower()
    return [needle for needle in person.needles() if needle in lowered]


def outbox_text(app: Any) -> dict[str, str]:
    from pathlib import Path

    folder = Path(app.config["MEMNUN_OUTBOX_DIR"])
    return {path.name: path.read_bytes().decode("utf-8", "replace")
            for path in sorted(folder.iterdir()) if path.is_file()}


def xlsx_text(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace")
                         for name in archive.namelist())


def downloads(client: Any, world: PrivacyWorld) -> dict[str, str]:
    """Every export staff can download for the period: responses (CSV, Excel) and the review
    pack (HTML, CSV, Excel)."""
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    period = {"csrf_token": token, "unit": "0", "start": world.start.date().isoformat(),
              "last": world.end.date().isoformat()}
    found = {}
    for path, kind in (("/reports/responses", "csv"), ("/reports/responses", "xlsx"),
                       ("/reports/pack", "html"), ("/reports/pack", "csv"),
                       ("/reports/pack", "xlsx")):
        response = client.post(path, data={**period, "format": kind})
        assert response.status_code == 200, (path, kind, response.status_code)
        body = response.get_data()
        found[f"{path} {kind}"] = xlsx_text(body) if kind == "xlsx" else body.decode()
    return found


def api_text(client: Any, api_key: str) -> str:
    """The API's answers with everything a key may see (free text and contact data)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    parts = []
    for path in ("/api/v1/responses?limit=100", "/api/v1/complaints?limit=100"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        parts.append(response.get_data(as_text=True))
    return "\n".join(parts)


def figures(app: Any, world: PrivacyWorld) -> Any:
    from app.analytics.overview import overview

    with app.app_context():
        return overview(world.start, world.end)


def test_erase_removes_the_person_everywhere_and_keeps_the_figures(
        app, client, api_key, privacy_world: PrivacyWorld, app_log: pytest.LogCaptureFixture,
) -> None:
    world = privacy_world
    login(client, world.admin_email, world.admin_password)
    with app.app_context():
        before_hits = database_hits(TARGET.needles())
        answers_before = db.session.scalar(select(db.func.count(Answer.id)))
        responses_before = db.session.scalar(select(db.func.count(Response.id)))
    # The search can find the person before: contact, free text, answers, notes, errors.
    tables_before = {table for table, _column, _rows in before_hits}
    assert {"complainant", "complaint", "complaint_event", "answer", "follow_up_note",
            "invitation"} <= tables_before, before_hits
    assert any(found_in(body, TARGET) for body in outbox_text(app).values())
    assert found_in(api_text(client, api_key), TARGET)
    figures_before = figures(app, world)
    assert figures_before.responses == 7 and not figures_before.suppressed

    result = app.test_cli_runner().invoke(
        args=["privacy", "erase", "--email", "  ZEYNEP.KARACA@example.ORG ", "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 complainant record(s), 2 complaint(s)" in result.output

    with app.app_context():
        assert database_hits(TARGET.needles()) == []
        # Nobody else was touched: the other complainant is still there, everywhere.
        assert {"complainant", "complaint", "answer", "follow_up_note"} <= {
            table for table, _column, _rows in database_hits(OTHER.needles())}
        people = db.session.scalars(select(Complainant).where(
            Complainant.id.in_(select(Complaint.complainant_id).where(
                Complaint.id.in_(world.complaint_ids[TARGET.email.lower()]))))).all()
        assert len(people) == 2
        assert all(p.erased_at is not None and p.name is p.email is p.phone is None
                   for p in people)
        # Scores kept, free text gone: exactly the target's two text answers were removed.
        assert db.session.scalar(select(db.func.count(Response.id))) == responses_before
        assert db.session.scalar(select(db.func.count(Answer.id))) == answers_before - 2
        notes = db.session.scalars(select(FollowUpNote)).all()
        assert len(notes) == 2 and sorted(note.text == "" for note in notes) == [False, True]
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "privacy.erase"))
        assert audit.target.startswith("person:") and audit.detail["outbox_files"] == 2
    assert figures(app, world) == figures_before

    outbox = outbox_text(app)
    assert len(outbox) == 5  # seven messages written, the target's two deleted
    assert not [name for name, body in outbox.items() if found_in(body, TARGET)]
    assert any(found_in(body, OTHER) for body in outbox.values())
    for name, body in downloads(client, world).items():
        assert not found_in(body, TARGET), name
    assert not found_in(api_text(client, api_key), TARGET)
    assert not found_in(client.get(f"/follow-ups/{world.follow_up_id}").get_data(as_text=True),
                        TARGET)
    # The app logged while the test ran (intake, dispatch, responses, erasure), never the person.
    records = [*app_log.get_records("setup"), *app_log.get_records("call")]
    logged = "\n".join(record.getMessage() for record in records)
    assert "privacy erasure" in logged and "response" in logged and "invitation" in logged
    assert not found_in(logged, TARGET)


def test_erase_asks_first_and_can_be_repeated(app, privacy_world: PrivacyWorld) -> None:
    runner = app.test_cli_runner()
    declined = runner.invoke(args=["privacy", "erase", "--email", TARGET.email], input="n\n")
    assert declined.exit_code == 1  # aborted: nothing happened
    with app.app_context():
        assert database_hits([TARGET.email.lower()])
    confirmed = runner.invoke(args=["privacy", "erase", "--email", TARGET.email], input="y\n")
    assert confirmed.exit_code == 0 and "Erased: 2 complainant record(s)" in confirmed.output
    again = runner.invoke(args=["privacy", "erase", "--email", TARGET.email, "--yes"])
    assert again.exit_code == 0 and "nothing to erase" in again.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(AuditLog.id)).where(
            AuditLog.action == "privacy.erase")) == 1
