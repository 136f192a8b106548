"""A webhook reaches public hosts only (issue 15, finding 5: SSRF): loopback, private,
link-local (the cloud metadata address), reserved and oddly written addresses are refused at
registration and again before every POST, with one text that says nothing of the network."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Webhook, WebhookDelivery
from app.webhooks import RESPONSE_CREATED, deliver_due_webhooks, enqueue_webhook
from app.webhooks.services import WebhookError, register_webhook
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

SECRET = "s" * 32
INSIDE = [
    "http://127.0.0.1:5432/",
    "http://localhost/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0/hook",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://no-such-host.invalid/hook",
]


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app()  # no private host allowed: the product's default


def _webhooks(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Webhook.id)))


@pytest.mark.parametrize("url", INSIDE)
def test_an_address_inside_is_refused_at_registration(app: Flask, url: str) -> None:
    with app.app_context(), pytest.raises(WebhookError) as refused:
        register_webhook(url, [RESPONSE_CREATED], SECRET, "test")
    assert str(refused.value) == ("The URL must name a public host (not a local, private or "
                                  "reserved address).")
    assert _webhooks(app) == 0


def test_credentials_in_the_url_are_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(WebhookError, match="user name or password"):
        register_webhook("https://user:pw@93.184.216.34/hook", [RESPONSE_CREATED], SECRET, "t")
    assert _webhooks(app) == 0


def test_a_public_address_and_an_allowed_private_host_are_taken(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS="hooks.intranet, 10.0.0.8")
    with app.app_context():
        register_webhook("https://93.184.216.34/hook", [RESPONSE_CREATED], SECRET, "test")
        register_webhook("http://10.0.0.8:8080/hook", [RESPONSE_CREATED], SECRET, "test")
        register_webhook("http://HOOKS.intranet/hook", [RESPONSE_CREATED], SECRET, "test")
        with pytest.raises(WebhookError):  # allowed by name, not every private address
            register_webhook("http://10.0.0.9/hook", [RESPONSE_CREATED], SECRET, "test")
    assert _webhooks(app) == 3


def test_a_host_that_turned_private_is_refused_before_the_post(app: Flask) -> None:
    """As after DNS rebinding: the stored URL now leads inside; nothing is sent there."""
    with app.app_context():
        db.session.add(Webhook(url="http://127.0.0.1:9/hook", secret=SECRET,
                               events=[RESPONSE_CREATED], active=True, created_by="test"))
        db.session.commit()
        assert enqueue_webhook(RESPONSE_CREATED, {"x": 1}) == 1
        result = deliver_due_webhooks()
        assert (result.delivered, result.retried) == (0, 1)
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.last_error == "the receiver's address is not a public one"
        assert delivery.last_status is None


def test_the_admin_page_says_the_same_for_every_address_inside(app: Flask) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "admin@example.org", make_user(app))
    texts = set()
    for url in ("http://127.0.0.1:5432/", "http://127.0.0.1:1/", "http://169.254.169.254/"):
        page = client.get("/admin/webhooks")
        answer = client.post("/admin/webhooks", data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)), "url": url,
            "events": [RESPONSE_CREATED]})
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        texts.add("must name a public host" in html)
    assert texts == {True}
    assert _webhooks(app) == 0
