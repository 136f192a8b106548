"""Questionnaires and their versions: installing templates, publishing, drafting.

Versioning rules: a questionnaire has numbered versions; publishing freezes a version for good
(responses point at the exact version they answered, so its questions must never change under
them); editing a published questionnaire works on a draft of the next number, of which there is
at most one at a time. The guard at the bottom refuses, at flush time, any change to a published
version, whichever code attempts it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.languages import language_name
from app.models import Questionnaire, QuestionnaireVersion, Response, VersionStatus
from app.models.types import utcnow
from app.questionnaires.documents import (
    QuestionnaireError,
    normalise_definition,
    parse_questionnaire,
)

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")
TITLE_LENGTH = 200  # Questionnaire.title


class VersionError(ValueError):
    """A versioning rule forbids what was asked; the message says which."""


# --- templates --------------------------------------------------------------------------------

def templates_dir() -> Path:
    """survey_templates/ next to the app package, unless MEMNUN_TEMPLATES_DIR says otherwise."""
    configured = current_app.config.get("MEMNUN_TEMPLATES_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.root_path).parent / "survey_templates"


def template_paths(directory: Path | None = None) -> list[Path]:
    directory = directory or templates_dir()
    return sorted(p for p in directory.iterdir() if p.suffix in TEMPLATE_SUFFIXES and p.is_file())


def install_template(path: Path) -> Questionnaire:
    """Install one template file: a questionnaire with its published version 1.

    Idempotent by key: when a questionnaire with the file's key exists, it is returned as it is
    (a designer may have changed it since; a template never overwrites their work). The file is
    validated either way, so a broken template is reported. Raises QuestionnaireError.
    """
    return install_template_file(path)[0]


def install_template_file(path: Path) -> tuple[Questionnaire, bool]:
    """Like install_template; also says whether the questionnaire was created now."""
    definition = parse_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    existing = _questionnaire_by_key(definition["key"])
    if existing is not None:
        return existing, False
    try:
        questionnaire = create_questionnaire(definition, publish_now=True)
    except IntegrityError:
        # Another process installed the same template between our look-up and our insert.
        db.session.rollback()
        existing = _questionnaire_by_key(definition["key"])
        if existing is None:
            raise
        return existing, False
    return questionnaire, True


def install_all_templates(directory: Path | None = None) -> list[Questionnaire]:
    """Install every template in survey_templates/ (see install_template)."""
    return [install_template(path) for path in template_paths(directory)]


# --- questionnaires and versions --------------------------------------------------------------

def create_questionnaire(definition: dict[str, Any], publish_now: bool = False) -> Questionnaire:
    """A new questionnaire whose version 1 is ``definition`` (validated here), draft or published.

    Raises QuestionnaireError, or IntegrityError when the key is taken.
    """
    definition = normalise_definition(definition)
    questionnaire = Questionnaire(key=definition["key"], title=_default_title(definition))
    version = QuestionnaireVersion(
        questionnaire=questionnaire, number=1, definition=definition, status=VersionStatus.DRAFT
    )
    if publish_now:
        version.status = VersionStatus.PUBLISHED
        version.published_at = utcnow()
    db.session.add_all([questionnaire, version])
    db.session.commit()
    return questionnaire


def published_version(key: str) -> QuestionnaireVersion | None:
    """The newest published version of the questionnaire ``key``: the one new surveys use."""
    return db.session.scalar(
        select(QuestionnaireVersion)
        .join(Questionnaire)
        .where(Questionnaire.key == key, QuestionnaireVersion.status == VersionStatus.PUBLISHED)
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )


def get_questionnaire(key: str) -> Questionnaire | None:
    return _questionnaire_by_key(key)


def get_version(key: str, number: int) -> QuestionnaireVersion | None:
    return db.session.scalar(
        select(QuestionnaireVersion)
        .join(Questionnaire)
        .where(Questionnaire.key == key, QuestionnaireVersion.number == number)
    )


def publish(version: QuestionnaireVersion) -> QuestionnaireVersion:
    """Freeze a draft: validate it once more and make it the version new surveys use.

    Raises VersionError (already published, wrong key) or QuestionnaireError (invalid).
    """
    if version.status == VersionStatus.PUBLISHED:
        raise VersionError(_("version %(n)d is already published", n=version.number))
    definition = normalise_definition(version.definition, source=f"version {version.number}")
    if definition["key"] != version.questionnaire.key:
        raise VersionError(
            _("the document's key '%(key)s' is not this questionnaire's key '%(expected)s'",
              key=definition["key"], expected=version.questionnaire.key)
        )
    version.definition = definition
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    version.questionnaire.title = _default_title(definition)
    db.session.commit()
    return version


def new_draft(questionnaire: Questionnaire) -> QuestionnaireVersion:
    """The draft to edit: the existing one, or a copy of the newest version numbered one higher."""
    versions = list(questionnaire.versions)
    drafts = [v for v in versions if v.status == VersionStatus.DRAFT]
    if drafts:
        return drafts[-1]
    if not versions:
        raise VersionError(_("questionnaire '%(key)s' has no version to start from",
                             key=questionnaire.key))
    latest = max(versions, key=lambda v: v.number)
    draft = QuestionnaireVersion(
        questionnaire=questionnaire,
        number=latest.number + 1,
        status=VersionStatus.DRAFT,
        definition=copy.deepcopy(latest.definition),
    )
    db.session.add(draft)
    db.session.commit()
    return draft


def update_draft(version: QuestionnaireVersion, definition: dict[str, Any]) -> QuestionnaireVersion:
    """Replace a draft's document with ``definition`` (validated; the key cannot change)."""
    if version.status != VersionStatus.DRAFT:
        raise VersionError(_("version %(n)d is published and cannot change; edit a new draft",
                             n=version.number))
    definition = normalise_definition(definition, source=f"version {version.number}")
    if definition["key"] != version.questionnaire.key:
        raise VersionError(_("the key of a questionnaire cannot change"))
    version.definition = definition
    db.session.commit()
    return version


# --- starting from a template, importing -----------------------------------------------------

class KeyTaken(VersionError):
    """Another questionnaire already has this key."""


class DraftExists(VersionError):
    """An import would overwrite a draft someone may be working on."""

    def __init__(self, message: str, draft: QuestionnaireVersion) -> None:
        super().__init__(message)
        self.draft = draft


@dataclass(frozen=True)
class TemplateChoice:
    """A shipped template a designer can start from: its file name, key and title."""

    name: str
    key: str
    title: str


def template_choices() -> list[TemplateChoice]:
    """The valid templates in survey_templates/ (a broken one is left out, not fatal here:
    ``memnun templates check`` reports it)."""
    choices = []
    for path in template_paths():
        try:
            definition = parse_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
        except (QuestionnaireError, OSError, UnicodeDecodeError):
            continue
        choices.append(TemplateChoice(path.name, definition["key"], _default_title(definition)))
    return choices


class TemplateLacksLanguage(LookupError):
    """The chosen template is not written in a language the designer chose."""


def create_from_template(template_name: str, key: str, titles: dict[str, str]) -> Questionnaire:
    """A new questionnaire ``key`` whose draft version 1 copies the template file
    ``template_name`` (a name from template_choices(), never a path) in exactly the languages of
    ``titles`` (language -> title): the template's texts in the other languages are left out,
    so nothing the designer did not choose is sent.

    Raises KeyTaken, TemplateLacksLanguage, QuestionnaireError, or LookupError for an unknown
    template.
    """
    path = next((p for p in template_paths() if p.name == template_name), None)
    if path is None:
        raise LookupError(template_name)
    definition = parse_questionnaire(path.read_text(encoding="utf-8"), source=path.name)
    lacking = [code for code in titles if code not in definition["languages"]]
    if lacking:
        raise TemplateLacksLanguage(_(
            "The template is not written in %(missing)s; it has %(languages)s.",
            missing=", ".join(language_name(code) for code in lacking),
            languages=", ".join(language_name(code) for code in definition["languages"])))
    definition = in_languages(definition, list(titles))
    definition["key"] = key
    definition["title"] = dict(titles)
    if _questionnaire_by_key(key) is not None:
        raise _key_taken(key)
    try:
        return create_questionnaire(definition)
    except IntegrityError:
        db.session.rollback()
        raise _key_taken(key) from None


def in_languages(definition: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """``definition`` with its texts in ``languages`` only (in that order)."""
    known = set(definition["languages"])

    def keep(node: Any) -> Any:
        if isinstance(node, dict):
            if node and set(node) <= known:  # a translated text: language -> text
                return {code: node[code] for code in languages if code in node}
            return {name: keep(value) for name, value in node.items()}
        if isinstance(node, list):
            return [keep(item) for item in node]
        return node

    narrowed = keep({name: value for name, value in definition.items() if name != "languages"})
    return {**narrowed, "languages": list(languages)}


def import_questionnaire(text: str, source: str, replace_draft: bool = False
                         ) -> QuestionnaireVersion:
    """Validate an uploaded YAML/JSON document and store it as a draft.

    A new key makes a new questionnaire (draft version 1); a known key makes the draft of its
    next version. An existing draft is only overwritten with ``replace_draft`` (else DraftExists).
    Raises QuestionnaireError with every problem, with line numbers.
    """
    definition = parse_questionnaire(text, source=source)
    questionnaire = _questionnaire_by_key(definition["key"])
    if questionnaire is None:
        return create_questionnaire(definition).versions[0]
    drafts = [v for v in questionnaire.versions if v.status == VersionStatus.DRAFT]
    if drafts and not replace_draft:
        raise DraftExists(
            _("'%(key)s' already has a draft (version %(n)d); importing would overwrite it",
              key=questionnaire.key, n=drafts[-1].number),
            drafts[-1],
        )
    return update_draft(new_draft(questionnaire), definition)


def _key_taken(key: str) -> KeyTaken:
    return KeyTaken(_("a questionnaire with the key '%(key)s' already exists", key=key))


# --- editing a draft --------------------------------------------------------------------------
# Each edit builds the whole new document and goes through update_draft, which validates it:
# a stored draft is always a valid questionnaire, and QuestionnaireError names what is wrong.

def save_question(version: QuestionnaireVersion, question: dict[str, Any],
                  index: int | None = None) -> QuestionnaireVersion:
    """Replace the question at ``index`` with ``question``, or add it at the end (None)."""
    return update_draft(version, _with_question(version.definition, question, index))


def check_question(version: QuestionnaireVersion, question: dict[str, Any],
                   index: int | None = None) -> None:
    """Validate what save_question would store, storing nothing (raises QuestionnaireError)."""
    normalise_definition(_with_question(version.definition, question, index),
                         source=f"version {version.number}")


def _with_question(definition: dict[str, Any], question: dict[str, Any],
                   index: int | None) -> dict[str, Any]:
    changed = copy.deepcopy(definition)
    if index is None:
        changed["questions"].append(question)
    else:
        changed["questions"][index] = question
    return changed


def move_question(version: QuestionnaireVersion, key: str, offset: int) -> QuestionnaireVersion:
    """Move a question ``offset`` places (-1 up, 1 down); at either end nothing moves."""
    keys = [q["key"] for q in version.definition["questions"]]
    index = keys.index(key)
    target = min(max(index + offset, 0), len(keys) - 1)
    keys.insert(target, keys.pop(index))
    return reorder_questions(version, keys)


def reorder_questions(version: QuestionnaireVersion, keys: list[str]) -> QuestionnaireVersion:
    """Put the questions in the order of ``keys``, which must name each question once."""
    by_key = {q["key"]: q for q in version.definition["questions"]}
    if sorted(keys) != sorted(by_key):
        raise VersionError(_("the new order must list every question exactly once"))
    definition = copy.deepcopy(version.definition)
    definition["questions"] = [copy.deepcopy(by_key[key]) for key in keys]
    return update_draft(version, definition)


def remove_question(version: QuestionnaireVersion, key: str) -> QuestionnaireVersion:
    definition = copy.deepcopy(version.definition)
    definition["questions"] = [q for q in definition["questions"] if q["key"] != key]
    return update_draft(version, definition)


def save_texts(version: QuestionnaireVersion, texts: dict[str, dict[str, str]]
               ) -> QuestionnaireVersion:
    """Replace the questionnaire's own texts: ``{"title"|"intro"|"thanks": {language: text}}``."""
    definition = copy.deepcopy(version.definition)
    definition.update(texts)
    version = update_draft(version, definition)
    if version.questionnaire.published_version is None:
        # Until something is published the list shows the draft's title; afterwards the
        # published one's, which publish() updates.
        version.questionnaire.title = _default_title(version.definition)
        db.session.commit()
    return version


# --- scales across versions -------------------------------------------------------------------
# Analytics compares answers across versions by question key; a key whose type (and so its
# scale) changed must not be mixed, or a trend would join 1-5 ratings to 0-10 scores.

@dataclass(frozen=True)
class ScaleChange:
    """A question that keeps its key but changes its type: its trend restarts."""

    key: str
    old_type: str
    old_version: int
    new_type: str


@dataclass(frozen=True)
class VersionChanges:
    """What publishing ``version`` changes against the versions published before it."""

    scale_changes: list[ScaleChange]
    added: list[str]
    removed: list[str]


def changes_since_published(version: QuestionnaireVersion) -> VersionChanges:
    """Compare a version with the published versions numbered below it.

    A scale change is judged against the newest earlier version that asked the key (a question
    dropped in one version and brought back with another type still restarts its trend); added
    and removed keys against the newest earlier published version only.
    """
    earlier = db.session.scalars(
        select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.questionnaire_id == version.questionnaire_id,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
            QuestionnaireVersion.number < version.number,
        )
        .order_by(QuestionnaireVersion.number)
    ).all()
    last_seen: dict[str, tuple[int, str]] = {}
    for old in earlier:
        for question in old.definition.get("questions") or []:
            last_seen[question["key"]] = (old.number, str(question.get("type")))
    questions = version.definition.get("questions") or []
    keys = [q["key"] for q in questions]
    changes = [
        ScaleChange(q["key"], last_seen[q["key"]][1], last_seen[q["key"]][0], str(q["type"]))
        for q in questions
        if q["key"] in last_seen and last_seen[q["key"]][1] != q["type"]
    ]
    previous = [q["key"] for q in earlier[-1].definition.get("questions") or []] if earlier else []
    return VersionChanges(
        scale_changes=changes,
        added=[key for key in keys if previous and key not in previous],
        removed=[key for key in previous if key not in keys],
    )


# --- the designer's overview ------------------------------------------------------------------

@dataclass(frozen=True)
class VersionSummary:
    version: QuestionnaireVersion
    responses: int


@dataclass(frozen=True)
class QuestionnaireSummary:
    questionnaire: Questionnaire
    versions: list[VersionSummary]

    @property
    def responses(self) -> int:
        return sum(v.responses for v in self.versions)


def questionnaire_overview() -> list[QuestionnaireSummary]:
    """Every questionnaire with its versions and the responses each version received."""
    rows = db.session.execute(
        select(Response.version_id, func.count(Response.id)).group_by(Response.version_id)
    )
    counts = {version_id: number for version_id, number in rows}
    questionnaires = db.session.scalars(
        select(Questionnaire).options(selectinload(Questionnaire.versions)).order_by(
            Questionnaire.key
        )
    )
    return [
        QuestionnaireSummary(
            q, [VersionSummary(v, counts.get(v.id, 0)) for v in reversed(q.versions)]
        )
        for q in questionnaires
    ]


def response_count(version: QuestionnaireVersion) -> int:
    return db.session.scalar(
        select(func.count(Response.id)).where(Response.version_id == version.id)
    ) or 0


def _questionnaire_by_key(key: str) -> Questionnaire | None:
    return db.session.scalar(select(Questionnaire).where(Questionnaire.key == key))


def _default_title(definition: dict[str, Any]) -> str:
    return definition["title"][definition["languages"][0]][:TITLE_LENGTH]


# --- the guard: a published version never changes ---------------------------------------------

FROZEN_COLUMNS = ("definition", "number", "questionnaire_id", "status")


def _stored_published(connection: Any, target: QuestionnaireVersion) -> int | None:
    """The stored version's number when the database holds it as published, else None.

    Asks the database, not the object: after a commit the object's attributes are expired, and
    a status that is not loaded would otherwise let a change to a published version slip by.
    """
    row = connection.execute(
        select(QuestionnaireVersion.status, QuestionnaireVersion.number).where(
            QuestionnaireVersion.id == target.id
        )
    ).first()
    return row.number if row is not None and row.status == VersionStatus.PUBLISHED else None


@event.listens_for(QuestionnaireVersion, "before_update")
def _refuse_changing_published(mapper: Any, connection: Any, target: QuestionnaireVersion) -> None:
    state = inspect(target)
    changed = [name for name in FROZEN_COLUMNS if state.attrs[name].history.has_changes()]
    number = _stored_published(connection, target) if changed else None
    if number is not None:
        raise VersionError(
            _("version %(n)d is published and cannot change (%(fields)s); edit a new draft",
              n=number, fields=", ".join(changed))
        )


@event.listens_for(QuestionnaireVersion, "before_delete")
def _refuse_deleting_published(mapper: Any, connection: Any, target: QuestionnaireVersion) -> None:
    number = _stored_published(connection, target)
    if number is not None:
        raise VersionError(_("version %(n)d is published and cannot be deleted", n=number))


__all__ = [
    "DraftExists",
    "KeyTaken",
    "QuestionnaireError",
    "ScaleChange",
    "VersionChanges",
    "VersionError",
    "changes_since_published",
    "check_question",
    "create_from_template",
    "create_questionnaire",
    "get_questionnaire",
    "get_version",
    "import_questionnaire",
    "install_all_templates",
    "install_template",
    "move_question",
    "new_draft",
    "publish",
    "published_version",
    "questionnaire_overview",
    "remove_question",
    "reorder_questions",
    "save_question",
    "save_texts",
    "template_choices",
    "update_draft",
]
