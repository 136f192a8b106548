"""One formatting of each kind of figure (``app.numbers``), in the user's language."""

from __future__ import annotations

import pytest

from app.numbers import count, decimal, figure, percent, points


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ("2,933", "3,244,650", "62.5%", "+12", "-34", "3.85")),
    ("tr", ("2.933", "3.244.650", "%62,5", "+12", "-34", "3,85")),
])
def test_each_kind_in_each_language(app, language, expected) -> None:
    with app.test_request_context(headers={"Accept-Language": language}):
        shown = (count(2933), count(3244650), percent(0.625), points(0.12), points(-0.34),
                 figure("mean", 3.849))
    assert shown == expected


def test_nothing_rounds_to_minus_zero(app) -> None:
    """"-34 to -0" read as a loss at both ends; a value that rounds to zero is 0."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert points(-0.004) == "0"
        assert percent(-0.0001) == "0.0%"
        assert decimal(-0.001, 2) == "0.00"
        assert count(None) == points(None) == "–"
