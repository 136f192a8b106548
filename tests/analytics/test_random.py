"""The random analytics dataset (tests/support/datasets/generated.py) is reproducible."""

from __future__ import annotations

import random


def test_the_dataset_is_reproducible() -> None:
    # Only the Python side: the same seed gives the same choices (no database needed here).
    first, second = random.Random(7), random.Random(7)
    assert [first.random() for _ in range(5)] == [second.random() for _ in range(5)]
