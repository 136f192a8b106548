"""The development server as ``memnun run`` starts it, with request lines safe to keep.

Werkzeug's server logs every request line as it came, query string included: a survey link's
token (``/s/<token>``) and its one-click answer (``?overall=4``) would end up in the log, and
whoever reads the log could answer in the person's name or opt them out. Here a request line
shows the path without its query string, and a route's ``token`` as the rule names it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect
from werkzeug.serving import WSGIRequestHandler

from app import SERVER_NAME

SECRET_ARGUMENTS = frozenset({"token"})  # route arguments never written to a log


def _rule_with_secret(url_map: Map, path: str) -> str | None:
    adapter = url_map.bind("localhost")
    try:
        rule, values = adapter.match(unquote(path), return_rule=True)
    except RequestRedirect as moved:  # the address it moves to holds the same secret
        return _rule_with_secret(url_map, urlsplit(moved.new_url).path)
    except HTTPException:
        return None
    return rule.rule if SECRET_ARGUMENTS & values.keys() else None


def _hidden(url_map: Map, path: str) -> str | None:
    """The rule for ``path`` if it holds a secret; for no route ("/s/<token>/x", a mangled
    link), the rule of its longest leading part that holds one, followed by "/..."."""
    hidden = _rule_with_secret(url_map, path)
    if hidden is not None:
        return hidden
    parts = path.split("/")
    for end in range(len(parts) - 1, 1, -1):
        leading = _rule_with_secret(url_map, "/".join(parts[:end]))
        if leading is not None:
            return f"{leading}/..."
    return None


def logged_path(target: str, url_map: Map | None) -> str:
    """``target`` (path and query) as a log may show it."""
    path = urlsplit(target).path
    hidden = _hidden(url_map, path) if url_map is not None else None
    return hidden or path


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging ``logged_path`` instead of the address as requested, and
    naming no server software or version (http.server writes its ``Server`` header before the
    app's neutral one)."""

    def version_string(self) -> str:
        return SERVER_NAME

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        full = getattr(self, "path", None)
        if full is None:  # a bad request line: Werkzeug would log it whole
            self.requestline = "(request line not shown)"
            super().log_request(code, size)
            return
        self.path = logged_path(full, getattr(self.server.app, "url_map", None))
        try:
            super().log_request(code, size)
        finally:
            self.path = full

    def log_error(self, format: str, *args: Any) -> None:
        # http.server's send_error quotes the raw request line in its message: keep the code.
        if format == "code %d, message %s":
            super().log_error("code %d", *args[:1])
            return
        super().log_error(format, *args)
