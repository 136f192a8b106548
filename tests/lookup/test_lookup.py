"""Finding a complaint, its story, and what staff may do to its invitation: by role and unit."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditLog, Invitation, InvitationState
from app.timefmt import organisation_zone
from tests.support.api import admin_api
from tests.support.distribution import fetch, in_english
from tests.support.factories import make_user
from tests.support.lookup import ids_of, resolve_through_api
from tests.support.respond import post_survey
from tests.support.web import csrf_token_from, login

ROLES = {
    "admin": ("admin", None),
    "designer": ("designer", None),
    "viewer": ("viewer", None),
    "manager": ("viewer", ["fen"]),
    "other manager": ("viewer", ["zabita"]),
    "unit designer": ("designer", ["zabita"]),
}


def signed_in(app: Flask, role: str) -> object:
    kind, units = ROLES[role]
    email = f"{role.replace(' ', '-')}@example.org"
    client = in_english(app.test_client())
    login(client, email, make_user(app, email, kind, units=units))
    return client


def _page(client: object, path: str, status: int = 200) -> str:
    response = client.get(path)  # type: ignore[attr-defined]
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _audited(invitation_id: int) -> list[str]:
    """What the audit log says staff did to the invitation (call inside the app context)."""
    return list(
        db.session.scalars(
            select(AuditLog.action).where(AuditLog.target == f"invitation:{invitation_id}")
        )
    )


def _local(app: Flask, moment: dt.datetime) -> str:
    with app.app_context():
        return moment.astimezone(organisation_zone()).strftime("%Y-%m-%d %H:%M")


def test_a_resolved_complaint_is_found_with_its_planned_invitation(make_app, tmp_path) -> None:
    """The issue's finding: resolved through the API, planned for tomorrow 09:00 (24 hours, then
    the window), and nothing in the staff pages showed it."""
    from tests.support.lookup import seed_organisation

    app = make_app()
    api = admin_api(app)
    seed_organisation(app, api)  # the defaults: 24 hours later, 09:00-20:00 Istanbul
    resolve_through_api(api, "ÇM-2026/0042")
    complaint_id, invitation_id = ids_of(app, "ÇM-2026/0042")
    with app.app_context():
        due = fetch(invitation_id).due_at
    assert due is not None
    client = signed_in(app, "viewer")
    listing = _page(client, "/complaints/?reference=2026/004")
    assert "ÇM-2026/0042" in listing and f"/complaints/{complaint_id}" in listing
    assert "planned" in listing and _local(app, due) in listing
    page = _page(client, f"/complaints/{complaint_id}")
    assert "Survey planned for this time" in page and _local(app, due) in page
    assert "Europe/Istanbul" in page
    local = due.astimezone(dt.timezone(dt.timedelta(hours=3)))
    assert (local.hour, local.minute) >= (9, 0) and local.hour < 20  # inside the window
    # A viewer reads no free text and no contact data, and gets no buttons.
    assert "Çöp alınmadı" not in page and "sukru@example.com.tr" not in page
    assert "Send now" not in page


def test_each_role_sees_what_it_may(world: Flask) -> None:
    api = admin_api(world)
    resolve_through_api(api, "FEN-1", unit="fen.yol", subject="Çukur var")
    resolve_through_api(api, "ZAB-1", unit="zabita", email="other@example.org")
    fen_id, _ = ids_of(world, "FEN-1")
    zab_id, _ = ids_of(world, "ZAB-1")

    admin = signed_in(world, "admin")
    page = _page(admin, f"/complaints/{fen_id}")
    assert "Çukur var" in page and "sukru@example.com.tr" in page and "Send now" in page
    assert 'name="contact"' in _page(admin, "/complaints/")
    found = _page(admin, "/complaints/?contact=other%40example.org")
    assert "ZAB-1" in found and "FEN-1" not in found

    designer = signed_in(world, "designer")
    page = _page(designer, f"/complaints/{fen_id}")
    assert "Çukur var" in page and "sukru@example.com.tr" not in page and "Send now" in page
    assert 'name="contact"' not in _page(designer, "/complaints/")
    # Searching by personal data is not possible without the right to see it: ignored.
    everything = _page(designer, "/complaints/?contact=other%40example.org")
    assert "FEN-1" in everything and "ZAB-1" in everything

    manager = signed_in(world, "manager")
    listing = _page(manager, "/complaints/")
    assert "FEN-1" in listing and "ZAB-1" not in listing
    _page(manager, f"/complaints/{zab_id}", 404)
    assert "Send now" not in _page(manager, f"/complaints/{fen_id}")
    queue = _page(manager, "/invitations/")
    assert "FEN-1" in queue and "ZAB-1" not in queue

    unit_designer = signed_in(world, "unit designer")
    _page(unit_designer, f"/complaints/{fen_id}", 404)
    assert "Send now" in _page(unit_designer, f"/complaints/{zab_id}")


def _post(client: object, complaint_id: int, path: str, form: str, **data: str) -> object:
    page = _page(client, f"/complaints/{complaint_id}")
    token = re.search(rf'name="{form}csrf_token"[^>]*value="([^"]+)"', page)
    fields = {f"{form}csrf_token": token.group(1) if token else csrf_token_from(page), **data}
    return client.post(path, data=fields)  # type: ignore[attr-defined]


def test_send_now_sends_once_and_is_audited(world: Flask, tmp_path: Path) -> None:
    resolve_through_api(admin_api(world), "FEN-2")
    complaint_id, invitation_id = ids_of(world, "FEN-2")
    designer = signed_in(world, "designer")
    sent = _post(designer, complaint_id, f"/invitations/{invitation_id}/send", "send-")
    assert sent.status_code == 302
    page = _page(designer, f"/complaints/{complaint_id}")
    assert "The invitation was sent." in page and "Survey sent" in page
    assert "Sent now by hand (designer@example.org)" in page
    outbox = list((tmp_path / "outbox").glob(f"*-inv{invitation_id}-*.eml"))
    assert len(outbox) == 1
    with world.app_context():
        assert fetch(invitation_id).state == InvitationState.SENT
        assert _audited(invitation_id) == ["invitation.send_now"]
    # A second click (the button of a page loaded before) sends nothing more.
    again = designer.post(
        f"/invitations/{invitation_id}/send",  # type: ignore[attr-defined]
        data={"send-csrf_token": csrf_token_from(page)},
    )
    assert again.status_code == 302
    assert len(list((tmp_path / "outbox").glob(f"*-inv{invitation_id}-*.eml"))) == 1
    assert "no longer waiting" in _page(designer, f"/complaints/{complaint_id}")
    # The outbox is the satisfaction team's too, without the address.
    listing = _page(designer, "/admin/outbox")
    assert str(invitation_id) in listing
    message = _page(designer, f"/admin/outbox/{outbox[0].name}")
    assert "sukru@example.com.tr" not in message


def test_outside_the_sending_hours_only_when_confirmed(world: Flask) -> None:
    resolve_through_api(admin_api(world), "FEN-3")
    complaint_id, invitation_id = ids_of(world, "FEN-3")
    with world.app_context():
        now = dt.datetime.now(organisation_zone())
        rule = fetch(invitation_id).rule
        assert rule is not None
        rule.send_window_start = (now + dt.timedelta(hours=2)).strftime("%H:00")
        rule.send_window_end = (now + dt.timedelta(hours=3)).strftime("%H:00")
        db.session.commit()
    admin = signed_in(world, "admin")
    page = _page(admin, f"/complaints/{complaint_id}")
    assert "outside this rule" in page and "Send it outside the sending hours" in page
    refused = _post(admin, complaint_id, f"/invitations/{invitation_id}/send", "send-")
    assert refused.status_code == 409
    assert "Tick the box to send it anyway" in refused.get_data(as_text=True)
    with world.app_context():
        assert fetch(invitation_id).state == InvitationState.PLANNED
    confirmed = _post(
        admin, complaint_id, f"/invitations/{invitation_id}/send", "send-", **{"send-confirm": "y"}
    )
    assert confirmed.status_code == 302
    with world.app_context():
        assert fetch(invitation_id).state == InvitationState.SENT


def test_replan_and_cancel(world: Flask) -> None:
    resolve_through_api(admin_api(world), "FEN-4")
    complaint_id, invitation_id = ids_of(world, "FEN-4")
    designer = signed_in(world, "designer")
    with world.app_context():
        zone = organisation_zone()
    later = (dt.datetime.now(zone) + dt.timedelta(days=3)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    moved = _post(
        designer,
        complaint_id,
        f"/invitations/{invitation_id}/replan",
        "replan-",
        **{"replan-due_at": later.strftime("%Y-%m-%dT%H:%M")},
    )
    assert moved.status_code == 302
    with world.app_context():
        assert fetch(invitation_id).due_at == later.astimezone(dt.UTC)
    past = _post(
        designer,
        complaint_id,
        f"/invitations/{invitation_id}/replan",
        "replan-",
        **{"replan-due_at": "2020-01-01T10:00"},
    )
    assert past.status_code == 409 and "in the past" in past.get_data(as_text=True)
    cancelled = _post(designer, complaint_id, f"/invitations/{invitation_id}/cancel", "")
    assert cancelled.status_code == 302
    page = _page(designer, f"/complaints/{complaint_id}")
    assert "Cancelled by hand" in page and "Planned again by hand" in page
    with world.app_context():
        assert fetch(invitation_id).state == InvitationState.CANCELLED
        assert fetch(invitation_id).due_at == later.astimezone(
            dt.UTC
        )  # the refusal changed nothing
    again = _post(
        designer,
        complaint_id,
        f"/invitations/{invitation_id}/replan",
        "replan-",
        **{"replan-due_at": later.strftime("%Y-%m-%dT%H:%M")},
    )
    assert again.status_code == 409


def test_who_may_act(world: Flask) -> None:
    resolve_through_api(admin_api(world), "FEN-5")
    _, invitation_id = ids_of(world, "FEN-5")
    for role, status in (("viewer", 403), ("manager", 403), ("unit designer", 404)):
        client = signed_in(world, role)
        token = csrf_token_from(_page(client, "/complaints/"))
        for action in ("send", "cancel", "replan", "retry"):
            response = client.post(
                f"/invitations/{invitation_id}/{action}",  # type: ignore
                data={"csrf_token": token, "send-csrf_token": token, "replan-csrf_token": token},
            )
            assert response.status_code == status, (role, action, response.status_code)
    with world.app_context():
        assert fetch(invitation_id).state == InvitationState.PLANNED
        assert _audited(invitation_id) == []


def test_the_list_costs_the_same_statements_for_many_rows(world: Flask) -> None:
    api = admin_api(world)
    client = signed_in(world, "manager")

    def statements(path: str) -> int:
        with world.app_context():
            engine = db.engine
        counted: list[str] = []

        def count(*args: object) -> None:
            counted.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            _page(client, path)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    resolve_through_api(api, "FEN-10")
    few = statements("/complaints/?unit=0&reference=FEN")
    for number in range(11, 31):
        resolve_through_api(api, f"FEN-{number}")
    many = statements("/complaints/?unit=0&reference=FEN")
    assert many == few, (few, many)
    assert few <= 8, few


def test_the_queue_and_the_dispatch_answer(world: Flask) -> None:
    resolve_through_api(admin_api(world), "FEN-6")
    _, invitation_id = ids_of(world, "FEN-6")
    with world.app_context():
        row = db.session.get(Invitation, invitation_id)
        assert row is not None
        row.due_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        failed = Invitation(
            complaint_id=row.complaint_id,
            rule_id=row.rule_id,
            version_id=row.version_id,
            state=InvitationState.FAILED,
            attempts=8,
            last_error="550 mailbox unavailable",
            due_at=dt.datetime.now(dt.UTC),
        )
        db.session.add(failed)
        db.session.commit()
        failed_id = failed.id
    designer = signed_in(world, "designer")
    queue = _page(designer, "/invitations/")
    assert "FEN-6" in queue and "550 mailbox unavailable" in queue
    assert "after-resolution" in queue and "Yol Bakım Şefliği" in queue
    token = csrf_token_from(queue)
    retried = designer.post(
        f"/invitations/{failed_id}/retry",  # type: ignore[attr-defined]
        data={"csrf_token": token},
    )
    assert retried.status_code == 302
    with world.app_context():
        assert fetch(failed_id).state == InvitationState.PLANNED
    # "Send due invitations now" says what is planned next, and when.
    outbox = _page(designer, "/admin/outbox")
    answer = designer.post(
        "/admin/outbox/dispatch",  # type: ignore[attr-defined]
        data={"csrf_token": csrf_token_from(outbox)},
        follow_redirects=True,
    )
    text = answer.get_data(as_text=True)
    assert "1 sent" in text and "Still planned: 1; the next is due" in text


def test_a_follow_up_reads_as_the_survey_asked_it(world: Flask) -> None:
    from app.distribution.tokens import token_for

    resolve_through_api(admin_api(world), "FEN-7", subject="Su kesildi")
    complaint_id, invitation_id = ids_of(world, "FEN-7")
    designer = signed_in(world, "designer")
    _post(designer, complaint_id, f"/invitations/{invitation_id}/send", "send-")
    with world.app_context():
        token = token_for(invitation_id)
    answered = post_survey(world.test_client(), token, {"overall": "1", "resolved": "no"})
    assert answered.status_code in (200, 302, 303)
    page = _page(designer, f"/complaints/{complaint_id}")
    assert "Survey answered" in page and "Put on the follow-up list" in page
    follow_up = re.search(r'href="(/follow-ups/\d+)"', page)
    assert follow_up, "the complaint page links its follow-up"
    english = _page(designer, follow_up.group(1))
    assert "Overall, how satisfied are you with the way your complaint was handled?" in english
    assert "1 / 5 (Very dissatisfied)" in english and "Was the problem you complained" in english
    assert "Çöp toplama" in english and "Yol Bakım Şefliği" in english and "Su kesildi" in english
    designer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "tr"  # type: ignore[attr-defined]
    turkish = _page(designer, follow_up.group(1))
    assert "Şikâyet ettiğiniz sorun gerçekten çözüldü mü?" in turkish
    assert "1 / 5 (Hiç memnun değilim)" in turkish and ">overall<" not in turkish
    # A unit manager works the follow-up too, without the subject.
    manager = _page(signed_in(world, "manager"), follow_up.group(1))
    assert "Çöp toplama" in manager and "Su kesildi" not in manager


def test_send_now_leaves_a_row_a_dispatcher_holds_alone(world: Flask, tmp_path: Path) -> None:
    """A row claimed by a dispatcher (its lease runs) is that dispatcher's: the button changes
    nothing and sends nothing, so the guarantee's one owner per row holds."""
    resolve_through_api(admin_api(world), "FEN-8")
    complaint_id, invitation_id = ids_of(world, "FEN-8")
    lease = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with world.app_context():
        row = db.session.get(Invitation, invitation_id)
        assert row is not None
        due = row.due_at
        row.claimed_until = lease
        db.session.commit()
    admin = signed_in(world, "admin")
    refused = _post(admin, complaint_id, f"/invitations/{invitation_id}/send", "send-")
    assert refused.status_code == 302
    assert "being sent right now" in _page(admin, f"/complaints/{complaint_id}")
    assert not list((tmp_path / "outbox").glob(f"*-inv{invitation_id}-*.eml"))
    with world.app_context():
        row = fetch(invitation_id)
        assert (row.state, row.due_at, row.claimed_until) == (InvitationState.PLANNED, due, lease)
        assert _audited(invitation_id) == []
