"""SMS, the second channel: for complainants who gave a phone number and no e-mail address.

The SMS backend posts each message to a configurable HTTP gateway (``MEMNUN_SMS_GATEWAY_URL``)
as JSON ``{"to": "<phone>", "body": "<text>", "reference": "<stable id>"}`` with the same stable
reference in an ``Idempotency-Key`` header (the SMS twin of the e-mail's Message-ID: a gateway that
honours it drops a resend after a crash). Credentials: ``MEMNUN_SMS_GATEWAY_TOKEN`` as a bearer
token, else ``MEMNUN_SMS_GATEWAY_USER``/``_PASSWORD`` as HTTP basic auth.

It speaks the mail backends' language, so the dispatcher treats both channels alike:

- 2xx: sent.
- 5xx, 408, 429, a timeout: ``TemporaryMailError`` (retried with backoff, counted as attempts).
- other 4xx: ``PermanentMailError`` (this message can never go: the invitation fails).
- 401, 403, 407, a refused connection, an unknown host, no gateway configured:
  ``MailServerUnavailable``: our configuration or the gateway is at fault, not the message, so
  nothing is counted and the channel waits for the next pass.

The body comes from ``MEMNUN_SMS_BODY_TEMPLATE`` with the placeholders ``{organisation}``,
``{reference}`` and ``{link}`` (plain replacement, nothing else in the text is interpreted), or
from a translated default in the invitation's language.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.distribution.mail import (
    MailBackend,
    MailServerUnavailable,
    PermanentMailError,
    TemporaryMailError,
    scrub,
)
from app.distribution.messages import base_url, survey_url
from app.models import Invitation
from app.organisation.settings import organisation_settings

PHONE_IN_TEXT_RE = re.compile(r"\+?\d[\d ()./-]{5,}\d")
PLACEHOLDERS = ("organisation", "reference", "link")
CONFIGURATION_STATUSES = {401, 403, 407}
TEMPORARY_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class SmsMessage:
    """One text message, ready for the gateway."""

    to: str
    body: str
    reference: str  # the same for every try of the same message


def scrub_sms(text: str, limit: int = 300) -> str:
    """An error text safe to keep: no e-mail addresses, no phone numbers, bounded length."""
    return PHONE_IN_TEXT_RE.sub("<number>", scrub(text, limit=limit * 2))[:limit]


def sms_configured(config: Any) -> bool:
    """Whether SMS invitations can be planned at all: a gateway URL is set."""
    return bool((config.get("MEMNUN_SMS_GATEWAY_URL") or "").strip())


def sms_reference(invitation_id: int, reminder: bool = False) -> str:
    domain = urlsplit(base_url()).hostname or "memnun.localhost"
    kind = "reminder" if reminder else "invitation"
    return f"memnun.{kind}.{invitation_id}@{domain}"


def fill_template(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` of PLACEHOLDERS replaced; nothing else is evaluated
    (unlike ``str.format``, which would reach into attributes of the values)."""
    text = template
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values.get(name, ""))
    return text


def build_sms(invitation: Invitation, token: str, *, reminder: bool = False) -> SmsMessage:
    """The SMS for ``invitation`` (or its reminder): organisation, reference and survey link."""
    person = invitation.person
    phone = (person.phone or "").strip() if person is not None else ""
    if not phone:
        raise ValueError(f"invitation {invitation.id} has no phone number")
    values = {
        "organisation": organisation_settings().short_name,
        "reference": invitation.about.reference,
        "link": survey_url(token),
    }
    with force_locale(invitation.language):
        template = current_app.config.get("MEMNUN_SMS_BODY_TEMPLATE") or (_(
            "{organisation}: how was our service ({reference})? "
            "Please tell us in one minute: {link}"
        ) if invitation.about.service else _(
            "{organisation}: how did we handle your complaint {reference}? "
            "Please tell us in one minute: {link}"
        ))
        body = fill_template(template, values)
        if reminder:
            body = _("Reminder: %(text)s", text=body)
    return SmsMessage(to=phone, body=body, reference=sms_reference(invitation.id, reminder))


class SmsBackend(MailBackend):
    """Posts messages to the HTTP SMS gateway over one kept-alive connection per pass."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("MEMNUN_SMS_GATEWAY_URL must be an http(s) URL")
        self.parts = parts
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {pair}"
        self._connection: http.client.HTTPConnection | None = None

    @classmethod
    def from_config(cls, config: Any) -> SmsBackend:
        return cls(
            url=(config.get("MEMNUN_SMS_GATEWAY_URL") or "").strip(),
            token=config.get("MEMNUN_SMS_GATEWAY_TOKEN"),
            user=config.get("MEMNUN_SMS_GATEWAY_USER"),
            password=config.get("MEMNUN_SMS_GATEWAY_PASSWORD"),
            timeout=float(config.get("MEMNUN_SMS_GATEWAY_TIMEOUT") or 10),
        )

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection if self.parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(self.parts.hostname, self.parts.port, timeout=self.timeout)
        return self._connection

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """One POST. A kept-alive connection that the gateway closed while idle is opened again
        once; a fresh connection that fails is not retried here (the outcome is unknown)."""
        while True:
            reused = self._connection is not None
            connection = self._connect()
            try:
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read(2000)
                if response.will_close or not response.isclosed():
                    self.close()  # unread rest, or the gateway ends the connection: start anew
                return response.status, response.reason, answer
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if not reused:
                    raise
            except BaseException:
                self.close()
                raise

    def send(self, message: Any, *, invitation_id: int) -> None:
        if not isinstance(message, SmsMessage):
            raise TypeError("the SMS backend sends SmsMessage objects")
        payload = {"to": message.to, "body": message.body, "reference": message.reference}
        headers = {**self.headers, "Idempotency-Key": message.reference}
        try:
            status, reason, answer = self._post(json.dumps(payload).encode(), headers)
        except TimeoutError as exc:
            # The gateway may have taken it: retry later with the same reference.
            raise TemporaryMailError(f"SMS gateway timed out: {exc}") from exc
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise MailServerUnavailable(f"SMS gateway unavailable: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise MailServerUnavailable(
                f"SMS gateway unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        if 200 <= status < 300:
            return
        text = scrub_sms(f"HTTP {status} {reason}: {answer.decode('utf-8', 'replace')}".strip())
        if status in CONFIGURATION_STATUSES:
            raise MailServerUnavailable(f"SMS gateway refused our credentials: {text}", status)
        if status >= 500 or status in TEMPORARY_STATUSES:
            raise TemporaryMailError(text, status)
        raise PermanentMailError(text, status)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


class NoSmsGateway(MailBackend):
    """Stands in when SMS invitations are due but no gateway is configured (any more)."""

    def send(self, message: Any, *, invitation_id: int) -> None:
        raise MailServerUnavailable("no SMS gateway configured (MEMNUN_SMS_GATEWAY_URL)")


def get_sms_backend(config: Any) -> MailBackend:
    """The SMS backend for ``config``: the HTTP gateway, or one that says none is configured."""
    if not sms_configured(config):
        return NoSmsGateway()
    return SmsBackend.from_config(config)
