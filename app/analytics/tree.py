"""The unit and category trees, and which node each unit's figures roll up to.

A tree is the organisation chart or the list of categories: a few hundred rows at most, read
whole. Figures are never rolled up row by row: queries group by the unit (or category) id, and
``level`` says which displayed node each id's counts are added to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.collation import name_key
from app.extensions import db
from app.models import Category, Unit

#: One level of a picker's indentation. No-break spaces, because a browser collapses ordinary
#: leading spaces in an <option>; screen readers pass over them and read the name.
INDENT = "\u00a0\u00a0\u00a0"


@dataclass(frozen=True)
class Node:
    id: int
    code: str
    name: str
    parent_id: int | None


class Tree:
    """Units or categories by id, with their children."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes = {node.id: node for node in nodes}
        self._children: dict[int | None, list[int]] = {}
        for node in sorted(self.nodes.values(), key=lambda n: (name_key(n.name), n.id)):
            parent = node.parent_id if node.parent_id in self.nodes else None
            self._children.setdefault(parent, []).append(node.id)

    @classmethod
    def load(cls, model: Any) -> Tree:
        rows = db.session.execute(select(model.id, model.code, model.name, model.parent_id))
        return cls(Node(row.id, row.code, row.name, row.parent_id) for row in rows)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def children(self, node_id: int | None) -> list[int]:
        """Children by name; ``None``: the roots."""
        return list(self._children.get(node_id, []))

    def single_root(self) -> int | None:
        """The one top node, when there is exactly one: for units, the organisation itself."""
        tops = self.children(None)
        return tops[0] if len(tops) == 1 else None

    def ancestors(self, node_id: int) -> list[int]:
        """Parent, grandparent, ... (a cycle in bad data ends the walk)."""
        found: list[int] = []
        parent = self.nodes[node_id].parent_id if node_id in self.nodes else None
        while parent in self.nodes and parent not in found and parent != node_id:
            found.append(parent)
            parent = self.nodes[parent].parent_id
        return found

    def below(self, node_ids: Iterable[int]) -> set[int]:
        """The given nodes and every node under them."""
        found: set[int] = set()
        stack = [node_id for node_id in node_ids if node_id in self.nodes]
        while stack:
            node_id = stack.pop()
            if node_id not in found:
                found.add(node_id)
                stack.extend(self._children.get(node_id, []))
        return found

    def tops(self, node_ids: Collection[int]) -> list[int]:
        """The nodes of ``node_ids`` that have no ancestor in it (by name)."""
        chosen = set(node_ids)
        tops = [n for n in chosen if n in self.nodes
                and not chosen.intersection(self.ancestors(n))]
        return sorted(tops, key=lambda n: (name_key(self.nodes[n].name), n))

    def in_order(self, node_ids: Collection[int] | None = None) -> list[tuple[int, int]]:
        """(id, depth) of the nodes (or of ``node_ids``) as a tree is read: each parent before
        its children, siblings by name. A node whose parent is left out moves up a level."""
        wanted = set(self.nodes) if node_ids is None else set(node_ids) & set(self.nodes)
        found: list[tuple[int, int]] = []
        seen: set[int] = set()  # a cycle in bad data ends the walk

        def walk(parent: int | None, depth: int) -> None:
            for child in self._children.get(parent, []):
                if child in seen:
                    continue
                seen.add(child)
                if child in wanted:
                    found.append((child, depth))
                walk(child, depth + 1 if child in wanted else depth)

        walk(None, 0)
        return found

    def labelled(self, node_ids: Collection[int] | None = None, *,
                 under: int = 0) -> list[tuple[int, str]]:
        """(id, name indented by its depth) in tree order (``in_order``): the one way every
        picker, Flask form or dashboard, lists units and categories. ``under`` adds levels, for
        a list that hangs below a first choice of its own (the whole organisation, any unit)."""
        return [(node_id, INDENT * (depth + under) + self.nodes[node_id].name)
                for node_id, depth in self.in_order(node_ids)]

    def by_code(self, code: str | None) -> int | None:
        if not code:
            return None
        return next((n.id for n in self.nodes.values() if n.code == code), None)


def unit_tree() -> Tree:
    return Tree.load(Unit)


def category_tree() -> Tree:
    return Tree.load(Category)


@dataclass(frozen=True)
class Level:
    """One level of a drill-down: the nodes shown and, for every id whose counts they hold, the
    node it rolls up to. ``parent`` (if any) also counts its own rows, as the node ``parent``
    itself (marked ``own``), so that the shown nodes always add up to the parent's total."""

    parent: int | None
    nodes: tuple[int, ...]
    mapping: dict[int, int]

    def own(self, node_id: int) -> bool:
        return node_id == self.parent


def level(tree: Tree, parent: int | None, scope: Collection[int] | None = None) -> Level:
    """The children of ``parent`` (or, without one, the top nodes of ``scope`` or of the tree)
    with everything below each; a lone top node with children is opened, since one box says
    nothing. ``scope`` (None: everything) limits the ids counted."""
    allowed = tree.below(tree.tops(scope)) if scope is not None else set(tree.nodes)
    if parent is not None:
        nodes = [c for c in tree.children(parent) if c in allowed]
    else:
        nodes = tree.tops(allowed)
        if len(nodes) == 1 and tree.children(nodes[0]):
            parent = nodes[0]
            nodes = [c for c in tree.children(parent) if c in allowed]
    mapping = {below: node for node in nodes for below in tree.below([node]) if below in allowed}
    if parent is not None and parent in allowed:
        mapping[parent] = parent
    return Level(parent=parent, nodes=tuple(nodes), mapping=mapping)


def flat(tree: Tree, scope: Collection[int] | None = None) -> Level:
    """Every node on its own (no roll-up), e.g. one point per unit in a scatter."""
    ids = sorted(tree.below(tree.tops(scope)) if scope is not None else tree.nodes,
                 key=lambda n: (tree.nodes[n].name.casefold(), n))
    return Level(parent=None, nodes=tuple(ids), mapping={n: n for n in ids})
