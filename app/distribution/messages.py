"""The survey invitation e-mail and its reminder: multipart text + HTML in the survey's language.

Fixed wording goes through gettext under ``force_locale(invitation.language)``; the survey's own
texts (title, intro, the embedded question and its scale ends) come translated from the version's
definition. Everything is rendered by autoescaping Jinja templates under ``templates/mail/``.

Links (``MEMNUN_BASE_URL`` + path): ``/s/<token>`` opens the survey, ``/s/<token>?<key>=<value>``
opens it with that answer chosen (the page stores it, never the GET: mail scanners follow links),
``/s/<token>/opt-out`` opts out of all surveys: a GET only asks (a page with a button), a POST
with the body ``List-Unsubscribe=One-Click`` (RFC 8058, sent by the mailbox provider when the
person presses its "unsubscribe" button) opts out at once. Every invitation and reminder names
that URL in ``List-Unsubscribe``, with a ``mailto:`` beside it when ``MEMNUN_UNSUBSCRIBE_MAILTO``
names a mailbox, and says ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from markupsafe import escape

from app.distribution.tokens import unsubscribe_code
from app.distribution.windows import rule_zone
from app.models import Invitation
from app.models.types import utcnow
from app.organisation.settings import organisation_settings

# The numeric scales of the design contract; a question embedded in the e-mail uses one of them.
SCALES: dict[str, tuple[int, int]] = {
    "rating": (1, 5),
    "likert": (1, 5),
    "importance": (1, 5),
    "effort": (1, 7),
    "nps": (0, 10),
}


@dataclass(frozen=True)
class ScaleChoice:
    value: int
    url: str
    label: str  # read out by screen readers: "1 of 5: Very dissatisfied"


@dataclass(frozen=True)
class EmbeddedQuestion:
    key: str
    text: str
    low_label: str
    high_label: str
    choices: list[ScaleChoice]


def translated(value: Any, language: str, default_language: str) -> str:
    """A text of the definition in ``language``, falling back to the default language."""
    if isinstance(value, dict):
        text = value.get(language) or value.get(default_language)
        if text is None and value:
            text = next(iter(value.values()))
        return str(text or "")
    return "" if value is None else str(value)


def base_url() -> str:
    return current_app.config["MEMNUN_BASE_URL"].rstrip("/")


def survey_url(token: str) -> str:
    return f"{base_url()}/s/{token}"


def opt_out_url(token: str) -> str:
    return f"{survey_url(token)}/opt-out"


def list_unsubscribe(token: str, invitation_id: int) -> str:
    """The ``List-Unsubscribe`` value (RFC 2369): the one-click URL, then a ``mailto:`` when a
    mailbox for unsubscribe requests is configured. Its subject carries the invitation's
    unsubscribe code (``tokens.unsubscribe_code``), not the link token: whoever reads that
    mailbox or a mail log learns no working link, and nobody can make up a code for another
    invitation."""
    value = f"<{opt_out_url(token)}>"
    mailbox = (current_app.config.get("MEMNUN_UNSUBSCRIBE_MAILTO") or "").strip()
    if mailbox:
        value += f", <mailto:{mailbox}?subject=unsubscribe%20{unsubscribe_code(invitation_id)}>"
    return value


# RFC 8058: the POST a mailbox provider sends to the List-Unsubscribe URL carries this body.
ONE_CLICK = "List-Unsubscribe=One-Click"


def answer_url(token: str, question_key: str, value: int) -> str:
    return f"{survey_url(token)}?{urlencode({question_key: value})}"


def message_id(invitation_id: int, reminder: bool = False) -> str:
    """The same for every try of the same message, so mail systems can drop a duplicate."""
    domain = urlsplit(base_url()).hostname or "memnun.localhost"
    kind = "reminder" if reminder else "invitation"
    return f"<memnun.{kind}.{invitation_id}@{domain}>"


def embedded_question(
    definition: dict[str, Any], token: str, language: str
) -> EmbeddedQuestion | None:
    """The question marked ``email_embed`` as one-click links, or None when there is none."""
    default_language = (definition.get("languages") or [language])[0]
    for question in definition.get("questions") or []:
        if not question.get("email_embed") or question.get("type") not in SCALES:
            continue
        low, high = SCALES[question["type"]]
        labels = question.get("labels") or {}
        low_label = translated(labels.get("low"), language, default_language)
        high_label = translated(labels.get("high"), language, default_language)
        choices = []
        for value in range(low, high + 1):
            label = _("%(value)s of %(top)s", value=value, top=high)
            end = low_label if value == low else high_label if value == high else ""
            if end:
                label = f"{label}: {end}"
            choices.append(ScaleChoice(value, answer_url(token, question["key"], value), label))
        text = translated(question.get("text"), language, default_language)
        return EmbeddedQuestion(question["key"], text, low_label, high_label, choices)
    return None


@dataclass(frozen=True)
class PerMessage:
    """The values that differ from one message to the next (the rest is shared by every
    message of one questionnaire version, language, rule and kind)."""

    token: str
    reference: str  # the complaint's reference, or the name of the service
    received_on: str  # the day the complaint came in, or the service was given
    expires_on: str


def _per_message(invitation: Invitation, token: str, expires_at: dt.datetime) -> PerMessage:
    """Needs ``force_locale(invitation.language)``: the dates are written in that language."""
    zone = rule_zone(invitation.rule)
    about = invitation.about
    return PerMessage(
        token=token,
        reference=about.reference,
        received_on=format_date(about.at.astimezone(zone).date(), format="long"),
        expires_on=format_date(expires_at.astimezone(zone).date(), format="long"),
    )


def _context(invitation: Invitation, values: PerMessage, reminder: bool) -> dict[str, Any]:
    definition = invitation.version.definition if invitation.version else {}
    language = invitation.language
    default_language = (definition.get("languages") or [language])[0]
    settings = organisation_settings()
    organisation = settings.name
    about_service = invitation.about.service
    title = translated(definition.get("title"), language, default_language)
    if not title:
        title = (_("How was our service?") if about_service
                 else _("How did we handle your complaint?"))
    subject = f"{organisation}: {title}"
    if reminder:
        subject = _("Reminder: %(subject)s", subject=subject)
    return {
        "language": language,
        "reminder": reminder,
        "organisation": organisation,
        "sender": settings.sender_name,
        "subject": subject,
        "title": title,
        "intro": translated(definition.get("intro"), language, default_language),
        "reference": values.reference,
        "received_on": values.received_on,
        "about_service": about_service,
        "embed": embedded_question(definition, values.token, language),
        "survey_url": survey_url(values.token),
        "opt_out_url": opt_out_url(values.token),
        "expires_on": values.expires_on,
    }


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _render(invitation: Invitation, values: PerMessage, reminder: bool) -> RenderedMail:
    """Subject, text and HTML part (needs ``force_locale(invitation.language)``)."""
    context = _context(invitation, values, reminder)
    return RenderedMail(
        subject=context["subject"],
        text=tidy_text(render_template("mail/invitation.txt", **context)),
        html=render_template("mail/invitation.html", **context),
    )


# Markers rendered in place of each message's own values. Private-use characters: they survive
# HTML escaping and URL building unchanged, and no questionnaire text should contain them (a
# version that does is simply rendered message by message).
MARKERS = PerMessage(
    token="\ue000token\ue001",  # noqa: S106 - a marker, not a secret
    reference="\ue000reference\ue001",
    received_on="\ue000received\ue001",
    expires_on="\ue000expires\ue001",
)
MARKER_START = "\ue000"


def _fill(template: str, values: PerMessage, html: bool) -> str:
    def safe(value: str) -> str:
        return str(escape(value)) if html else value

    return (
        template.replace(MARKERS.token, values.token)  # url-safe base64: needs no escaping
        .replace(MARKERS.reference, safe(values.reference))
        .replace(MARKERS.received_on, safe(values.received_on))
        .replace(MARKERS.expires_on, safe(values.expires_on))
    )


class MessageBuilder:
    """Builds many invitation e-mails quickly, as the dispatcher does for a batch.

    The templates are rendered once per questionnaire version, language, rule and kind
    (invitation or reminder), with markers where each message's own values go (token,
    reference, dates); each message then only fills in its values (escaped for the HTML part).
    The result is the same as rendering every message on its own (a test holds it to that).
    Keep one builder for one dispatch pass: it caches texts, not configuration changes.
    """

    def __init__(self) -> None:
        self._rendered: dict[tuple[Any, ...], RenderedMail | None] = {}
        self._dates: dict[tuple[str, str, dt.date], str] = {}

    def _date(self, language: str, zone: Any, moment: dt.datetime) -> str:
        day = moment.astimezone(zone).date()
        key = (language, str(zone), day)
        if key not in self._dates:
            self._dates[key] = format_date(day, format="long")
        return self._dates[key]

    def _shared(self, invitation: Invitation, reminder: bool) -> RenderedMail | None:
        key = (invitation.version_id, invitation.language, invitation.rule_id, reminder,
               invitation.complaint_id is None)
        if key not in self._rendered:
            definition = invitation.version.definition if invitation.version else {}
            settings = organisation_settings()
            usable = MARKER_START not in f"{definition}{settings.name}{settings.sender_name}"
            self._rendered[key] = _render(invitation, MARKERS, reminder) if usable else None
        return self._rendered[key]

    def render(
        self, invitation: Invitation, token: str, reminder: bool, expires_at: dt.datetime
    ) -> RenderedMail:
        """Needs ``force_locale(invitation.language)``."""
        zone = rule_zone(invitation.rule)
        about = invitation.about
        values = PerMessage(
            token=token,
            reference=about.reference,
            received_on=self._date(invitation.language, zone, about.at),
            expires_on=self._date(invitation.language, zone, expires_at),
        )
        shared = self._shared(invitation, reminder)
        if shared is None:
            return _render(invitation, values, reminder)
        return RenderedMail(
            subject=shared.subject,
            text=_fill(shared.text, values, html=False),
            html=_fill(shared.html, values, html=True),
        )


def link_expiry(invitation: Invitation, sent_at: dt.datetime) -> dt.datetime:
    """When the link stops working: as stored once sent, else as it will be if sent now."""
    if invitation.expires_at is not None:
        return invitation.expires_at
    minutes = invitation.rule.expires_after_minutes if invitation.rule else None
    return sent_at + dt.timedelta(minutes=minutes or 14 * 24 * 60)


def tidy_text(text: str) -> str:
    """Template tags leave blank lines behind in plain text: keep at most one in a row."""
    return re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip() + "\n"


class _UnfoldedPolicy(Compat32):
    """compat32, except that plain ASCII headers stay on one line (RFC 5322 allows 998
    characters). A folded List-Unsubscribe comes back from Python's own parser, and others,
    with a leading space. Encoded headers (a Turkish subject) still fold as RFC 2047 wants."""

    def _one_line(self, name: str, value: Any) -> str | None:
        if isinstance(value, str) and value.isascii() and "\n" not in value:
            line = f"{name}: {value}"
            if len(line) <= 998:
                return line + self.linesep
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._one_line(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        line = self._one_line(name, value)
        return line.encode("ascii") if line else super().fold_binary(name, value)


UNFOLDED = _UnfoldedPolicy()


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part in quoted-printable, which keeps the .eml files readable and the links
    findable in them. Encoded by binascii (C) rather than email.quoprimime (a Python loop per
    character): a third of the time of building an invitation went there."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _boundary() -> str:
    # Set here, the generator needs not search both bodies for a fresh one with a regular
    # expression of its own per message. "=_" cannot occur in quoted-printable text.
    return f"=_memnun_{secrets.token_hex(12)}"


class _Subject(Header):
    """The subject's encoded words, folded once per text (every invitation of a questionnaire
    and language has the same subject) rather than once per message."""

    def encode(self, splitchars: str = ";, \t", maxlinelen: int | None = None,
               linesep: str = "\n") -> str:
        return _folded_subject(str(self), maxlinelen, linesep)


@lru_cache(maxsize=256)
def _folded_subject(text: str, maxlinelen: int | None, linesep: str) -> str:
    return Header(text, "utf-8").encode(maxlinelen=maxlinelen, linesep=linesep)


def build_message(
    invitation: Invitation,
    token: str,
    *,
    reminder: bool = False,
    now: dt.datetime | None = None,
    builder: MessageBuilder | None = None,
) -> Message:
    """The e-mail for ``invitation`` (or its reminder), ready for a mail backend.

    Built with the ``email.mime`` classes rather than ``EmailMessage``: they are three times
    faster, which matters when thousands of invitations fall due at once, and they never fold
    a long header such as List-Unsubscribe with the policy above. A ``builder`` shared across
    many calls renders the templates once (see MessageBuilder).
    """
    complainant = invitation.person
    if complainant is None or not complainant.email:
        raise ValueError(f"invitation {invitation.id} has no e-mail address")
    now = now or utcnow()
    expires_at = link_expiry(invitation, now)
    with force_locale(invitation.language):
        if builder is not None:
            rendered = builder.render(invitation, token, reminder, expires_at)
        else:
            rendered = _render(invitation, _per_message(invitation, token, expires_at), reminder)

    message = MIMEMultipart("alternative", policy=UNFOLDED, boundary=_boundary())
    message.attach(_text_part(rendered.text, "plain"))
    message.attach(_text_part(rendered.html, "html"))
    message["Subject"] = _Subject(rendered.subject, "utf-8")
    message["From"] = organisation_settings().mail_from
    message["To"] = complainant.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(invitation.id, reminder)
    if reminder:
        message["In-Reply-To"] = message_id(invitation.id)
        message["References"] = message_id(invitation.id)
    message["List-Unsubscribe"] = list_unsubscribe(token, invitation.id)
    message["List-Unsubscribe-Post"] = ONE_CLICK
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = invitation.language
    message["X-Memnun-Invitation"] = str(invitation.id)
    message["X-Memnun-Kind"] = "reminder" if reminder else "invitation"
    return message
