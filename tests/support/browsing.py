"""A staff member or a respondent over real HTTP (``requests``): pages, their forms filled
with the values they show (tests/support/hostile.py reads them), CSRF token included."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.hostile import Form, first_radio_checked, form_pairs, parse_page


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def form_list(self, page: str) -> list[Form]:
        response = self.get(page)
        assert response.status_code == 200, (page, response.status_code)
        return parse_page(page, response.text)[0]

    def form(self, page: str, action: str) -> Form:
        """The form of ``page`` that posts to ``action`` (a path)."""
        response = self.get(page)
        assert response.status_code == 200, (page, response.status_code)
        for form in parse_page(page, response.text)[0]:
            if form.action == action:
                first_radio_checked(form)
                return form
        raise AssertionError(f"no form posting to {action} on {page}")

    def submit(self, page: str, action: str, **values: str) -> requests.Response:
        """Fill the form as the page shows it, with ``values`` in the fields named, and send."""
        form = self.form(page, action)
        return self.session.request(
            form.method,
            self.base + form.action,
            data=form_pairs(form, values),
            timeout=60,
            allow_redirects=False,
        )

    def login(self, email: str, password: str) -> None:
        response = self.submit("/auth/login", "/auth/login", email=email, password=password)
        assert response.status_code == 302, response.text[:500]
