"""The hand counts of the analytics dataset (tests/support/datasets/analytics.py)."""

from __future__ import annotations

from tests.support.datasets.analytics import FEN_EFFORT, FEN_NPS, FEN_OVERALL, FEN_RESOLVED


def test_the_hand_counts_of_the_dataset_are_right() -> None:
    # The query tests compare with these hand counts, so check the arithmetic once.
    assert sum(1 for v in FEN_OVERALL if v >= 4) == 4
    assert (sum(FEN_OVERALL), sum(v * v for v in FEN_OVERALL)) == (23, 95)
    assert (sum(v >= 9 for v in FEN_NPS), sum(v <= 6 for v in FEN_NPS)) == (3, 2)
    assert (sum(FEN_EFFORT), sum(v * v for v in FEN_EFFORT)) == (15, 47)
    assert sum(FEN_RESOLVED) == 4
