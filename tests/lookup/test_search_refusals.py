"""A refused search answers with its form and a message, never a server error."""

from __future__ import annotations

from tests.support.factories import make_user
from tests.support.web import login

BIG = "100000000000000000000"


def test_a_refused_search_on_a_later_page_shows_the_form(app) -> None:  # type: ignore[no-untyped-def]
    """Found by the hostile crawler: a filter no choice holds, asked for on page 2, answered
    500 (the refusal page drew its page links without the search's arguments)."""
    client = app.test_client()
    login(client, "admin@example.org", make_user(app))
    answer = client.get(f"/complaints/?category={BIG}&unit={BIG}&page=2")
    assert answer.status_code == 400
    assert 'name="category"' in answer.get_data(as_text=True)
