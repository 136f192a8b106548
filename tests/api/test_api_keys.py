"""API keys: `memnun api-key list|revoke` and the admin page (create once, list, revoke)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, ApiScope, AuditLog
from tests.support.api import Api, error_of, make_key
from tests.support.web import csrf_token_from


def _prefix(plain: str) -> str:
    return plain[:10]


def test_cli_lists_and_revokes_by_prefix(app, client) -> None:
    writer = make_key(app, ApiScope.INTAKE, ApiScope.READ, name="çağrı-merkezi")
    reader = make_key(app, ApiScope.READ, name="rapor")
    assert Api(client, reader).get("/units").status_code == 200  # marks it used
    runner = app.test_cli_runner()

    listed = runner.invoke(args=["api-key", "list"])
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[0]: line for line in listed.output.strip().splitlines()}
    assert set(lines) == {_prefix(writer), _prefix(reader)}
    assert "çağrı-merkezi" in lines[_prefix(writer)] and "[intake, read]" in lines[_prefix(writer)]
    assert "last used never" in lines[_prefix(writer)]
    assert "last used never" not in lines[_prefix(reader)]
    assert writer not in listed.output and reader not in listed.output  # only prefixes

    revoked = runner.invoke(args=["api-key", "revoke", "--prefix", _prefix(reader)])
    assert revoked.exit_code == 0, revoked.output
    assert "Revoked API key 'rapor'" in revoked.output
    response = Api(client, reader).get("/units")
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
    assert Api(client, writer).get("/units").status_code == 200  # the other one still works
    assert "revoked" in runner.invoke(args=["api-key", "list"]).output
    with app.app_context():
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "api_key.revoke"))
        assert (audit.actor, audit.target, audit.detail) == ("cli", "api_key:rapor",
                                                              {"prefix": _prefix(reader)})


def test_cli_revoke_by_name_refuses_an_ambiguous_name(app, client) -> None:
    first = make_key(app, ApiScope.READ, name="ortak")
    second = make_key(app, ApiScope.READ, name="ortak")
    runner = app.test_cli_runner()
    ambiguous = runner.invoke(args=["api-key", "revoke", "--name", "ortak"])
    assert ambiguous.exit_code != 0
    assert _prefix(first) in ambiguous.output and _prefix(second) in ambiguous.output
    assert Api(client, first).get("/units").status_code == 200
    assert Api(client, second).get("/units").status_code == 200
    both = runner.invoke(args=["api-key", "revoke", "--name", "ortak", "--prefix",
                               _prefix(second)])
    assert both.exit_code == 0, both.output
    assert Api(client, second).get("/units").status_code == 401
    assert Api(client, first).get("/units").status_code == 200
    for args in (["api-key", "revoke"], ["api-key", "revoke", "--name", "yok"],
                 ["api-key", "revoke", "--prefix", _prefix(second)]):  # already revoked
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args


def test_admin_page_creates_a_key_shown_once_and_revokes_it(app, admin_client) -> None:
    page = admin_client.get("/admin/api-keys")
    assert page.status_code == 200 and "No API keys yet." in page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    created = admin_client.post("/admin/api-keys", data={
        "csrf_token": token, "name": "Çözüm Merkezi", "scopes": ["read"]})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    match = re.search(r'<code id="new-key">([^<]+)</code>', created.get_data(as_text=True))
    assert match
    plain = match.group(1)
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.name == "Çözüm Merkezi" and key.scopes == ["read"]
        assert key.key_hash != plain and plain not in key.key_hash
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "api_key.create"))
        assert audit.actor == "user:admin@example.org"

    api = Api(app.test_client(), plain)
    assert api.get("/units").status_code == 200
    assert api.put("/units/x", json={"name": "X"}).status_code == 403  # read scope only

    listing = admin_client.get("/admin/api-keys").get_data(as_text=True)
    assert "Çözüm Merkezi" in listing and plain[:10] in listing and plain not in listing
    assert admin_client.post(f"/admin/api-keys/{key.id}/revoke", data={}).status_code == 400
    assert api.get("/units").status_code == 200  # the refused revocation changed nothing
    revoked = admin_client.post(f"/admin/api-keys/{key.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    assert api.get("/units").status_code == 401
    after = admin_client.get("/admin/api-keys").get_data(as_text=True)
    assert "revoked" in after and f"/admin/api-keys/{key.id}/revoke" not in after


def test_admin_page_refuses_a_key_without_name_or_scope(app, admin_client) -> None:
    token = csrf_token_from(admin_client.get("/admin/api-keys").get_data(as_text=True))
    for data in ({"name": "", "scopes": ["read"]}, {"name": "x", "scopes": []},
                 {"name": "x", "scopes": ["root"]}):
        response = admin_client.post("/admin/api-keys", data={"csrf_token": token, **data})
        assert response.status_code == 200 and 'class="error"' in response.get_data(
            as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ApiKey)) is None


@pytest.mark.parametrize("name", ["Çözüm\x00Merkezi", "Çözüm\x1fMerkezi"])
def test_an_api_key_name_with_nul_is_refused_with_a_message(app, admin_client, name: str) -> None:
    # PostgreSQL refuses NUL in text (a 500 when stored); refused at the form, nothing stored.
    token = csrf_token_from(admin_client.get("/admin/api-keys").get_data(as_text=True))
    sent = admin_client.post("/admin/api-keys", headers={"Accept-Language": "en"}, data={
        "csrf_token": token, "name": name, "scopes": ["read"]})
    assert sent.status_code < 500
    assert "control characters" in sent.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ApiKey)) is None
