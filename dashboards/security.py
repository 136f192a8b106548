"""Login and CSRF protection for everything under /dashboards/, Dash's own routes included.

Dash registers its routes straight on the Flask app (the page, ``_dash-layout``,
``_dash-dependencies``, ``_dash-update-component``, component suites, assets), so no view
decorator can reach them: one ``before_request`` guards the whole prefix instead.

CSRF stays on for callbacks (they are POSTs that read data). Flask-WTF checks the
``X-CSRFToken`` header; the Dash renderer copies that header from a ``_csrf_token`` cookie, which
we set on dashboard pages. The cookie is readable by scripts (the renderer must read it), sent
only to /dashboards/ and only same-site; it holds the same signed token a form would carry, so it
is worthless without the session cookie it was made for.
"""

from __future__ import annotations

from dash.exceptions import CallbackException
from flask import Flask, Response, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

PREFIX = "/dashboards/"
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CALLBACK_PATH = PREFIX + "_dash-update-component"


def is_dashboard_path(path: str) -> bool:
    return path == PREFIX.rstrip("/") or path.startswith(PREFIX)


def is_page(path: str, method: str) -> bool:
    """A page a person opens in the browser (as opposed to the renderer's requests and files)."""
    if method not in ("GET", "HEAD"):
        return False
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
    return not (rest.startswith("_") or rest.startswith("assets/"))


def _signed_in() -> bool:
    return bool(current_user.is_authenticated and current_user.is_active)


def guard_dashboards() -> ResponseReturnValue | None:
    """Refuse anonymous requests under /dashboards/: pages go to login, the rest get 401.

    A redirect would be useless inside a callback (the renderer would try to parse the login page
    as JSON), so callbacks and files get a 401 JSON body in the API's error shape.
    """
    if not is_dashboard_path(request.path) or _signed_in():
        return None
    if is_page(request.path, request.method):
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target))
    return _error(401, "unauthorized", "log in to see the dashboards")


def check_callback_request() -> ResponseReturnValue | None:
    """Refuse a callback request whose inputs and state are not exactly those the callback
    declares (id and property, in order): Dash would index past the end of a shorter list and
    answer 500. Runs after the login guard, so only signed-in people get this far."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    dash_app = current_app.extensions.get("memnun_dash")
    body = request.get_json(silent=True)
    if dash_app is None or not isinstance(body, dict):
        return _error(400, "bad_request", "a callback request is a JSON object")
    declared = dash_app.callback_map.get(body.get("output"))
    if declared is None:
        return None  # Dash's own CallbackException, answered 400 by bad_callback
    for name in ("inputs", "state"):
        sent = body.get(name) or []
        expected = [(item["id"], item["property"]) for item in declared.get(name, [])]
        if not isinstance(sent, list) or [_signature(item) for item in sent] != expected:
            return _error(400, "bad_request",
                          "the request does not match the dashboard's callbacks")
    return None


def _signature(item: object) -> tuple[object, object]:
    if not isinstance(item, dict):
        return (None, None)
    return (item.get("id"), item.get("property"))


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": None}})
    response.status_code = status
    return response


def bad_callback(error: CallbackException) -> ResponseReturnValue:
    """A callback request that does not match any callback (hand-made or from a stale page) is
    the client's mistake: 400, not a server error. Subclasses (a callback returning something
    invalid) are our mistakes and stay errors; PreventUpdate has Dash's own handler."""
    if type(error) is not CallbackException:
        raise error
    return _error(400, "bad_request", "the request does not match the dashboard's callbacks")


def set_csrf_cookie(response: Response) -> Response:
    """Hand the renderer a CSRF token on dashboard pages, and a fresh one after each callback,
    so that a dashboard left open (live refresh) never outlives its token."""
    if not is_dashboard_path(request.path) or not _signed_in() or response.status_code != 200:
        return response
    if response.mimetype == "text/html" or request.path == CALLBACK_PATH:
        response.set_cookie(
            CSRF_COOKIE,
            generate_csrf(),
            path=PREFIX,
            samesite="Strict",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=False,  # the Dash renderer reads it from document.cookie
        )
    return response


def protect(app: Flask) -> None:
    """Install the guard and the CSRF cookie on ``app``."""
    # First of all before_request functions: CSRFProtect runs earlier otherwise, and an
    # anonymous callback would get a CSRF 400 instead of the 401 that tells it to log in.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_dashboards)
    app.before_request_funcs[None].insert(1, check_callback_request)
    app.after_request(set_csrf_cookie)
    app.register_error_handler(CallbackException, bad_callback)
