"""Every route the app registers refuses anonymous users, except the few that must be public."""

from __future__ import annotations

import pytest

from tests.support.routes import protected_routes, refused_as_anonymous


def test_every_registered_route_refuses_anonymous_users(make_app) -> None:
    # CSRF off so that the check reached is the authentication one, not the CSRF one.
    app = make_app(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    routes = protected_routes(app)
    assert len(routes) > 10, "the route table looks too small to be the real app"
    let_through = []
    for endpoint, method, path in routes:
        response = client.open(path, method=method)
        if not refused_as_anonymous(response):
            let_through.append((endpoint, method, path, response.status_code))
    assert not let_through, f"routes open to anonymous users: {let_through}"


@pytest.mark.parametrize("path", ["/dashboards/", "/dashboards/_dash-layout", "/admin/outbox"])
def test_known_private_pages_redirect_to_login(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (302, 401)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/auth/login")


def test_api_without_key_is_401_with_the_error_shape(client) -> None:
    response = client.post("/api/v1/complaints", json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
