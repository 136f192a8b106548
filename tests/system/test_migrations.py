"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from tests.support.database import base_config


def test_migrations_match_the_models(empty_database: str, tmp_path: Path) -> None:
    app = create_app(base_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE_UNDELIVERED)
        _sent_and_bounced()
        upgrade()
        _undelivered_counted_from_the_rows()
        _stored_rows_keep_their_meaning()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations disagree: {differences}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"complaint", "invitation", "response", "answer", "service_event"} <= tables
        downgrade(revision=BEFORE_UNDELIVERED)
        assert "service_event" not in set(inspect(db.engine).get_table_names())
        _no_undelivered_figure_and_the_triggers_still_work()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


#: f4c2d9a7b1e6 adds ``undelivered`` to the rollups and fills it from the rows; a1f7c3e9d5b2
#: (services, kinds, sources and modes) comes after it.
BEFORE_UNDELIVERED = "d8a3f6c1e2b4"


def _sent_and_bounced() -> None:
    """Before f4c2d9a7b1e6 (its triggers without the figure): one invitation sent by SMS and
    answered, one that bounced, written through the tables as they were then."""
    from tests.support.old_rows import insert_old_row

    sent = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)
    with db.engine.begin() as connection:
        unit = insert_old_row(connection, "unit", code="u", name="U")
        category = insert_old_row(connection, "category", code="c", name="C")
        person = insert_old_row(connection, "complainant", language="tr")
        complaint = insert_old_row(
            connection, "complaint", external_id="C-1", channel="web", status="resolved",
            unit_id=unit, category_id=category, complainant_id=person,
            received_at=sent - dt.timedelta(days=3), resolved_at=sent - dt.timedelta(days=1))
        questionnaire = insert_old_row(connection, "questionnaire", key="after", title="After")
        version = insert_old_row(connection, "questionnaire_version",
                                 questionnaire_id=questionnaire, number=1, status="published",
                                 definition={"key": "after", "questions": []})
        common = {"complaint_id": complaint, "version_id": version, "sent_at": sent,
                  "language": "tr"}
        answered = insert_old_row(connection, "invitation", state="responded", channel="sms",
                                  **common)
        insert_old_row(connection, "invitation", state="bounced", channel="email",
                       delivery="failed", **common)
        insert_old_row(connection, "response", invitation_id=answered, version_id=version,
                       questionnaire_id=questionnaire, complaint_id=complaint, unit_id=unit,
                       category_id=category, channel="web", language="tr",
                       submitted_at=sent + dt.timedelta(hours=2))


def _undelivered_counted_from_the_rows() -> None:
    for table in ("hourly_figures", "hourly_dimension_figures WHERE dimension = 'channel'"):
        assert db.session.execute(text(
            f"SELECT sum(sent), sum(undelivered) FROM {table}")).one() == (2, 1), table
    db.session.remove()


def _stored_rows_keep_their_meaning() -> None:
    """a1f7c3e9d5b2: what was stored is a complaint, answered by a complainant, in the mode of
    its invitation's channel, and counted."""
    assert db.session.execute(text("SELECT kind FROM complaint")).scalar_one() == "complaint"
    assert db.session.execute(text(
        "SELECT source, mode, held FROM response")).one() == ("complainant", "sms", False)
    assert db.session.execute(text(
        "SELECT sum(responses) FROM hourly_figures")).scalar_one() == 1
    db.session.remove()


def _no_undelivered_figure_and_the_triggers_still_work() -> None:
    columns = {c["name"] for c in inspect(db.engine).get_columns("hourly_figures")}
    assert "undelivered" not in columns and "sent" in columns
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE invitation SET state = 'expired', delivery = NULL"))
        for table in ("answer", "response", "invitation", "questionnaire_version",
                      "questionnaire", "complaint", "complainant", "category",
                      "unit"):  # nothing left for the way down
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608


def test_memnun_db_upgrade_builds_an_empty_database(tmp_path: Path) -> None:
    """The console script, as a deployer runs it, on the default SQLite location."""
    env = {**os.environ, "MEMNUN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "MEMNUN_SECRET_KEY": "x" * 32}
    memnun = Path(sys.executable).with_name("memnun")
    result = subprocess.run([str(memnun), "db", "upgrade"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    engine = create_engine(env["MEMNUN_DATABASE_URL"])
    assert "complaint" in inspect(engine).get_table_names()
    engine.dispose()


def test_stored_complainant_addresses_are_normalised(empty_database: str, tmp_path: Path
                                                     ) -> None:
    """c4e7a2d9b1f3 writes stored addresses in the form app/emails.py gives them; rows that
    then hold one address are one person, and an opt-out of one reaches the others."""
    app = create_app(base_config(empty_database, tmp_path))
    rows = [  # id, address as stored before, opted out, erased
        (1, "ays\u0327e@xn--rnek-4qa.com.tr", None, None),
        (2, "ayşe@örnek.com.tr", "2025-02-01 10:00:00", None),
        (3, "Ayşe@Örnek.COM.tr", "2025-03-01 10:00:00", None),
        (4, "not an address", None, None),
        (5, None, None, "2025-01-01 00:00:00"),
        (6, "other@example.org", None, None),
    ]
    with app.app_context():
        upgrade(revision="b3d5f1a8c6e2")
        with db.engine.begin() as connection:
            for id_, email, opted_out, erased in rows:
                connection.execute(text(
                    "INSERT INTO complainant (id, email, language, survey_consent, created_at, "
                    "opted_out_at, erased_at) VALUES (:id, :email, 'tr', true, "
                    "'2025-01-01 00:00:00', :opted_out, :erased)"),
                    {"id": id_, "email": email, "opted_out": opted_out, "erased": erased})
        upgrade(revision="c4e7a2d9b1f3")
        with db.engine.connect() as connection:
            stored = connection.execute(text(
                "SELECT id, email, opted_out_at IS NOT NULL FROM complainant ORDER BY id")).all()
            first_opt_out = connection.execute(text(
                "SELECT opted_out_at FROM complainant WHERE id = 1")).scalar()
        assert [tuple(row) for row in stored] == [
            (1, "ayşe@örnek.com.tr", True), (2, "ayşe@örnek.com.tr", True),
            (3, "ayşe@örnek.com.tr", True), (4, "not an address", False), (5, None, False),
            (6, "other@example.org", False)]
        assert str(first_opt_out).startswith("2025-02-01 10:00:00")  # the earliest one
        downgrade(revision="b3d5f1a8c6e2")
        db.engine.dispose()



#: c3d5e7f9a1b2 lets a follow-up have no complaint (a service user's answer).
BEFORE_SERVICE_FOLLOW_UPS = "b7e2d4c6a8f1"


def _answered(connection, unit: int, about: dict[str, object],  # type: ignore[no-untyped-def]
              **segment: object) -> int:
    """A response (and its invitation) about a complaint or a service event (``about``)."""
    from tests.support.old_rows import insert_old_row

    questionnaire = insert_old_row(connection, "questionnaire", key=f"q{len(str(about))}",
                                   title="Q")
    version = insert_old_row(connection, "questionnaire_version", questionnaire_id=questionnaire,
                             number=1, status="published", definition={"questions": []})
    invitation = insert_old_row(connection, "invitation", state="responded", channel="email",
                                version_id=version, language="tr", **about)
    response = insert_old_row(connection, "response", invitation_id=invitation,
                              version_id=version, questionnaire_id=questionnaire, unit_id=unit,
                              channel="web", language="tr", **about, **segment)
    return response


def test_service_users_follow_ups_upgrade_and_downgrade(empty_database: str,
                                                       tmp_path: Path) -> None:
    """The way up keeps complaint follow-ups and takes follow-ups without a complaint; the way
    down deletes those (with their notes) and keeps the complaint ones."""
    from tests.support.old_rows import insert_old_row

    app = create_app(base_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE_SERVICE_FOLLOW_UPS)
        with db.engine.begin() as connection:
            unit = insert_old_row(connection, "unit", code="u", name="U")
            category = insert_old_row(connection, "category", code="c", name="C")
            complaint = insert_old_row(connection, "complaint", external_id="C-1",
                                       channel="web", status="resolved", unit_id=unit,
                                       category_id=category)
            response = _answered(connection, unit, {"complaint_id": complaint},
                                 category_id=category)
            kept = insert_old_row(connection, "follow_up", response_id=response,
                                  complaint_id=complaint, unit_id=unit, reason="low_score",
                                  state="open")
            insert_old_row(connection, "follow_up_note", follow_up_id=kept, text="aradım")
        upgrade(revision="c3d5e7f9a1b2")
        with db.engine.begin() as connection:
            service = insert_old_row(connection, "service", code="s", name="S")
            event = insert_old_row(connection, "service_event", external_id="E-1", unit_id=unit,
                                   service_id=service, channel="web")
            response = _answered(connection, unit, {"service_event_id": event},
                                 service_id=service, source="service_user")
            gone = insert_old_row(connection, "follow_up", response_id=response,
                                  complaint_id=None, unit_id=unit, reason="low_score",
                                  state="open")
            insert_old_row(connection, "follow_up_note", follow_up_id=gone, text="not yet")
        downgrade(revision=BEFORE_SERVICE_FOLLOW_UPS)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id, complaint_id FROM follow_up")).all() == [
                (kept, complaint)]
            assert connection.execute(text("SELECT text FROM follow_up_note")).scalars().all() \
                == ["aradım"]
        [column] = [c for c in inspect(db.engine).get_columns("follow_up")
                    if c["name"] == "complaint_id"]
        assert column["nullable"] is False
        upgrade()
        db.engine.dispose()


#: c4e6a8b0d2f3 adds the phone interviewer permission to staff accounts.
BEFORE_INTERVIEWERS = "c3d5e7f9a1b2"


def test_existing_accounts_are_no_phone_interviewers(empty_database: str, tmp_path: Path) -> None:
    """c4e6a8b0d2f3 adds the permission switched off for every account, and takes it away
    again on the way down without losing the account."""
    from tests.support.old_rows import insert_old_row

    app = create_app(base_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE_INTERVIEWERS)
        with db.engine.begin() as connection:
            insert_old_row(connection, "user_account", email="old@example.org", role="designer",
                           active=True)
        upgrade(revision="c4e6a8b0d2f3")
        with db.engine.connect() as connection:
            assert connection.execute(text(
                "SELECT email, phone_interviewer FROM user_account")).one() == (
                    "old@example.org", False)
        downgrade(revision=BEFORE_INTERVIEWERS)
        columns = {c["name"] for c in inspect(db.engine).get_columns("user_account")}
        assert "phone_interviewer" not in columns
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT email FROM user_account")).scalar_one() == (
                "old@example.org")
        db.engine.dispose()
