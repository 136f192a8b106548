"""Every Flask form that picks a unit (review pack, responses export, targets, actions, the
complaint search and the survey queue) or a category lists them as a tree: the organisation
first, each unit indented below its parent, siblings in Turkish order (Çağrı before Çevre
before İmar before Örnek before Zabıta, not after Zabıta as code points put them)."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.analytics.tree import INDENT
from app.auth.scope import unit_choices
from app.extensions import db
from app.models import Category, Unit, User
from tests.support.factories import make_user
from tests.support.web import login

EN = {"Accept-Language": "en"}
#: The organisation (its settings' name) and below it its units, as each picker shows them.
TREE = ["Memnun Belediyesi",
        f"{INDENT}Çağrı Merkezi",
        f"{INDENT}Çevre",
        f"{INDENT * 2}Atık",
        f"{INDENT * 2}Park ve Bahçeler",
        f"{INDENT}İmar",
        f"{INDENT}Örnek Birimi",
        f"{INDENT}Zabıta"]


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(MEMNUN_ORGANISATION_NAME="Memnun Belediyesi")


@pytest.fixture
def units(app: Flask) -> Flask:
    """The root unit (the organisation) above five units in an order code points get wrong;
    Çevre has two units of its own; categories with a parent too."""
    with app.app_context():
        root = Unit(code="root", name="Belediye")
        db.session.add(root)
        made = {}
        for code, name in [("zabita", "Zabıta"), ("ornek", "Örnek Birimi"), ("imar", "İmar"),
                           ("cevre", "Çevre"), ("cagri", "Çağrı Merkezi")]:
            made[code] = Unit(code=code, name=name, parent=root)
        made["park"] = Unit(code="park", name="Park ve Bahçeler", parent=made["cevre"])
        made["atik"] = Unit(code="atik", name="Atık", parent=made["cevre"])
        roads = Category(code="yol", name="Yol")
        db.session.add_all([*made.values(), roads,
                            Category(code="cukur", name="Çukur", parent=roads),
                            Category(code="asfalt", name="Asfalt", parent=roads),
                            Category(code="imar-k", name="İmar kirliliği"),
                            Category(code="ses", name="Ses")])
        db.session.commit()
    return app


def _options(page: str, select_id: str) -> list[str]:
    """The option texts of one <select>, unescaped."""
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {select_id}"
    return [html.unescape(text) for text in re.findall(r"<option[^>]*>([^<]*)</option>",
                                                        match.group(1))]


@pytest.fixture
def admin(units: Flask, client: FlaskClient) -> FlaskClient:
    login(client, "admin@example.org", make_user(units, "admin@example.org", "admin"))
    return client


def test_the_one_helper_lists_units_as_a_tree_in_turkish_order(units: Flask) -> None:
    make_user(units, "admin@example.org", "admin")
    make_user(units, "cevre@example.org", "viewer", units=["cevre", "imar"])
    with units.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        manager = db.session.scalar(select(User).where(User.email == "cevre@example.org"))
        # The root is the organisation: the form's own first choice stands for it.
        assert [label for _id, label in unit_choices(admin, under=1)] == TREE[1:]
        assert [label for _id, label in unit_choices(admin)][:2] == ["Çağrı Merkezi", "Çevre"]
        # A unit manager: their own units at the top level, those below indented.
        assert [label for _id, label in unit_choices(manager)] == [
            "Çevre", f"{INDENT}Atık", f"{INDENT}Park ve Bahçeler", "İmar"]


@pytest.mark.parametrize(("path", "select_id"), [
    ("/reports/", "pack-unit"),
    ("/reports/", "export-unit"),
    ("/reports/targets", "unit"),
    ("/actions/new", "unit"),
])
def test_every_form_that_picks_a_unit_shows_the_tree(admin: FlaskClient, path: str,
                                                      select_id: str) -> None:
    page = admin.get(path, headers=EN).get_data(as_text=True)
    assert _options(page, select_id) == TREE


@pytest.mark.parametrize(("path", "first"), [
    ("/actions/", "Any unit"), ("/complaints/", "Any unit"), ("/invitations/", "Any unit")])
def test_filters_by_unit_show_the_tree_below_any_unit(admin: FlaskClient, path: str,
                                                      first: str) -> None:
    page = admin.get(path, headers=EN).get_data(as_text=True)
    assert _options(page, "unit") == [first, *TREE[1:]]


def test_the_complaint_search_lists_categories_as_a_tree(admin: FlaskClient) -> None:
    page = admin.get("/complaints/", headers=EN).get_data(as_text=True)
    assert _options(page, "category") == [
        "Any category", f"{INDENT}İmar kirliliği", f"{INDENT}Ses", f"{INDENT}Yol",
        f"{INDENT * 2}Asfalt", f"{INDENT * 2}Çukur"]


def test_a_picked_unit_still_reaches_the_form(admin: FlaskClient, units: Flask) -> None:
    """The labels are indented, the values are the ids: a search by a nested unit works."""
    with units.app_context():
        park = db.session.scalar(select(Unit.id).where(Unit.code == "park"))
    response = admin.get(f"/complaints/?unit={park}", headers=EN)
    assert response.status_code == 200
    assert re.search(rf'<option selected value="{park}">|<option value="{park}" selected>',
                     response.get_data(as_text=True))


def test_the_distribution_rule_form_lists_units_and_categories_as_trees(
    admin: FlaskClient
) -> None:
    """The rule's filters pick by code: the tree's labels, each with its code."""
    page = admin.get("/admin/rules/new", headers=EN).get_data(as_text=True)
    assert _options(page, "units") == [
        "Belediye (root)", f"{INDENT}Çağrı Merkezi (cagri)", f"{INDENT}Çevre (cevre)",
        f"{INDENT * 2}Atık (atik)", f"{INDENT * 2}Park ve Bahçeler (park)", f"{INDENT}İmar (imar)",
        f"{INDENT}Örnek Birimi (ornek)", f"{INDENT}Zabıta (zabita)"]
    assert _options(page, "categories") == [
        "İmar kirliliği (imar-k)", "Ses (ses)", "Yol (yol)", f"{INDENT}Asfalt (asfalt)",
        f"{INDENT}Çukur (cukur)"]
