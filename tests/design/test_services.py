"""Installing templates and the versioning rules, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified

from app.design.services import (
    ScaleChange,
    VersionError,
    changes_since_published,
    create_questionnaire,
    install_all_templates,
    install_template,
    new_draft,
    publish,
    published_version,
    template_paths,
    templates_dir,
    update_draft,
)
from app.extensions import db
from app.models import Questionnaire, QuestionnaireVersion, VersionStatus
from app.questionnaires.documents import QuestionnaireError
from app.questionnaires.versions import comparable_versions, question_scale_history

REPO = Path(__file__).resolve().parents[2]
SHIPPED_KEYS = ["ces", "iso10004-full", "nps-relationship", "post-resolution", "walk-in"]

SMALL = """\
key: small
languages: [tr, en]
title: {tr: Küçük, en: Small}
intro: {tr: Giriş, en: Intro}
thanks: {tr: Teşekkürler, en: Thanks}
questions:
  - {key: overall, type: rating, attribute: overall, text: {tr: Genel, en: Overall}}
"""


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    # Messages are checked in English; outside a request they come in the default language.
    return make_app(BABEL_DEFAULT_LOCALE="en")


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_templates_dir_is_next_to_the_app(app: Flask) -> None:
    with app.app_context():
        assert templates_dir() == REPO / "survey_templates"
        assert [p.name for p in template_paths()] == [
            "ces.yaml", "iso10004-full.yaml", "nps-relationship.yaml", "post-resolution.yaml",
            "walk-in.yaml",
        ]


def test_install_all_templates_is_idempotent(app: Flask) -> None:
    with app.app_context():
        first = install_all_templates()
        assert sorted(q.key for q in first) == SHIPPED_KEYS
        ids = {q.key: q.id for q in first}
        second = install_all_templates()
        assert {q.key: q.id for q in second} == ids
        assert count(Questionnaire) == len(SHIPPED_KEYS)
        assert count(QuestionnaireVersion) == len(SHIPPED_KEYS)
        version = published_version("post-resolution")
        assert version is not None
        assert (version.number, version.status) == (1, VersionStatus.PUBLISHED)
        assert version.published_at is not None and version.published_at.tzinfo is not None
        assert version.questionnaire.title == "Şikâyetinizin çözüm sürecini değerlendirin"
        assert version.definition["questions"][0]["key"] == "overall"


def test_install_leaves_an_edited_questionnaire_alone(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with app.app_context():
        questionnaire = install_template(path)
        draft = new_draft(questionnaire)
        edited = copy.deepcopy(draft.definition)
        edited["title"]["en"] = "Edited"
        update_draft(draft, edited)
        publish(draft)
        again = install_template(path)
        assert again.id == questionnaire.id
        assert [v.number for v in again.versions] == [1, 2]
        assert published_version("small").definition["title"]["en"] == "Edited"


def test_templates_dir_can_be_configured(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "small.yaml").write_text(SMALL, encoding="utf-8")
    (folder / "notes.txt").write_text("not a template", encoding="utf-8")
    app = make_app(MEMNUN_TEMPLATES_DIR=str(folder))
    with app.app_context():
        assert [q.key for q in install_all_templates()] == ["small"]


def test_a_broken_template_is_refused_with_its_errors(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(SMALL.replace("type: rating", "type: stars"), encoding="utf-8")
    with app.app_context():
        with pytest.raises(QuestionnaireError) as caught:
            install_template(path)
        assert caught.value.source == "broken.yaml"
        assert caught.value.errors == [
            "line 7, question 'overall', field 'type': unknown type 'stars'; use one of rating, "
            "nps, effort, likert, yes_no, single_choice, multi_choice, text, importance"
        ]
        assert count(Questionnaire) == 0


def test_drafts_publishing_and_frozen_versions(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with app.app_context():
        questionnaire = install_template(path)
        v1 = published_version("small")
        assert v1 is not None

        draft = new_draft(questionnaire)
        assert (draft.number, draft.status) == (2, VersionStatus.DRAFT)
        assert draft.definition == v1.definition
        assert new_draft(questionnaire).id == draft.id  # one draft at a time
        assert published_version("small").id == v1.id  # a draft is not used yet

        changed = copy.deepcopy(draft.definition)
        changed["questions"][0]["text"]["en"] = "All in all?"
        update_draft(draft, changed)
        publish(draft)
        assert published_version("small").id == draft.id
        assert draft.published_at is not None
        with pytest.raises(VersionError, match="version 2 is already published"):
            publish(draft)
        with pytest.raises(VersionError, match="published and cannot change"):
            update_draft(draft, changed)

        # The first version still says what it said when it was answered.
        db.session.expire_all()
        assert published_version("small").number == 2
        v1 = db.session.get(QuestionnaireVersion, v1.id)
        assert v1.definition["questions"][0]["text"]["en"] == "Overall"

        # Next edit: version 3, copied from the newest.
        third = new_draft(questionnaire)
        assert third.number == 3
        assert third.definition["questions"][0]["text"]["en"] == "All in all?"


def test_a_published_version_cannot_be_changed_by_any_code(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with app.app_context():
        install_template(path)
        version = published_version("small")
        version_id = version.id
        # after a commit the object is expired: the guard must not depend on what is loaded
        version.definition = {**version.definition, "title": {"tr": "X", "en": "X"}}
        with pytest.raises(VersionError, match="version 1 is published and cannot change"):
            db.session.commit()
        db.session.rollback()

        version = db.session.get(QuestionnaireVersion, version_id)
        version.definition["title"]["en"] = "Changed in place"
        flag_modified(version, "definition")
        with pytest.raises(VersionError, match=r"cannot change \(definition\)"):
            db.session.commit()
        db.session.rollback()

        version = db.session.get(QuestionnaireVersion, version_id)
        version.status = VersionStatus.DRAFT
        with pytest.raises(VersionError, match=r"cannot change \(status\)"):
            db.session.commit()
        db.session.rollback()

        version = db.session.get(QuestionnaireVersion, version_id)
        db.session.delete(version)
        with pytest.raises(VersionError, match="cannot be deleted"):
            db.session.commit()
        db.session.rollback()

        db.session.expire_all()
        version = db.session.get(QuestionnaireVersion, version_id)
        assert version.status == VersionStatus.PUBLISHED
        assert version.definition["title"]["en"] == "Small"


def test_publishing_validates_the_draft(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with app.app_context():
        questionnaire = install_template(path)
        draft = new_draft(questionnaire)
        with pytest.raises(QuestionnaireError):
            update_draft(draft, {**draft.definition, "languages": ["tr", "en", "nl"]})
        with pytest.raises(VersionError, match="key of a questionnaire cannot change"):
            update_draft(draft, {**draft.definition, "key": "other"})
        # A draft broken by other means is still refused at publishing.
        draft.definition = {**draft.definition, "questions": []}
        db.session.commit()
        with pytest.raises(QuestionnaireError) as caught:
            publish(draft)
        assert caught.value.errors == ["questions must be a non-empty list"]
        assert published_version("small").number == 1


def test_cli_install_and_check(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["templates", "install"])
    assert first.exit_code == 0, first.output
    assert "post-resolution: installed as version 1 (post-resolution.yaml)" in first.output
    second = runner.invoke(args=["templates", "install"])
    assert second.exit_code == 0
    assert second.output.count("already installed, left unchanged") == len(SHIPPED_KEYS)
    with app.app_context():
        assert count(Questionnaire) == len(SHIPPED_KEYS)

    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL.replace("key: overall", "key: Overall"), encoding="utf-8")
    checked = runner.invoke(args=["templates", "check", str(broken),
                                  str(REPO / "survey_templates" / "ces.yaml")])
    assert checked.exit_code == 1
    assert "broken.yaml:\n  line 7, question '#1', field 'key': the key 'Overall'" in checked.output
    assert "ces.yaml: valid (ces, 3 questions)" in checked.output
    installed = runner.invoke(args=["templates", "install", str(broken)])
    assert installed.exit_code == 1
    with app.app_context():
        assert count(Questionnaire) == len(SHIPPED_KEYS)


# --- scales across versions (what analytics asks before joining versions on a trend) ----------

def _with_overall(definition: dict, kind: str | None) -> dict:
    """``definition`` whose question ``overall`` has type ``kind`` (None: not asked at all)."""
    changed = copy.deepcopy(definition)
    others = [{"key": "other", "type": "rating", "text": {"tr": "Diğer", "en": "Other"}}]
    if kind is None:
        changed["questions"] = others
    else:
        changed["questions"] = [{"key": "overall", "type": kind, "attribute": "overall",
                                 "text": {"tr": "Genel", "en": "Overall"}}, *others]
    return changed


def test_scale_history_and_comparable_versions(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    with app.app_context():
        questionnaire = install_template(path)  # version 1: overall is a rating
        for kind in ("nps", None, "rating"):  # versions 2, 3 (without overall) and 4
            draft = new_draft(questionnaire)
            update_draft(draft, _with_overall(draft.definition, kind))
            if kind == "rating":
                # Brought back as a rating after being an nps: its trend restarts again.
                assert changes_since_published(draft).scale_changes == [
                    ScaleChange("overall", "nps", 2, "rating")]
                assert changes_since_published(draft).added == ["overall"]
            if kind is None:
                assert changes_since_published(draft).removed == ["overall"]
                assert changes_since_published(draft).scale_changes == []
            publish(draft)
        draft = new_draft(questionnaire)  # version 5, a draft: overall becomes an effort
        update_draft(draft, _with_overall(draft.definition, "effort"))

        assert question_scale_history("small", "overall") == [
            (1, "rating"), (2, "nps"), (4, "rating")]
        assert question_scale_history("small", "overall", include_drafts=True) == [
            (1, "rating"), (2, "nps"), (4, "rating"), (5, "effort")]
        assert question_scale_history("small", "other") == [
            (2, "rating"), (3, "rating"), (4, "rating")]
        # The versions whose answers share the newest published version's scale; a draft has
        # no answers and does not count.
        assert comparable_versions("small", "overall") == [1, 4]
        assert comparable_versions("small", "other") == [2, 3, 4]
        assert changes_since_published(draft).scale_changes == [
            ScaleChange("overall", "rating", 4, "effort")]
        # Nothing asked, nothing to compare.
        assert question_scale_history("small", "missing") == []
        assert comparable_versions("small", "missing") == []
        assert comparable_versions("no-such-questionnaire", "overall") == []


def test_a_first_version_has_no_changes_to_warn_about(app: Flask) -> None:
    with app.app_context():
        questionnaire = create_questionnaire(yaml.safe_load(SMALL))
        changes = changes_since_published(questionnaire.versions[0])
        assert (changes.scale_changes, changes.added, changes.removed) == ([], [], [])
