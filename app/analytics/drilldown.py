"""The organisation -> unit -> category tree for the drill-down: complaints (the size of each
box) and CSAT (its colour) at every node.

Two small GROUP BY queries count per (unit, category): complaints received, and the CSAT answers
and responses of the period. Each node adds up the pairs below it. A node's CSAT is hidden below
``min_group`` answers, and among siblings with the complementary rule of
``app.analytics.suppression.hidden_groups`` (the parent's figure minus the visible children must not
give a hidden child's figure away).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from app.analytics.aggregates import CSAT_ANSWER, IS_COMPLAINT
from app.analytics.figures import Score, survey_proportion
from app.analytics.filters import Filters, complaint_conditions, in_period, response_conditions
from app.analytics.suppression import hidden_groups
from app.analytics.tree import Tree
from app.extensions import db
from app.models import Answer, Complaint, Response

ROOT = "all"


@dataclass
class DrillNode:
    """One box. ``id`` is ``all``, ``u<unit id>`` or ``u<unit id>/c<category id>``."""

    id: str
    parent: str  # '' for the root
    unit_id: int | None
    category_id: int | None
    complaints: int = 0
    responses: int = 0
    csat_n: int = 0
    csat_satisfied: int = 0
    csat: Score = field(default_factory=lambda: Score(n=0, suppressed=True))
    children: list[str] = field(default_factory=list)


def _pair_counts(filters: Filters) -> dict[tuple[int, int], list[int]]:
    """(unit, category) -> [complaints, responses, csat answers, satisfied]."""
    counts: dict[tuple[int, int], list[int]] = {}
    complaints = (select(Complaint.unit_id, Complaint.category_id, func.count(Complaint.id))
                  .where(*in_period(Complaint.received_at, filters), IS_COMPLAINT,
                         *complaint_conditions(filters))
                  .group_by(Complaint.unit_id, Complaint.category_id))
    for unit_id, category_id, n in db.session.execute(complaints):
        counts.setdefault((unit_id, category_id), [0, 0, 0, 0])[0] += int(n)
    responses = (select(Response.unit_id, Response.category_id, func.count(Response.id))
                 .where(*response_conditions(filters))
                 .group_by(Response.unit_id, Response.category_id))
    for unit_id, category_id, n in db.session.execute(responses):
        counts.setdefault((unit_id, category_id), [0, 0, 0, 0])[1] += int(n)
    answers = (select(Response.unit_id, Response.category_id, func.count(Answer.id),
                      func.count(case((Answer.value_number >= 4, Answer.id))))
               .select_from(Answer).join(Response, Response.id == Answer.response_id)
               .where(CSAT_ANSWER, Answer.value_number.is_not(None),
                      *response_conditions(filters))
               .group_by(Response.unit_id, Response.category_id))
    for unit_id, category_id, n, satisfied in db.session.execute(answers):
        entry = counts.setdefault((unit_id, category_id), [0, 0, 0, 0])
        entry[2] += int(n)
        entry[3] += int(satisfied)
    return counts


def drill_tree(filters: Filters, min_group: int, units: Tree, root_unit: int | None = None,
               scope: Collection[int] | None = None) -> dict[str, DrillNode]:
    """The nodes under ``root_unit`` (None: the whole organisation, or the units of ``scope``)
    that have any complaint or response, keyed by id; the root is ``all`` (or ``u<root>``)."""
    allowed = units.below(units.tops(scope)) if scope is not None else set(units.nodes)
    if root_unit is not None:
        allowed &= units.below([root_unit])
    root_id = ROOT if root_unit is None else f"u{root_unit}"
    nodes = {root_id: DrillNode(root_id, "", root_unit, None)}

    def parent_of(unit_id: int) -> str:
        for ancestor in units.ancestors(unit_id):
            if ancestor == root_unit:
                break
            if ancestor in allowed:
                return f"u{ancestor}"
        return root_id

    def unit_node(unit_id: int) -> DrillNode:
        key = f"u{unit_id}"
        if key not in nodes:
            parent = parent_of(unit_id)
            if parent != root_id:
                unit_node(int(parent[1:]))
            nodes[key] = DrillNode(key, parent, unit_id, None)
            nodes[parent].children.append(key)
        return nodes[key]

    for (unit_id, category_id), (complaints, responses, n, satisfied) in sorted(
        _pair_counts(filters).items()
    ):
        if unit_id not in allowed:
            continue
        owner = nodes[root_id] if unit_id == root_unit else unit_node(unit_id)
        leaf = DrillNode(f"u{unit_id}/c{category_id}", owner.id, unit_id, category_id,
                         complaints, responses, n, satisfied)
        nodes[leaf.id] = leaf
        owner.children.append(leaf.id)
    _add_up(nodes, root_id)
    root = nodes[root_id]
    root.csat = survey_proportion(root.csat_satisfied, root.csat_n, min_group)
    _suppress(nodes, root_id, min_group)
    return nodes


def _add_up(nodes: dict[str, DrillNode], node_id: str) -> None:
    node = nodes[node_id]
    for child_id in node.children:
        _add_up(nodes, child_id)
        child = nodes[child_id]
        node.complaints += child.complaints
        node.responses += child.responses
        node.csat_n += child.csat_n
        node.csat_satisfied += child.csat_satisfied


def _suppress(nodes: dict[str, DrillNode], node_id: str, min_group: int) -> None:
    """Set the children's CSAT (hidden as the module says), then theirs."""
    node = nodes[node_id]
    counts = {c: nodes[c].csat_n for c in node.children}
    hidden = hidden_groups(counts, min_group)
    if node.csat.suppressed and not any(counts[c] > 0 for c in hidden):
        # A hidden parent must not be the sum of visible children: hide one (and so, by the
        # complementary rule, a second).
        filled = [c for c in node.children if counts[c] > 0]
        if filled:
            smallest = min(filled, key=lambda c: (counts[c], c))
            hidden = hidden_groups(counts, min_group, already_hidden={smallest})
    for child_id in node.children:
        child = nodes[child_id]
        if child_id in hidden:
            child.csat = Score(n=child.csat_n, suppressed=True)
        else:
            child.csat = survey_proportion(child.csat_satisfied, child.csat_n, min_group)
        _suppress(nodes, child_id, min_group)
