"""Where a request may ask to be sent next (``?next=`` after login, the language switch).

A browser reads more as "another host" than a URL parser does: it drops tabs and newlines,
takes a backslash for a slash and ``////host`` for ``//host``, and Werkzeug collapses leading
slashes in the Location it sends. Rather than mimic those rules, a target is accepted only when
it holds none of those characters, is a path on this site, and names a page of the app.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect


def _plain_local_path(target: str) -> bool:
    # Controls, spaces and backslashes are what browsers rewrite; a path starts with one slash.
    if any(c <= " " or c in "\\\x7f" for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def _is_page(path: str) -> bool:
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return False
    try:
        adapter.match(unquote(path), method="GET")
    except RequestRedirect:  # a page of the app under its canonical path ("/reports/")
        return True
    except HTTPException:  # no such page, or not one to GET
        return False
    return True


def local_target(target: str | None, fallback: str) -> str:
    """``target`` if it is a page of this app that browsers read the same way, else ``fallback``."""
    if target and _plain_local_path(target) and _is_page(urlsplit(target).path):
        return target
    return fallback
