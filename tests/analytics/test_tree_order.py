"""Units and categories in the order people look for them: a tree, siblings by name with the
Turkish letters among their base letters (not after "Zabıta" as code points put them)."""

from __future__ import annotations

from app.analytics.tree import Node, Tree
from app.collation import name_key

NAMES = ["Zabıta", "Çağrı Merkezi", "Çevre", "Örnek", "İmar", "Fen İşleri", "Cadde", "Ulaşım",
         "Istanbul", "Ödeme", "Park"]


def test_names_sort_with_their_base_letters() -> None:
    assert sorted(NAMES, key=name_key) == [
        "Cadde", "Çağrı Merkezi", "Çevre", "Fen İşleri", "İmar", "Istanbul", "Ödeme", "Örnek",
        "Park", "Ulaşım", "Zabıta"]
    assert name_key("IŞIK") == name_key("ışık")  # Turkish capitals fold to their own letters


def test_a_tree_reads_parent_before_children_and_skips_what_is_left_out() -> None:
    tree = Tree([Node(1, "org", "Örnek Belediyesi", None), Node(2, "z", "Zabıta", 1),
                 Node(3, "c", "Çevre", 1), Node(4, "p", "Park", 3), Node(5, "i", "İmar", 1),
                 Node(6, "loop", "Loop", 6)])
    assert tree.in_order() == [(1, 0), (3, 1), (4, 2), (5, 1), (2, 1)]
    # A unit manager of Çevre and İmar: Park moves up under nothing left out above it.
    assert tree.in_order({3, 4, 5}) == [(3, 0), (4, 1), (5, 0)]
