"""The designer's pages: list, create from a template, edit a draft, preview, publish, import
and export. For the designer and admin roles; every page works without JavaScript.

Thin views: the rules live in services (versions) and documents (what a valid questionnaire
is). A published version is never edited; "Edit" on it makes (or opens) the draft of the next
version.
"""

from __future__ import annotations

from typing import Any

from flask import Response as HttpResponse
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.utils import secure_filename

from app.auth.decorators import role_required
from app.design import bp, services
from app.design.forms import (
    ATTRIBUTE_SUGGESTIONS,
    EXTRA_OPTION_ROWS,
    QUESTION_GROUPS,
    QUESTION_PARTS,
    TEXT_GROUPS,
    TYPE_NAMES,
    ButtonForm,
    ImportForm,
    NewQuestionnaireForm,
    PublishForm,
    errors_by_part,
    question_data,
    question_form,
    question_from_form,
    question_label,
    select_choices,
    sort_problems,
    texts_data,
    texts_form,
    texts_from_form,
)
from app.design.services import VersionError
from app.languages import LANGUAGE_NAMES, language_name
from app.models import QuestionnaireVersion, Role, VersionStatus
from app.organisation.settings import organisation_settings
from app.questionnaires.documents import (
    CHOICE_TYPES,
    QUESTION_TYPES,
    SCALES,
    YES_NO_OPTIONS,
    QuestionnaireError,
    dump_questionnaire,
    question_index,
)
from app.timefmt import today

__all__ = ["LANGUAGE_NAMES", "TYPE_NAMES"]

STATUS_NAMES = {
    VersionStatus.DRAFT: _l("Draft"),
    VersionStatus.PUBLISHED: _l("Published"),
}
#: Shown in the preview where the survey page names the respondent's complaint.
SAMPLE_REFERENCE = "2025-000123"


@bp.route("/")
@role_required(Role.DESIGNER)
def questionnaires() -> ResponseReturnValue:
    return render_template(
        "design/questionnaires.html",
        overview=services.questionnaire_overview(),
        status_names=STATUS_NAMES,
    )


@bp.route("/<key>/versions/<int:number>")
@role_required(Role.DESIGNER)
def version(key: str, number: int) -> ResponseReturnValue:
    found = _version_or_404(key, number)
    definition = found.definition
    languages = list(definition.get("languages") or [])
    language = _chosen_language(languages)
    draft = next((v for v in found.questionnaire.versions if v.status == VersionStatus.DRAFT), None)
    return render_template(
        "design/version.html",
        version=found,
        questionnaire=found.questionnaire,
        definition=definition,
        languages=languages,
        language=language,
        language_names=LANGUAGE_NAMES,
        type_names=TYPE_NAMES,
        status_names=STATUS_NAMES,
        scales=SCALES,
        responses=services.response_count(found),
        draft=draft,
    )


# --- new questionnaires: from a template, from a file -----------------------------------------

NEW_QUESTIONNAIRE_PARTS = ("template", "key", "languages", "title_tr", "title_en", "title_nl",
                           "title_et")


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def new() -> ResponseReturnValue:
    form = NewQuestionnaireForm()
    form.template.choices = select_choices(
        (choice.name, f"{choice.title} ({choice.key})") for choice in services.template_choices()
    )
    if form.validate_on_submit():
        try:
            questionnaire = services.create_from_template(form.template.data, form.key.data,
                                                          form.titles())
        except services.TemplateLacksLanguage as exc:
            form.languages.errors.append(str(exc))
        except services.KeyTaken as exc:
            form.key.errors.append(str(exc))
        except QuestionnaireError as exc:  # the file changed on disk since the list was made
            form.template.errors.extend(exc.errors)
        except LookupError:
            form.template.errors.append(_("This template is no longer there."))
        else:
            flash(_("The draft of version 1 is ready: edit its questions, preview, then publish."),
                  "success")
            return redirect(url_for(".edit", key=questionnaire.key, number=1))
    return render_template("design/new.html", form=form, listed=errors_by_part(
        form, {}, NEW_QUESTIONNAIRE_PARTS))


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def import_file() -> ResponseReturnValue:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.document.data
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.document.errors.append(_("The file is not UTF-8 text."))
            return _import_page(form)
        source = secure_filename(upload.filename or "") or "upload"
        try:
            imported = services.import_questionnaire(text, source, bool(form.replace_draft.data))
        except QuestionnaireError as exc:
            form.document.errors.extend(exc.errors)
        except services.DraftExists as exc:
            form.replace_draft.errors.append(str(exc))
        except VersionError as exc:
            form.document.errors.append(str(exc))
        else:
            flash(_("Imported as the draft of version %(n)d.", n=imported.number), "success")
            return redirect(url_for(".edit", key=imported.questionnaire.key,
                                    number=imported.number))
    return _import_page(form)


def _import_page(form: ImportForm) -> ResponseReturnValue:
    listed = errors_by_part(form, {}, ("document", "replace_draft"))
    return render_template("design/import.html", form=form, listed=listed)


@bp.route("/<key>/versions/<int:number>/export")
@role_required(Role.DESIGNER)
def export(key: str, number: int) -> ResponseReturnValue:
    found = _version_or_404(key, number)
    filename = f"{found.questionnaire.key}-v{found.number}.yaml"
    return HttpResponse(
        dump_questionnaire(found.definition),
        content_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- drafts -----------------------------------------------------------------------------------

@bp.route("/<key>/draft", methods=["POST"])
@role_required(Role.DESIGNER)
def start_draft(key: str) -> ResponseReturnValue:
    """Edit a questionnaire: open its draft, or copy its newest version into a new one."""
    questionnaire = services.get_questionnaire(key)
    if questionnaire is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    existing = {v.id for v in questionnaire.versions}
    newest = max(v.number for v in questionnaire.versions)
    draft = services.new_draft(questionnaire)
    if draft.id not in existing:
        flash(_("Version %(n)d is a new draft copied from version %(m)d, which stays as it is.",
                n=draft.number, m=newest), "success")
    return redirect(url_for(".edit", key=key, number=draft.number))


@bp.route("/<key>/versions/<int:number>/edit")
@role_required(Role.DESIGNER)
def edit(key: str, number: int) -> ResponseReturnValue:
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    definition = draft.definition
    languages = list(definition["languages"])
    return render_template(
        "design/edit.html",
        version=draft,
        questionnaire=draft.questionnaire,
        definition=definition,
        languages=languages,
        language=_chosen_language(languages),
        language_name=language_name,
        type_names=TYPE_NAMES,
        question_types=QUESTION_TYPES,
        changes=services.changes_since_published(draft),
    )


@bp.route("/<key>/versions/<int:number>/texts", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def texts(key: str, number: int) -> ResponseReturnValue:
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    languages = list(draft.definition["languages"])
    initial = None if request.method == "POST" else texts_data(draft.definition, languages)
    form = texts_form(languages, data=initial)
    errors: dict[str, list[str]] = {}
    elsewhere: list[str] = []
    if form.validate_on_submit():
        try:
            services.save_texts(draft, texts_from_form(form, languages))
        except QuestionnaireError as exc:
            errors, elsewhere = sort_problems(exc.problems, None, TEXT_GROUPS)
        else:
            flash(_("The texts are saved."), "success")
            return redirect(url_for(".edit", key=key, number=number))
    return render_template(
        "design/texts.html", version=draft, questionnaire=draft.questionnaire, form=form,
        languages=languages, language_name=language_name, errors=errors, elsewhere=elsewhere,
        listed=errors_by_part(form, errors, TEXT_GROUPS),
    )


@bp.route("/<key>/versions/<int:number>/add", methods=["GET", "POST"],
          endpoint="add_question")
@bp.route("/<key>/versions/<int:number>/questions/<question_key>", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def question(key: str, number: int, question_key: str | None = None) -> ResponseReturnValue:
    """Edit one question of a draft, or (without ``question_key``) add one at the end."""
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    definition = draft.definition
    index, stored = _stored_question(definition, question_key)
    languages = list(definition["languages"])
    rows = len(stored.get("options") or []) + EXTRA_OPTION_ROWS
    # On a POST the form holds only what was sent: a field left out is empty, not the old value.
    initial = None if request.method == "POST" else question_data(stored, languages)
    form = question_form(languages, rows, data=initial)
    errors: dict[str, list[str]] = {}
    elsewhere: list[str] = []
    if form.is_submitted() and form.more_options.data:
        for _row in range(EXTRA_OPTION_ROWS):  # more blank rows; nothing is saved yet
            form.options.append_entry()
    elif form.is_submitted():
        # The form's own checks and the questionnaire's both run, so every error shows at once.
        form_valid = form.validate()
        edited = question_from_form(form, languages)
        try:
            if not form_valid:
                services.check_question(draft, edited, index)
            else:
                services.save_question(draft, edited, index)
                flash(_("Question %(key)s is saved.", key=edited["key"]), "success")
                return redirect(url_for(".edit", key=key, number=number,
                                        _anchor=f"question-{edited['key']}"))
        except QuestionnaireError as exc:
            position = len(definition["questions"]) if index is None else index
            label = question_label(edited, position)
            errors, elsewhere = sort_problems(exc.problems, label, QUESTION_GROUPS)
    earlier = definition["questions"] if index is None else definition["questions"][:index]
    return render_template(
        "design/question.html", version=draft, questionnaire=draft.questionnaire, form=form,
        languages=languages, language_name=language_name, errors=errors, elsewhere=elsewhere,
        is_new=index is None, question_key=question_key,
        listed=errors_by_part(form, errors, QUESTION_PARTS),
        earlier=[_answer_hint(q, languages[0]) for q in earlier],
        attribute_suggestions=ATTRIBUTE_SUGGESTIONS, scale_types=list(SCALES),
        choice_types=sorted(CHOICE_TYPES),
    )


def _stored_question(definition: dict[str, Any],
                     question_key: str | None) -> tuple[int | None, dict[str, Any]]:
    """(index, stored question) to edit; (None, a blank of the asked ?type=) for a new one."""
    if question_key is None:
        kind = request.args.get("type")
        return None, {"type": kind if kind in QUESTION_TYPES else "rating"}
    index = question_index(definition, question_key)
    if index is None:
        abort(404)
    return index, definition["questions"][index]


@bp.route("/<key>/versions/<int:number>/questions/<question_key>/move", methods=["POST"])
@role_required(Role.DESIGNER)
def move_question(key: str, number: int, question_key: str) -> ResponseReturnValue:
    draft = _draft_question(key, number, question_key)
    if not isinstance(draft, QuestionnaireVersion):
        return draft
    offset = _offset()
    try:
        services.move_question(draft, question_key, offset)
    except QuestionnaireError as exc:
        flash(_("Question %(key)s cannot move there: %(reasons)s", key=question_key,
                reasons="; ".join(exc.errors)), "error")
    return redirect(url_for(".edit", key=key, number=number, _anchor=f"question-{question_key}"))


@bp.route("/<key>/versions/<int:number>/order", methods=["POST"])
@role_required(Role.DESIGNER)
def reorder(key: str, number: int) -> ResponseReturnValue:
    """The order of the questions at once (what designer.js sends after a drag)."""
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        services.reorder_questions(draft, request.form.getlist("key"))
    except QuestionnaireError as exc:
        flash(_("The questions cannot go in that order: %(reasons)s",
                reasons="; ".join(exc.errors)), "error")
    except VersionError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".edit", key=key, number=number))


@bp.route("/<key>/versions/<int:number>/questions/<question_key>/remove",
          methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def remove_question(key: str, number: int, question_key: str) -> ResponseReturnValue:
    """GET asks for confirmation; POST removes."""
    draft = _draft_question(key, number, question_key)
    if not isinstance(draft, QuestionnaireVersion):
        return draft
    if request.method == "POST":
        try:
            services.remove_question(draft, question_key)
        except QuestionnaireError as exc:
            flash(_("Question %(key)s cannot be removed: %(reasons)s", key=question_key,
                    reasons="; ".join(exc.errors)), "error")
        else:
            flash(_("Question %(key)s is removed.", key=question_key), "success")
        return redirect(url_for(".edit", key=key, number=number))
    definition = draft.definition
    language = _chosen_language(list(definition["languages"]))
    question = definition["questions"][question_index(definition, question_key) or 0]
    return render_template("design/remove.html", version=draft, questionnaire=draft.questionnaire,
                           question=question, language=language)


# --- publishing, preview ----------------------------------------------------------------------

@bp.route("/<key>/versions/<int:number>/publish", methods=["GET", "POST"])
@role_required(Role.DESIGNER)
def publish(key: str, number: int) -> ResponseReturnValue:
    """GET asks for confirmation, with what publishing changes; POST publishes."""
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    form = PublishForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            services.publish(draft)
        except QuestionnaireError as exc:
            problems = exc.errors
        except VersionError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".version", key=key, number=number))
        else:
            flash(_("Version %(n)d is published: new surveys use it.", n=number), "success")
            return redirect(url_for(".version", key=key, number=number))
    return render_template(
        "design/publish.html", version=draft, questionnaire=draft.questionnaire, form=form,
        changes=services.changes_since_published(draft), problems=problems,
        type_names=TYPE_NAMES, published=draft.questionnaire.published_version,
        title=reader_title(draft.definition),
    )


@bp.app_template_global()
def reader_title(definition: dict[str, Any]) -> str:
    """The questionnaire's title in the page's language, or in its first language."""
    titles = definition.get("title") or {}
    languages = definition.get("languages") or list(titles)
    return titles.get(str(get_locale())) or (titles.get(languages[0]) if languages else "") or ""


@bp.route("/<key>/versions/<int:number>/preview")
@role_required(Role.DESIGNER)
def preview(key: str, number: int) -> ResponseReturnValue:
    """The survey page as a respondent sees it, in one of the version's languages.

    Built from the respondent's own question rendering (app/respond), with a banner, sample
    complaint details, and a form that sends nothing.
    """
    from app.respond.forms import build_form, field_name, preselected
    from app.respond.questions import describe_condition, questions_in, translated

    found = _version_or_404(key, number)
    definition = found.definition
    languages = list(definition.get("languages") or ["tr"])
    asked = request.args.get("lang", "")
    language = asked if asked in languages else _chosen_language(languages)
    staff = {  # in the staff member's language, not the page's
        "lang": str(get_locale() or ""),
        "title": _("Preview of version %(n)d", n=found.number),
        "text": _("This is what respondents see. Nothing you choose here is sent or stored; the "
                  "complaint reference and date are examples."),
        "back": _("Back to version %(n)d", n=found.number),
        "edit": _("Edit the draft") if found.status == VersionStatus.DRAFT else "",
        "after": _("After sending, the respondent reads:"),
    }
    with _page_locale(language):
        questions = questions_in(definition, language)
        form = build_form(questions, formdata=None, data=preselected(questions, request.args))
        return render_template(
            "design/preview.html",
            lang=language,
            organisation=organisation_settings().name,
            version=found,
            questionnaire=found.questionnaire,
            staff=staff,
            title=translated(definition.get("title"), language, languages[0]),
            intro=translated(definition.get("intro"), language, languages[0]),
            thanks=translated(definition.get("thanks"), language, languages[0]),
            questions=questions,
            fields={q.key: form[field_name(q)] for q in questions},
            conditions={q.key: describe_condition(q.show_if, questions)
                        for q in questions if q.show_if},
            reference=SAMPLE_REFERENCE,
            received_on=format_date(today(), "long"),
            language_links=[
                {"code": code, "name": language_name(code), "current": code == language,
                 "url": url_for(".preview", key=key, number=number, lang=code)}
                for code in languages
            ],
        )


# --- helpers ----------------------------------------------------------------------------------

def _version_or_404(key: str, number: int) -> QuestionnaireVersion:
    found = services.get_version(key, number)
    if found is None:
        abort(404)
    return found


def _refuse_published(found: QuestionnaireVersion) -> ResponseReturnValue:
    flash(_("Version %(n)d is published and cannot change. Use “Edit” to make a draft of the "
            "next version.", n=found.number), "error")
    return redirect(url_for(".version", key=found.questionnaire.key, number=found.number))


def _draft_question(key: str, number: int,
                    question_key: str) -> QuestionnaireVersion | ResponseReturnValue:
    """The draft that holds ``question_key``, or the response refusing the request."""
    draft = _version_or_404(key, number)
    if draft.status != VersionStatus.DRAFT:
        return _refuse_published(draft)
    if question_index(draft.definition, question_key) is None:
        abort(404)
    if request.method == "POST" and not ButtonForm().validate_on_submit():
        abort(400)
    return draft


def _offset() -> int:
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    return -1 if direction == "up" else 1


def _answer_hint(question: dict[str, Any], language: str) -> dict[str, Any]:
    """What show_if can compare an earlier question's answer with."""
    kind = question["type"]
    if kind in SCALES:
        low, high = SCALES[kind]
        values = _("a number from %(low)d to %(high)d", low=low, high=high)
    elif kind == "yes_no":
        values = ", ".join(f'"{option}"' for option in YES_NO_OPTIONS)
    elif kind in CHOICE_TYPES:
        values = ", ".join(f'"{option["key"]}"' for option in question.get("options") or [])
    else:
        values = _("free text (not usable in show_if)")
    return {"key": question["key"], "type": TYPE_NAMES.get(kind, kind), "values": values,
            "text": (question.get("text") or {}).get(language, "")}


def _page_locale(language: str) -> Any:
    """Our own words on the preview in its language when we have a catalogue for it (as the
    survey page does)."""
    if language not in current_app.config["MEMNUN_LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    return force_locale(language)


def _chosen_language(languages: list[str]) -> str:
    """?lang= when the version has it, else the staff member's language, else the default."""
    asked = request.args.get("lang", "")
    if asked in languages:
        return asked
    current = str(get_locale() or "")
    if current in languages:
        return current
    return languages[0] if languages else "tr"
