"""Every staff page of the app, from its URL map, with real ids from a small dataset: for the
tests that walk them all (markup, accessibility)."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from flask import Flask

from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from tests.support.datasets.reports import Data, at
from tests.support.walkin import make_point

VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Not staff pages: the respondent's, the API, files, and what only redirects or downloads.
SKIPPED_PREFIXES = (
    "respond.",
    "walkin.",
    "api.",
    "static",
    "main.health",
    "main.favicon",
    "auth.logout",
    "main.set_language",
    "design.export",
    "distribution.outbox_preview",
)
DASH_PAGES = [
    "/dashboards/",
    "/dashboards/drill",
    "/dashboards/complaints",
    "/dashboards/survey",
    "/dashboards/operations",
]


def build_dataset(app: Flask) -> dict[str, str]:
    """Data behind every kind of staff URL; the values to put in their variable parts."""
    from app.design.services import install_template, template_paths
    from app.distribution.campaigns import create_campaign
    from app.models import DistributionRule, ImprovementAction

    with app.app_context():
        ces = install_template(next(p for p in template_paths() if p.stem == "ces"))
        db.session.add(DistributionRule(key="ces", questionnaire=ces))
        data = Data().setup()
        data.bulk_responses("fen", at(2025, 1, 10), [5, 4, 4, 5, 3])
        theirs = data.response("zabita", at(2025, 1, 15), overall=1, email="z@example.org")
        db.session.commit()
        follow_up = open_follow_up_if_needed(theirs)
        action = ImprovementAction(
            unit_id=theirs.unit_id, metric="csat", title="Training", owner="Head of unit"
        )
        db.session.add(action)
        db.session.commit()
        point_id, _code = make_point(app, code="ZABITA-1", unit="zabita")
        # A draft campaign, so /admin/campaigns/<key> has a page to check.
        create_campaign({"key": "ces", "name": "Quarterly", "questionnaire_id": ces.id,
                         "served_from": at(2025, 1, 1), "served_until": at(2025, 4, 1),
                         "closes_at": at(2025, 5, 1)}, actor="tests")
        return {
            "point_id": str(point_id),
            "follow_up_id": str(follow_up.id),
            "action_id": str(action.id),
            "key": "ces",
            "number": "1",
            "question_key": "effort",
        }


def staff_pages(app: Flask, values: dict[str, str]) -> list[str]:
    """The paths of every GET page of the staff side whose variables have a real value."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint.startswith(SKIPPED_PREFIXES):
            continue
        if rule.rule.startswith("/dashboards/"):
            continue  # Dash's own routes; its pages are DASH_PAGES
        names = [match.group(2) for match in VARIABLE.finditer(rule.rule)]
        if any(name not in values for name in names):
            continue
        paths.add(VARIABLE.sub(lambda match: values[match.group(2)], rule.rule))
    return sorted(paths)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id") is not None:
            self.ids.append(found["id"] or "")
        if tag == "label" and found.get("for"):
            self.label_targets.append(found["for"] or "")


def markup_problems(html: str) -> list[str]:
    """Duplicate or empty ids, and labels whose ``for`` names no element."""
    parser = _Markup()
    parser.feed(html)
    counts = Counter(parser.ids)
    problems = [f"id {name!r} appears {n} times" for name, n in counts.items() if n > 1]
    problems += ["an empty id"] * counts.get("", 0)
    problems += [
        f"label for={target!r} points at nothing"
        for target in parser.label_targets
        if target not in counts
    ]
    return problems
