"""The hostile crawler (tests/reliability/test_hostile_crawler.py): signed in as one role, it
opens every page of the URL map that role can open (and the pages they link to), then sends
every hostile value (tests/support/hostile.py) in every field of every form it found, in every
query parameter of every page, in every input of every Dash callback and in every field of
every operation of the OpenAPI document.

Each request is timed and its effect on the stored rows is compared with the ``may_change``
policy: a refused request (4xx) and a GET change nothing; an accepted one changes or removes
rows only in the tables its endpoint is there to change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

from tests.support.hostile import (
    HOSTILE,
    QUERY_HOSTILE,
    VARIABLE,
    Findings,
    Form,
    compare,
    encode_text,
    first_radio_checked,
    form_pairs,
    multipart,
    parse_page,
    short,
    snapshot,
    timed,
    urlencoded,
    values_for,
)

#: Values every field refuses in validation (WTForms validates every field, none stops the
#: others), so they go into all the fields of a form at once: each field still gets them.
UNSTORABLE = ("nul", "surrogate")
#: Requests that would end or replace the session under test.
NOT_CALLED = {"auth.logout"}
#: Pages opened at most this many times per endpoint when links lead to several.
PAGES_PER_ENDPOINT = 1
#: Query parameters every page gets besides those its forms and links use.
COMMON_PARAMETERS = ("next", "page", "lang", "q")
DASH = "/dashboards/"


@dataclass
class Crawler:
    app: Flask
    client: FlaskClient
    role: str
    path_values: dict[str, str]
    may_change: Callable[[str], set[str]]
    findings: Findings
    pages: dict[str, str] = field(default_factory=dict)  # path: endpoint
    forms: dict[tuple[str, str, tuple[str, ...]], Form] = field(default_factory=dict)
    parameters: set[str] = field(default_factory=lambda: set(COMMON_PARAMETERS))
    before_submit: Callable[[Crawler, Form], Form] | None = None
    #: The rows as the last checked request left them (what the next one starts from).
    _last: Any = None

    # --- requests, checked ------------------------------------------------------------------

    def endpoint(self, path: str, method: str) -> str:
        adapter = self.app.url_map.bind("memnun.test")
        try:
            endpoint, _ = adapter.match(urlsplit(path).path, method)
        except HTTPException:
            return "?"
        return str(endpoint)

    def send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        checked: bool = True,
    ) -> Any:
        """One request, timed, with its effect on the stored rows checked (unless the caller
        checks a whole run of GETs at once: ``checked=False``)."""
        before = (self._last or snapshot(self.app)) if checked else {}
        response, seconds = timed(
            lambda: self.client.open(
                path, method=method, data=body, content_type=content_type, headers=headers or {}
            )
        )
        status = response.status_code
        self.findings.endpoints.add(self.endpoint(path, method))
        label = f"{self.role}: {method} {path[:120]} {what}"
        self.findings.record(label, status, seconds)
        if checked:
            self._check(before, method, path, status, label)
        return response

    def _check(self, before: Any, method: str, path: str, status: int, label: str) -> None:
        self._last = after = snapshot(self.app)
        changes = compare(before, after)
        if changes and (status >= 400 or method == "GET"):
            self.findings.failures.append(
                f"changed data though answered {status}: {label}: {changes}"
            )
        elif changes and (lost := changes.lost(self.may_change(self.endpoint(path, method)))):
            self.findings.failures.append(f"changed or removed {sorted(lost)}: {label}: {changes}")

    def reading(self, run: Callable[[], None], what: str) -> None:
        """A run of GETs, which must change nothing stored, checked as a whole."""
        before = snapshot(self.app)
        run()
        self._check(before, "GET", "", 200, f"{self.role}: {what}")
        self._last = None

    # --- pages --------------------------------------------------------------------------------

    def start_paths(self) -> list[str]:
        """Every GET route of the URL map, its variables filled with real values."""
        found = []
        for rule in self.app.url_map.iter_rules():
            if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_CALLED:
                found.append(
                    VARIABLE.sub(lambda m: self.path_values.get(m.group(2), "x"), rule.rule)
                )
        return sorted(found)

    def open_pages(self, start: list[str]) -> None:
        """Open the pages (and those they link to), collecting forms and query parameters."""
        queue, seen, per_endpoint = list(start), set(), dict[str, int]()
        while queue:
            path = queue.pop(0)
            endpoint = self.endpoint(path, "GET")
            if (
                path in seen
                or endpoint in NOT_CALLED
                or (per_endpoint.get(endpoint, 0) >= PAGES_PER_ENDPOINT)
            ):
                continue
            seen.add(path)
            per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
            response = self.send("GET", path, "(page)", checked=False)
            if response.status_code == 200 and response.mimetype == "text/html":
                self.pages.setdefault(path, endpoint)
                queue.extend(self._read(path, response.get_data(as_text=True)))
            elif response.status_code < 400:
                self.pages.setdefault(path, endpoint)

    def _read(self, path: str, html: str) -> list[str]:
        forms, links = parse_page(path, html)
        for form in forms:
            if self.endpoint(form.action, form.method) not in NOT_CALLED:
                first_radio_checked(form)
                self.forms.setdefault(form.signature, form)
            if form.method == "GET":
                self.parameters |= {item.name for item in form.fields}
        for link in links:
            self.parameters |= {name for name, _ in parse_qsl(urlsplit(link).query)}
        return sorted(links)

    def hostile_queries(self, every_value: bool = True) -> None:
        """Every page opened gets every hostile value in every query parameter known, all at
        once (the long value shared out between them, a request line of 4 kB in all). Without
        ``every_value`` (a role whose pages another role went through so), each page gets one
        value, a different one from page to page."""
        parameters = sorted(self.parameters)
        values = list(QUERY_HOSTILE.items())
        for number, path in enumerate(sorted({urlsplit(p).path for p in self.pages})):
            chosen = values if every_value else [values[number % len(values)]]
            for name, value in chosen:
                if len(value) > 100:
                    value = value[: max(64, len(value) // len(parameters))]
                query = "&".join(
                    f"{quote_from_bytes(encode_text(p))}={quote_from_bytes(encode_text(value))}"
                    for p in parameters
                )
                self.send("GET", f"{path}?{query}", f"(query: {name})", checked=False)

    # --- forms --------------------------------------------------------------------------------

    def hostile_forms(self, crawled: set[Any]) -> None:
        """Every field of every form gets every hostile value, the other fields valid. A form
        another role ``crawled`` so already (the same action and fields) gets each hostile
        value in all its fields at once instead: the same view, reached with this role."""
        self._last = None
        for signature in sorted(self.forms, key=_destructive_last):
            form = self.forms[signature]
            if signature in crawled:
                self._all_fields_at_once(form)
                continue
            crawled.add(signature)
            self._all_fields_at_once(form, UNSTORABLE)
            for item in _unique_fields(form):
                for name, value in values_for(item.kind).items():
                    if name in UNSTORABLE:
                        continue
                    form = self.before_submit(self, form) if self.before_submit else form
                    response = self.submit(form, {item.name: value}, f"{item.name}={name}")
                    if response.status_code < 400:
                        form = self.refresh(form)

    def _all_fields_at_once(self, form: Form, names: Any = HOSTILE) -> None:
        for name in names:
            value = HOSTILE[name]
            form = self.before_submit(self, form) if self.before_submit else form
            hostile = {item.name: value for item in form.fields if item.name != "csrf_token"}
            if self.submit(form, hostile, f"every field={name}").status_code < 400:
                form = self.refresh(form)

    def submit(self, form: Form, hostile: dict[str, str], what: str) -> Any:
        if form.method == "GET":  # into the URL: the long value shared out, as in hostile_queries
            hostile = {
                name: value[: max(64, 1365 // len(hostile))] if len(value) > 100 else value
                for name, value in hostile.items()
            }
        pairs = form_pairs(form, hostile)
        if form.method == "GET":
            query = urlencoded(pairs).decode()
            return self.send("GET", f"{form.action}?{query}", f"(form {what})")
        files = {item.name for item in form.fields if item.kind == "file"}
        if "multipart" in form.enctype:
            body, content_type = multipart(pairs, files)
        else:
            body, content_type = urlencoded(pairs), "application/x-www-form-urlencoded"
        value = short(next(iter(hostile.values()), ""))
        return self.send(
            form.method, form.action, f"(form {what}={value})", body=body, content_type=content_type
        )

    def refresh(self, form: Form) -> Form:
        """The form as its page shows it now (after an accepted change), or as it was."""
        response = self.client.get(form.page)
        if response.status_code == 200 and response.mimetype == "text/html":
            for fresh in parse_page(form.page, response.get_data(as_text=True))[0]:
                if fresh.signature == form.signature:
                    first_radio_checked(fresh)
                    return fresh
        return form

    # --- Dash ----------------------------------------------------------------------------------

    def hostile_callbacks(self, csrf: str, each_input: bool) -> None:
        """Every Dash callback gets each hostile value in all its inputs at once; with
        ``each_input``, every input also gets every value on its own (in the first callback
        that reads it), the others as the page sets them."""
        dependencies = self.client.get(DASH + "_dash-dependencies").get_json()
        values = self._component_values()
        headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
        done: set[str] = set()
        self._last = None
        for callback in dependencies:
            inputs = [f"{i['id']}.{i['property']}" for i in callback["inputs"]]
            for number, name in enumerate(inputs):
                if name in done or not each_input:
                    continue
                done.add(name)
                for label, value in HOSTILE.items():
                    body = _callback_body(callback, values, {number: value})
                    self.send(
                        "POST",
                        DASH + "_dash-update-component",
                        f"(callback {callback['output'][:60]}: {name}={label})",
                        body=_json(body),
                        headers=headers,
                    )
            for label, value in HOSTILE.items():
                every = dict.fromkeys(range(len(inputs)), value)
                self.send(
                    "POST",
                    DASH + "_dash-update-component",
                    f"(callback {callback['output'][:60]}: every input={label})",
                    body=_json(_callback_body(callback, values, every)),
                    headers=headers,
                )

    def _component_values(self) -> dict[str, dict[str, Any]]:
        """The properties of every component of the layout and of every page it links to."""
        layout = self.client.get(DASH + "_dash-layout").get_json()
        found = dict(_components(layout))
        dependencies = self.client.get(DASH + "_dash-dependencies").get_json()
        router = next(
            (c for c in dependencies if any(i["property"] == "pathname" for i in c["inputs"])), None
        )
        hrefs = sorted(
            {
                props["href"]
                for props in found.values()
                if str(props.get("href", "")).startswith(DASH)
            }
        )
        for href in hrefs if router else []:
            body = _callback_body(router, {"url": {"pathname": href, "search": ""}}, {})
            response = self.client.post(
                DASH + "_dash-update-component",
                data=_json(body),
                headers={"X-CSRFToken": self._dash_csrf(), "Content-Type": "application/json"},
            )
            if response.status_code == 200:
                found.update(_components(response.get_json()))
        return found

    def _dash_csrf(self) -> str:
        cookie = self.client.get_cookie("_csrf_token", path=DASH)
        return cookie.value if cookie else ""

    # --- the REST API ---------------------------------------------------------------------------

    def hostile_api(
        self, key: str, body_values: Callable[[str, dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Every operation of the OpenAPI document: each hostile value in each field of its
        body (the schema's example, made unique by ``body_values``) and in each query
        parameter."""
        doc = self.client.get("/api/v1/openapi.json").get_json()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._last = None
        for template, operations in sorted(doc["paths"].items()):
            for method, operation in sorted(operations.items()):
                path = "/api/v1" + template.format(**self.path_values)
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        for label, value in HOSTILE.items():
                            query = (
                                f"{quote_from_bytes(encode_text(parameter['name']))}="
                                f"{quote_from_bytes(encode_text(value))}"
                            )
                            self.send(
                                method.upper(),
                                f"{path}?{query}",
                                f"({parameter['name']}={label})",
                                headers=headers,
                            )
                schema = _schema(operation, doc)
                if schema is None:
                    continue
                example = (schema.get("examples") or [_example(schema, doc)])[0]
                for where in _leaves(schema, doc, example):
                    for label, value in _json_values():
                        body = body_values(template, _with(example, where, value))
                        self.send(
                            method.upper(),
                            path,
                            f"({'.'.join(map(str, where))}={label})",
                            body=_json(body),
                            headers=headers,
                        )


def _destructive_last(signature: tuple[str, str, tuple[str, ...]]) -> tuple[bool, str]:
    action = signature[1]
    destructive = any(word in action for word in ("delete", "revoke", "remove", "publish"))
    return destructive, action


def _unique_fields(form: Form) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in form.fields:
        seen.setdefault(item.name, item)
    return list(seen.values())


# --- Dash bodies -------------------------------------------------------------------------------


def _components(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, list):
        for child in node:
            yield from _components(child)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict):
            if isinstance(props.get("id"), str):
                yield props["id"], props
            yield from _components(props.get("children"))
        else:
            for value in node.values():
                if isinstance(value, dict | list):
                    yield from _components(value)


def _outputs(output: str) -> Any:
    if output.startswith(".."):
        parts = output.strip(".").split("...")
        return [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    return dict(zip(("id", "property"), output.rsplit(".", 1), strict=True))


def _callback_body(
    callback: dict[str, Any], values: dict[str, dict[str, Any]], hostile: dict[int, Any]
) -> dict[str, Any]:
    def filled(items: list[dict[str, Any]], offset: int = -1) -> list[dict[str, Any]]:
        return [
            {
                **i,
                "value": hostile[n]
                if offset < 0 and n in hostile
                else values.get(i["id"], {}).get(i["property"]),
            }
            for n, i in enumerate(items)
        ]

    return {
        "output": callback["output"],
        "outputs": _outputs(callback["output"]),
        "inputs": filled(callback["inputs"]),
        "state": filled(callback["state"], 1),
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in callback["inputs"][:1]],
    }


def _json(body: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as \ud800, as a broken client would
    return json.dumps(body).encode()


# --- OpenAPI bodies ------------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(option, doc)
    return schema


def _schema(operation: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return _resolve(content["schema"], doc) if content else None


def _leaves(
    schema: dict[str, Any], doc: dict[str, Any], example: Any, where: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """Every field of the schema, nested ones included (arrays through their first item)."""
    schema = _resolve(schema, doc)
    if schema.get("type") == "object" or "properties" in schema:
        for name, child in schema.get("properties", {}).items():
            value = example.get(name) if isinstance(example, dict) else None
            yield where + (name,)
            yield from _leaves(child, doc, value, where + (name,))
    elif schema.get("type") == "array" and isinstance(example, list) and example:
        yield from _leaves(schema.get("items", {}), doc, example[0], where + (0,))


def _with(body: Any, where: tuple[Any, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for step in where[:-1]:
        target = target.setdefault(step, {}) if isinstance(target, dict) else target[step]
    target[where[-1]] = value
    return body


def _example(schema: dict[str, Any], doc: dict[str, Any]) -> Any:
    """A valid-looking value of ``schema`` when it gives no example: its required fields."""
    schema = _resolve(schema, doc)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example(schema["properties"][name], doc) for name in schema.get("required", [])
        }
    if kind == "string" and schema.get("format") == "date-time":
        return dt.datetime.now(dt.UTC).isoformat()
    return {"string": "crawl1", "integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind)


def _json_values() -> list[tuple[str, Any]]:
    return [*HOSTILE.items(), ("10^20 number", 10**20), ("-1 number", -1)]
