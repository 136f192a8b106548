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

import json
from typing import Any

from dash.exceptions import CallbackException, DependencyException
from flask import Flask, Response, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import NotFound

PREFIX = "/dashboards/"
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CALLBACK_PATH = PREFIX + "_dash-update-component"
COMPONENT_SUITES = PREFIX + "_dash-component-suites/"
NO_MATCH = "the request does not match the dashboard's callbacks"

#: What a callback input may hold, by the property it reads (None always may): what the
#: renderer sends for our components. Every dropdown's value is a code, a string (a number
#: there reached PostgreSQL compared with a text column: a 500). A property not listed passes
#: as it comes; tests/reliability/test_dash_routes.py throws junk at every input of every
#: callback, so a new callback that cannot take it shows up there.
INPUT_TYPES: dict[str, tuple[type, ...]] = {
    "pathname": (str,), "search": (str,), "start_date": (str,), "end_date": (str,),
    "value": (str,), "n_intervals": (int,), "clickData": (dict,),
}


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
    """Refuse with 400 a callback request that is not exactly what the renderer sends for one
    of the declared callbacks: its output, its outputs, its inputs and state (id and property,
    in order, values of the right JSON type), the changed ids among its inputs. Dash itself
    would answer most of these with a 500 (a KeyError, an index past the end of a list, a
    value of the wrong type reaching a callback). Runs after the login guard: only signed-in
    people get this far."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    dash_app = current_app.extensions.get("memnun_dash")
    try:
        # Not request.get_json(): a deeply nested body raises RecursionError there, a 500.
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        body = None
    if dash_app is None or not isinstance(body, dict):
        return _error(400, "bad_request", "a callback request is a JSON object")
    declared = dash_app.callback_map.get(body.get("output")) if isinstance(
        body.get("output"), str) else None
    if declared is None or not _matches(body, declared):
        return _error(400, "bad_request", NO_MATCH)
    return None


def _matches(body: dict[str, Any], declared: dict[str, Any]) -> bool:
    sent_outputs = body.get("outputs")
    if isinstance(sent_outputs, dict):  # a callback with one output sends it alone
        sent_outputs = [sent_outputs]
    if not _same_items(sent_outputs, _declared_outputs(body["output"]), check_values=False):
        return False
    for name in ("inputs", "state"):
        expected = [(item["id"], item["property"]) for item in declared.get(name, [])]
        if not _same_items(body.get(name, []), expected, check_values=True):
            return False
    inputs = {f"{item['id']}.{item['property']}" for item in declared.get("inputs", [])}
    changed = body.get("changedPropIds", [])
    return isinstance(changed, list) and all(
        isinstance(item, str) and item in inputs for item in changed)


def _declared_outputs(output: str) -> list[tuple[str, str]]:
    """The (id, property) pairs of an output key ('..a.b...c.d..' or 'a.b')."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [tuple(part.rsplit(".", 1)) for part in parts]  # type: ignore[misc]


def _same_items(sent: object, expected: list[tuple[Any, Any]], check_values: bool) -> bool:
    if not isinstance(sent, list) or len(sent) != len(expected):
        return False
    for item, (component, prop) in zip(sent, expected, strict=True):
        if not isinstance(item, dict) or (item.get("id"), item.get("property")) != (
                component, prop):
            return False
        if check_values and not _value_fits(prop, item.get("value")):
            return False
    return True


def _value_fits(prop: str, value: object) -> bool:
    types = INPUT_TYPES.get(prop)
    if value is None or types is None:
        return True
    if isinstance(value, bool) or not isinstance(value, types):
        return False
    if prop == "clickData":  # {"points": [{...}, ...]}, as Plotly reports a click
        points = value.get("points", [])  # type: ignore[union-attr]
        return isinstance(points, list) and all(isinstance(p, dict) for p in points)
    return True


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": None}})
    response.status_code = status
    return response


def unknown_component_file(error: DependencyException) -> ResponseReturnValue:
    """A component-suite path Dash does not serve (unknown package, unknown file, ``../``):
    not found. Dash's own message lists every file it serves, which nobody needs to see."""
    return _error(404, "not_found", "no such dashboard file")


def refused_component_path() -> ResponseReturnValue | None:
    """A component-suite path the URL converters refused (NUL, control characters: see
    app/routing.py) answers as Dash's unknown file does, JSON without the list of files.
    Runs before the view, where the routing error would otherwise become an HTML page."""
    if (request.path.startswith(COMPONENT_SUITES)
            and isinstance(request.routing_exception, NotFound)):
        return unknown_component_file(DependencyException())
    return None


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
    app.before_request_funcs[None].insert(2, refused_component_path)
    app.after_request(set_csrf_cookie)
    app.register_error_handler(CallbackException, bad_callback)
    app.register_error_handler(DependencyException, unknown_component_file)
