"""The development server as ``memnun run`` starts it, with request lines safe to keep.

Werkzeug's server logs every request line as it came, query string included: a survey link's
token (``/s/<token>``) and its one-click answer (``?overall=4``) would end up in the log, and
whoever reads the log could answer in the person's name or opt them out. Here a request line
shows the path without its query string, and a route's ``token`` as the rule names it.
"""

from __future__ import annotations

import contextvars
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


# --- gunicorn: `memnun serve` --------------------------------------------------------------------

#: The access log's format: no query string, no headers; the path as ``logged_path`` shows it.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
#: Request and response headers never written, whatever format a deployer gives.
SECRET_HEADERS = frozenset({"cookie", "authorization", "x-csrftoken", "x-api-key", "set-cookie"})

_served_url_map: Map | None = None  # the served app's routes (set before gunicorn forks)


def post_worker_init(worker: object) -> None:
    """Freeze what the worker holds once the app is loaded (forked from ``--preload`` or built
    here): the modules, the SQLAlchemy mappers, Dash's layouts. The collector never walks them
    again, where each full collection took about half a second in a worker under load, on the
    survey pages as on the intake; and pages shared with the master stay shared."""
    import gc

    gc.freeze()


def redacted_atoms(atoms: dict[str, Any], url_map: Map | None) -> dict[str, Any]:
    """gunicorn's access-log atoms without secrets: the request line's path and the referrer as
    ``logged_path`` shows them, no query string, no cookies, keys or environment."""
    safe = dict(atoms)
    path = logged_path(str(atoms.get("U") or "/"), url_map)
    safe["U"] = path
    safe["q"] = ""
    method, protocol = atoms.get("m") or "-", atoms.get("H") or "-"
    safe["r"] = f"{method} {path} {protocol}"
    referer = str(atoms.get("f") or "-")
    safe["f"] = logged_path(referer, url_map) if referer != "-" else "-"
    if "{referer}i" in safe:
        safe["{referer}i"] = safe["f"]
    for key in list(safe):
        if key.startswith("{") and (key.endswith("}e") or key[1:-2] in SECRET_HEADERS):
            safe[key] = "-"
    return safe


def gunicorn_logger_class() -> type:
    """gunicorn's logger whose access log never holds a survey token, a one-click answer, a
    session cookie or an API key (imported here so that `memnun run` needs no gunicorn)."""
    from gunicorn.glogging import Logger

    class RedactingLogger(Logger):  # type: ignore[misc]
        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            return redacted_atoms(super().atoms(resp, req, environ, request_time),
                                  _served_url_map)

    return RedactingLogger


def serve_with_gunicorn(app: Any, options: dict[str, Any]) -> None:
    """Run ``app`` under gunicorn with ``options`` (gunicorn settings by name): the app is
    already built, so the workers are forked from it (as ``--preload``)."""
    global _served_url_map
    from gunicorn.app.base import BaseApplication

    _served_url_map = app.url_map

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    # The CLI pushed an app context for the command; a sync worker answers requests in this
    # same thread, and would find it and share its ``g`` and database session between requests.
    # An empty context for gunicorn (and the workers it forks) leaves each request its own.
    contextvars.Context().run(Server().run)
