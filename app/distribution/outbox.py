"""Reading the file backend's outbox: the .eml files the admin outbox page lists and shows.

Only names the ``FileBackend`` writes are accepted (``<UTC time>-inv<id>-<random>.eml``), so a
name from a URL can never reach outside the outbox directory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from html.parser import HTMLParser
from pathlib import Path

from app.distribution.mail import EML_NAME_RE

SHOWN_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Content-Language",
    "Auto-Submitted",
    "X-Memnun-Invitation",
    "X-Memnun-Kind",
)


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    written_at: dt.datetime
    invitation_id: int
    subject: str
    language: str
    kind: str


@dataclass
class Link:
    url: str
    label: str


@dataclass
class OutboxMessage:
    entry: OutboxEntry
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    links: list[Link] = field(default_factory=list)


class _LinkCollector(HTMLParser):
    """The http(s) links of an HTML part with a readable label (aria-label, else the text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self._open: Link | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        href = (values.get("href") or "").strip()
        if href.startswith(("http://", "https://")):
            self._open = Link(href, (values.get("aria-label") or "").strip())

    def handle_data(self, data: str) -> None:
        if self._open is not None and not self._open.label:
            self._open.label = " ".join(data.split())

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append(self._open)
            self._open = None


def extract_links(html: str) -> list[Link]:
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    seen: set[str] = set()
    unique = []
    for link in collector.links:
        if link.url not in seen:
            seen.add(link.url)
            unique.append(link)
    return unique


def _entry(path: Path, headers: EmailMessage) -> OutboxEntry:
    match = EML_NAME_RE.match(path.name)
    assert match  # callers pass only matching names
    written_at = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    return OutboxEntry(
        name=path.name,
        written_at=written_at,
        invitation_id=int(match.group(2)),
        subject=str(headers.get("Subject", "")),
        language=str(headers.get("Content-Language", "")),
        kind=str(headers.get("X-Memnun-Kind", "")),
    )


def _names(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted((p.name for p in directory.iterdir() if EML_NAME_RE.match(p.name)), reverse=True)


def list_outbox(
    directory: str | Path, offset: int = 0, limit: int = 50
) -> tuple[list[OutboxEntry], int]:
    """A page of the outbox, newest first, and the number of messages in it.

    Only the headers of the shown files are read, so a big outbox lists quickly.
    """
    directory = Path(directory)
    names = _names(directory)
    entries = []
    parser = BytesHeaderParser(policy=policy.default)
    for name in names[offset : offset + limit]:
        path = directory / name
        try:
            with path.open("rb") as handle:
                headers = parser.parse(handle)
        except OSError:
            continue  # removed meanwhile (e.g. a privacy erasure)
        entries.append(_entry(path, headers))  # type: ignore[arg-type]
    return entries, len(names)


def read_outbox_message(directory: str | Path, name: str) -> OutboxMessage | None:
    """One message of the outbox, or None for a name the backend would never write, or a
    message that is not there."""
    if not EML_NAME_RE.match(name):
        return None
    path = Path(directory) / name
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else None
    html = html_part.get_content() if html_part is not None else None
    headers = [(h, str(message[h])) for h in SHOWN_HEADERS if message[h] is not None]
    return OutboxMessage(
        entry=_entry(path, message),
        headers=headers,
        text=text,
        html=html,
        links=extract_links(html) if html else [],
    )


def preview_document(html: str) -> str:
    """The HTML part for a sandboxed preview: its links open in a new tab, outside the sandbox."""
    base = '<base target="_blank">'
    lowered = html.lower()
    at = lowered.find("<head>")
    if at == -1:
        return base + html
    at += len("<head>")
    return html[:at] + base + html[at:]
