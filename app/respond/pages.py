"""Rendering the respondent's pages in the right language: what the views show, not what they do.

Our own words (buttons, notices) come from the catalogue of the page's language; the survey's
words come from the questionnaire version in the same language (see questions.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, format_date, get_locale
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from app.languages import language_name
from app.organisation.settings import organisation_settings
from app.respond.forms import build_form, field_name
from app.respond.links import fingerprint
from app.respond.questions import Question, describe_condition, translated
from app.respond.services import (
    Invited,
    LinkState,
    SurveyVersion,
    link_state,
    survey_version,
    version_by_id,
)
from app.timefmt import organisation_zone

DEFAULT_RETENTION_DAYS = 180


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Our own words in the page's language when we have a catalogue for it."""
    if language not in current_app.config["MEMNUN_LANGUAGES"]:
        language = organisation_settings().default_language
    with force_locale(language):
        yield


def render_page(
    template: str, language: str, status: int = 200, **context: Any
) -> ResponseReturnValue:
    settings = organisation_settings()
    with speaking(language):
        body = render_template(
            template,
            lang=language,
            organisation=settings.name,
            controller=settings.controller_name,
            controller_contact=settings.controller_contact,
            **context,
        )
    return body, status


def _pick_language(languages: list[str], asked: str | None, invitation: Invited) -> str:
    for candidate in (asked, invitation.language):
        if candidate in languages:
            return candidate
    return languages[0]


def invitation_language(invitation: Invited | None, asked: str | None = None) -> str:
    """The language of a page about ``invitation``: the one asked for if the survey has it,
    else the invitation's. Without an invitation: the one asked for, else the browser's."""
    if invitation is None:
        if asked in current_app.config["MEMNUN_LANGUAGES"]:
            return str(asked)
        return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    version = survey_version(invitation)
    if version is not None:
        languages = version.languages
    else:
        languages = list(current_app.config["MEMNUN_LANGUAGES"])
    return _pick_language(languages, asked, invitation)


def unknown_link() -> ResponseReturnValue:
    # The same page for a malformed and an unknown token: nothing tells which tokens exist.
    return render_page("respond/unknown.html", invitation_language(None), 404)


def no_survey() -> ResponseReturnValue:
    """A clean address without a link cookie (it expired, or the browser refuses cookies)."""
    return render_page("respond/unknown.html", invitation_language(None), 404, lost=True)


def link_closed_page(invitation: Invited) -> ResponseReturnValue | None:
    """The page for a link that takes no answer any more, or None when it still does."""
    state = link_state(invitation)
    if state == LinkState.OPEN:
        return None
    language = invitation_language(invitation)
    if state == LinkState.ANSWERED:
        return render_page("respond/answered.html", language)
    return render_page("respond/closed.html", language, 410)


@dataclass
class SurveyPage:
    """Everything the survey page shows for one invitation in one language."""

    invitation: Invited
    token: str
    version: SurveyVersion
    language: str

    @classmethod
    def open(cls, invitation: Invited, token: str, asked_language: str | None) -> SurveyPage:
        version = survey_version(invitation)
        assert version is not None  # link_state said the link is open
        language = _pick_language(version.languages, asked_language, invitation)
        return cls(invitation, token, version, language)

    @property
    def link(self) -> str:
        return fingerprint(self.token)

    @property
    def definition(self) -> dict[str, Any]:
        return self.version.definition

    @cached_property
    def questions(self) -> list[Question]:
        with speaking(self.language):
            return self.version.questions(self.language)

    def text(self, name: str) -> str:
        """title, intro or thanks in the page's language."""
        return translated(self.definition.get(name), self.language, self.version.languages[0])

    def received_on(self) -> str:
        zone = organisation_zone()
        return format_date(self.invitation.about.at.astimezone(zone).date(), "long")

    def language_links(self) -> list[dict[str, Any]]:
        """Links to the page in the version's other languages (a one-click choice stays in the
        session, so it is kept too)."""
        return [
            {
                "code": code,
                "name": language_name(code),
                "url": url_for(".survey", lang=code),
                "current": code == self.language,
            }
            for code in self.version.languages
        ]


def _privacy() -> dict[str, Any]:
    config = current_app.config
    return {
        "retention_days": int(config.get("MEMNUN_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS),
        "min_group": int(config.get("MEMNUN_MIN_GROUP_SIZE") or 5),
    }


def survey_page(
    page: SurveyPage,
    form: FlaskForm,
    *,
    resend: bool = False,
    chosen: dict[str, str] | None = None,
    saved: bool = False,
) -> ResponseReturnValue:
    """The survey form; ``chosen`` holds a one-click answer not stored yet, ``saved`` says that
    one was just stored (scripts off)."""
    return render_page("respond/survey.html", page.language,
                       **_survey_context(page, form, resend=resend, chosen=chosen, saved=saved))


def _survey_context(
    page: SurveyPage,
    form: FlaskForm,
    *,
    resend: bool = False,
    chosen: dict[str, str] | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    fields = {q.key: form[field_name(q)] for q in page.questions}
    csrf_field = getattr(form, "csrf_token", None)
    with speaking(page.language):
        context = {
            "page": page,
            "form": form,
            "fields": fields,
            "problems": [(q, fields[q.key].errors) for q in page.questions if fields[q.key].errors],
            "form_problems": list(form.form_errors),
            "conditions": {
                q.key: describe_condition(q.show_if, page.questions)
                for q in page.questions
                if q.show_if
            },
            "reference": page.invitation.about.reference,
            "about_service": page.invitation.about.service,
            "received_on": page.received_on(),
            "language_links": page.language_links(),
            "action": url_for(".survey", lang=page.language),
            "opt_out_url": url_for(".opt_out", lang=page.language),
            "link_id": page.link,
            # The form's own CSRF check (when the app-wide one is off) asks to send again too.
            "resend": resend or bool(csrf_field is not None and csrf_field.errors),
            "chosen": chosen or {},
            "saved": saved,
            **_privacy(),
        }
    return context


# --- the blank survey page, rendered once ---------------------------------------------------------
#
# The page of a survey nobody has answered yet is the same for every invitation of a version in
# a language but for four values: the complaint's reference and date, the link's fingerprint and
# the CSRF token. It is rendered once per process with a marker in place of each, and each view
# puts the values, escaped, where the markers are. A marker is made of letters, digits and dashes,
# which escaping leaves as they are, and holds a random part, so no text of a questionnaire can
# contain one by chance.

MAX_KEPT_PAGES = 200
_MARK = f"memnun-{secrets.token_hex(8)}"
MARKERS = {name: f"{_MARK}-{name}" for name in ("reference", "date", "link", "csrf")}


def _kept_pages() -> dict[tuple[Any, ...], str]:
    return current_app.extensions.setdefault("memnun_blank_survey_pages", {})  # type: ignore[no-any-return]


def blank_survey_page(page: SurveyPage) -> ResponseReturnValue:
    """``survey_page`` for a form with nothing chosen, answered or wrong: the same page, from
    this process's copy for the version, language and settings."""
    settings = organisation_settings()
    key = (page.version.id, page.language, settings, tuple(sorted(_privacy().items())),
           page.invitation.about.service)
    kept = _kept_pages()
    template = kept.get(key)
    if template is None:
        with speaking(page.language):
            form = build_form(page.questions, formdata=None, data={})
        context = {**_survey_context(page, form), "reference": MARKERS["reference"],
                   "received_on": MARKERS["date"], "link_id": MARKERS["link"],
                   "csrf_token": lambda: MARKERS["csrf"]}
        template, _status = render_page("respond/survey.html", page.language, **context)
        if len(kept) >= MAX_KEPT_PAGES:
            kept.clear()
        kept[key] = template
    with speaking(page.language):
        received_on = page.received_on()
    values = {
        "reference": page.invitation.about.reference,
        "date": received_on,
        "link": page.link,
        "csrf": generate_csrf(),
    }
    body = str(template)
    for name, value in values.items():
        body = body.replace(MARKERS[name], str(escape(value)))
    return body, 200


def thanks_page(kept: dict[str, Any] | None, template: str) -> ResponseReturnValue:
    """The thank-you page of a survey just sent (a link's or a walk-in's): its version's thanks
    in the language it was answered in, from what the POST kept in the session (``kept``)."""
    kept = kept or {}
    version_id = kept.get("version")
    version = version_by_id(version_id) if isinstance(version_id, int) else None
    language = str(kept.get("language") or current_app.config["BABEL_DEFAULT_LOCALE"])
    text = ""
    if version is not None:
        text = translated(version.definition.get("thanks"), language, version.languages[0])
    return render_page(template, language, thanks=text)
