"""The e-mail that carries a password link, sent through the configured mail backend
(``MEMNUN_MAIL_BACKEND``: the SMTP server, or the file outbox of ``make run``), from the
organisation's sender, in the organisation's language."""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from app.distribution.mail import MailError, get_backend
from app.models import PasswordLinkPurpose, User
from app.models.types import utcnow
from app.organisation.settings import organisation_settings
from app.staff.accounts import LINK_HOURS, password_link_url


class LinkNotSent(Exception):
    """The mail backend did not take the message; ``str()`` holds no address."""


def _charset() -> Charset:
    charset = Charset("utf-8")
    charset.body_encoding = QP
    return charset


def password_link_message(user: User, token: str, purpose: PasswordLinkPurpose) -> Message:
    settings = organisation_settings()
    with force_locale(settings.default_language):
        context = {
            "organisation": settings.name,
            "url": password_link_url(token),
            "hours": LINK_HOURS,
            "welcome": purpose == PasswordLinkPurpose.WELCOME,
            "email": user.email,
            "sender": settings.sender_name,
        }
        if purpose == PasswordLinkPurpose.WELCOME:
            subject = _("%(organisation)s: your Memnun account", organisation=settings.name)
        else:
            subject = _("%(organisation)s: a new Memnun password", organisation=settings.name)
        text = render_template("mail/password_link.txt", **context)
        html = render_template("mail/password_link.html", **context)
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(text, "plain", _charset()))
    message.attach(MIMEText(html, "html", _charset()))
    message["Subject"] = Header(subject, "utf-8")
    message["From"] = settings.mail_from
    message["To"] = user.email
    message["Date"] = format_datetime(utcnow())
    domain = urlsplit(current_app.config["MEMNUN_BASE_URL"]).hostname or "memnun.localhost"
    message["Message-ID"] = make_msgid("memnun.password", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Memnun-Kind"] = f"password-{purpose.value}"
    return message


def send_password_link(user: User, token: str, purpose: PasswordLinkPurpose) -> None:
    """Hand the message to the mail backend; raises ``LinkNotSent`` when it is not taken."""
    message = password_link_message(user, token, purpose)
    try:
        with get_backend(current_app.config) as backend:
            backend.send(message, invitation_id=0)  # 0: not an invitation
    except MailError as exc:
        raise LinkNotSent(str(exc)) from exc
