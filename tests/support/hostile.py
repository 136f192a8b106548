"""The hostile crawler's pieces (tests/reliability/test_hostile_crawler.py): the hostile values,
request bodies that carry them byte for byte, the forms and links of a page, and a snapshot of
every stored row to tell what a request changed.

Everything is found from the app itself (its URL map, the HTML of its pages, the Dash
dependencies, the OpenAPI document), not from a hand-kept list.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

from flask import Flask
from sqlalchemy import select

from app.extensions import db

#: Every field and every query parameter gets each of these.
HOSTILE: dict[str, str] = {
    "nul": "a\x00b",
    "surrogate": "x\ud800y",
    "10^20": str(10**20),
    "-1": "-1",
    "100 kB": "ẞ" * 33_334,  # three bytes each in UTF-8: 100 kB
    "rtl": "\u202egnp.exe\u202c",
    "markup": "\"><script>alert(1)</script><b x='",
}
#: In a query string the long value is 4 kB: a URL of 100 kB is refused by every server in
#: front of the app (gunicorn's request line stops at 4,094 bytes) before Memnun sees it.
QUERY_HOSTILE = {**HOSTILE, "100 kB": "ẞ" * 1_365}
#: Extra values for some kinds of field: what a browser would never send there.
EXTRA: dict[str, dict[str, str]] = {
    "number": {"1e309": "1e309", "nan": "NaN"},
    "date": {"year 0": "0000-00-00", "far": "99999-12-31"},
    "time": {"25h": "25:61"},
    "email": {"no at": "@", "idn": "İ@Ö.com"},
    "url": {"javascript": "javascript:alert(1)", "local": "http://127.0.0.1:1/"},
}
#: Allowed for any response; over it, the request is a failure.
SLOW_SECONDS = 5.0
#: Bookkeeping that any request may touch: audit entries, sessions, login times, key use, the
#: rollups (database triggers keep them with every write), and
#: the key of a two-factor enrolment not confirmed yet (the enrolment page shows it; it counts
#: only once ``totp_enabled_at`` is set, which stays watched).
BOOKKEEPING_TABLES = {"audit_log", "staff_session", "hourly_figures",
                      "hourly_dimension_figures"}
BOOKKEEPING_COLUMNS = {"user_account": {"last_login_at", "totp_secret"},
                       "api_key": {"last_used_at"}}


def values_for(kind: str) -> dict[str, str]:
    """The hostile values for a field of this kind (the input's type, or select/textarea)."""
    return {**HOSTILE, **EXTRA.get(kind, {})}


def encode_text(value: str) -> bytes:
    """UTF-8, lone surrogates included (as a broken client would send them)."""
    return value.encode("utf-8", "surrogatepass")


def urlencoded(pairs: Iterable[tuple[str, str]]) -> bytes:
    return "&".join(
        f"{quote_from_bytes(encode_text(k))}={quote_from_bytes(encode_text(v))}" for k, v in pairs
    ).encode("ascii")


def multipart(pairs: Iterable[tuple[str, str]], files: set[str]) -> tuple[bytes, str]:
    """A multipart body; the fields named in ``files`` are sent as a file holding the value."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in pairs:
        disposition = f'form-data; name="{name}"'
        if name in files:
            disposition += '; filename="hostile.csv"'
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + encode_text(value)
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- pages -------------------------------------------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str  # the input's type, or "select", "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)
    checked: bool = True
    required: bool = False


@dataclass
class Form:
    page: str
    action: str
    method: str
    enctype: str
    fields: list[FormField] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, str, tuple[str, ...]]:
        return self.method, self.action, tuple(sorted({f.name for f in self.fields}))


class _PageParser(HTMLParser):
    """The forms and the links of one page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: set[str] = set()
        self._form: Form | None = None
        self._select: FormField | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.add(a["href"])
        elif tag == "form":
            self._form = Form(
                self.page,
                a.get("action") or self.page,
                (a.get("method") or "get").upper(),
                a.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.forms.append(self._form)
        elif self._form is not None:
            self._field(tag, a)

    def _field(self, tag: str, a: dict[str, str]) -> None:
        assert self._form is not None
        name, required = a.get("name"), "required" in a
        if (
            tag == "input"
            and name
            and a.get("type", "text") not in ("submit", "button", "reset", "image")
        ):
            kind = a.get("type", "text")
            checked = "checked" in a if kind in ("checkbox", "radio") else True
            self._form.fields.append(
                FormField(name, kind, a.get("value", ""), checked=checked, required=required)
            )
        elif tag == "button" and name:
            self._form.fields.append(FormField(name, "button", a.get("value", "")))
        elif tag == "select" and name:
            self._select = FormField(name, "select", required=required)
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or not self._select.value:
                self._select.value = value if "selected" in a or value else self._select.value
        elif tag == "textarea" and name:
            self._textarea = FormField(name, "textarea", required=required)
            self._form.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse_page(page: str, html: str) -> tuple[list[Form], set[str]]:
    """The page's forms (action made absolute to the app) and its local links (paths)."""
    parser = _PageParser(page)
    parser.feed(html)
    for form in parser.forms:
        form.action = local_path(form.action, page) or page
    links = {path for href in parser.links if (path := local_path(href, page, query=True))}
    return parser.forms, links


def local_path(href: str, page: str, query: bool = False) -> str | None:
    """The path (and query) of a link inside this app, or None for another site or a fragment."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("#") or href.startswith("javascript:"):
        return None
    path = parts.path or urlsplit(page).path
    if not path.startswith("/"):
        path = page.rsplit("/", 1)[0] + "/" + path
    return path + (f"?{parts.query}" if query and parts.query else "")


# --- what a valid value of a field looks like ------------------------------------------------

_counter = iter(range(1, 10**9))
VALID_BY_KIND = {
    "email": "crawler{n}@example.org",
    "url": "https://example.org/hook{n}",
    "number": "3",
    "date": "2025-01-15",
    "time": "09:00",
    "password": "Crawler-pw{n}!",
    "textarea": "Crawler text {n}",
    "month": "2025-01",
    "datetime-local": "2025-01-15T09:00",
}


def valid_value(item: FormField) -> str:
    """The field's own value when it has one, or a plausible value of its kind."""
    if item.value or item.kind in ("hidden", "checkbox", "radio", "select", "button", "file"):
        return item.value
    return VALID_BY_KIND.get(item.kind, "crawl{n}").format(n=next(_counter))


def form_pairs(form: Form, hostile: dict[str, str]) -> list[tuple[str, str]]:
    """What a browser sends for ``form`` with valid values, but the fields named in
    ``hostile`` (name: value)."""
    pairs: list[tuple[str, str]] = []
    done: set[str] = set()
    for item in form.fields:
        if item.name in hostile:
            if item.name not in done:
                pairs.append((item.name, hostile[item.name]))
                done.add(item.name)
            continue
        if item.kind in ("checkbox", "radio") and not item.checked:
            continue
        if item.kind == "button":
            continue
        if item.kind == "radio" and item.name in done:
            continue
        pairs.append((item.name, valid_value(item)))
        done.add(item.name)
    return pairs


def first_radio_checked(form: Form) -> None:
    """A radio group with nothing checked: check its first option, as a person would."""
    groups: dict[str, list[FormField]] = {}
    for item in form.fields:
        if item.kind == "radio":
            groups.setdefault(item.name, []).append(item)
    for items in groups.values():
        if not any(i.checked for i in items):
            items[0].checked = True


# --- requests --------------------------------------------------------------------------------


@dataclass
class Outcome:
    what: str
    status: int
    seconds: float


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    endpoints: set[str] = field(default_factory=set)  # every endpoint a request reached

    def record(self, what: str, status: int, seconds: float) -> None:
        self.requests += 1
        if status >= 500:
            self.failures.append(f"{status}: {what}")
        if seconds > SLOW_SECONDS:
            self.failures.append(f"slow ({seconds:.1f} s): {what}")


def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def short(value: str) -> str:
    return repr(value if len(value) < 40 else value[:20] + f"...({len(value)} chars)")


# --- stored data -------------------------------------------------------------------------------

Snapshot = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]


def snapshot(app: Flask) -> Snapshot:
    """Every stored row of every table but the bookkeeping ones, by primary key."""
    taken: Snapshot = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in BOOKKEEPING_TABLES:
                continue
            skip = BOOKKEEPING_COLUMNS.get(table.name, set())
            columns = [c for c in table.columns if c.name not in skip]
            keys = list(table.primary_key.columns) or columns
            rows = db.session.execute(select(*columns)).all()
            index = [columns.index(k) for k in keys]
            taken[table.name] = {tuple(row[i] for i in index): tuple(row) for row in rows}
        db.session.rollback()
    return taken


@dataclass
class Changes:
    added: dict[str, int]
    changed: dict[str, int]
    removed: dict[str, int]

    @property
    def tables(self) -> set[str]:
        return set(self.added) | set(self.changed) | set(self.removed)

    def lost(self, allowed: set[str]) -> set[str]:
        """Tables where a row stored before changed or disappeared outside ``allowed``."""
        return (set(self.changed) | set(self.removed)) - allowed

    def __bool__(self) -> bool:
        return bool(self.tables)


def compare(before: Snapshot, after: Snapshot) -> Changes:
    added, changed, removed = {}, {}, {}
    for name, rows in after.items():
        old = before.get(name, {})
        if n := len(rows.keys() - old.keys()):
            added[name] = n
        if n := len(old.keys() - rows.keys()):
            removed[name] = n
        if n := sum(1 for k in rows.keys() & old.keys() if rows[k] != old[k]):
            changed[name] = n
    return Changes(added, changed, removed)


VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
