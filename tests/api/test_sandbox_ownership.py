"""Every object endpoint refuses another user's ids with the same 404 as an id that does not exist."""

import json

import pytest

from exchange_edu.core.services import api_token_create
from exchange_edu.sandbox import models

pytestmark = pytest.mark.django_db

OBJECT_ENDPOINTS = [
    ("get", "/sandboxes/{id}", None),
    ("get", "/sandboxes/{id}/markets", None),
    ("get", "/sandboxes/{id}/markets/BTCUSD/ticker", None),
    ("get", "/sandboxes/{id}/markets/BTCUSD/book", None),
    ("get", "/sandboxes/{id}/markets/BTCUSD/trades", None),
    ("get", "/sandboxes/{id}/markets/BTCUSD/candles", None),
    ("get", "/sandboxes/{id}/markets/BTCUSD/funding-history", None),
    ("get", "/sandboxes/{id}/account", None),
    ("post", "/sandboxes/{id}/account/reset", {}),
    ("get", "/sandboxes/{id}/orders", None),
    ("post", "/sandboxes/{id}/orders", {"symbol": "BTCUSD", "side": "buy", "quantity": 1, "price": 9000}),
    ("get", "/sandboxes/{id}/orders/{order}", None),
    ("delete", "/sandboxes/{id}/orders/{order}", None),
    ("get", "/sandboxes/{id}/positions", None),
    ("post", "/sandboxes/{id}/positions/BTCUSD/close", {}),
    ("get", "/sandboxes/{id}/ledger", None),
    ("get", "/sandboxes/{id}/events", None),
    ("get", "/sandboxes/{id}/lending", None),
]


def call(client, token, method, path, body):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)


@pytest.fixture
def alice_and_bob(django_user_model, client):
    """Bob owns a sandbox with an open order; Alice owns one too."""
    tokens = {}
    for name in ("alice", "bob"):
        user = django_user_model.objects.create_user(username=name, password=f"{name}-password-42")
        tokens[name] = api_token_create(user=user, name="t")[1]
    bob_sb = call(client, tokens["bob"], "post", "/sandboxes", {"preset": "v1"}).json()["id"]
    bob_order = call(client, tokens["bob"], "post", f"/sandboxes/{bob_sb}/orders",
                     {"symbol": "BTCUSD", "side": "buy", "quantity": 1, "price": 9000}).json()["id"]
    alice_sb = call(client, tokens["alice"], "post", "/sandboxes", {"preset": "v1"}).json()["id"]
    return tokens, bob_sb, bob_order, alice_sb


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS,
                         ids=[f"{m} {t}" for m, t, _ in OBJECT_ENDPOINTS])
def test_another_users_sandbox_is_not_found(client, alice_and_bob, method, template, body):
    tokens, bob_sb, bob_order, _ = alice_and_bob
    before = (models.Order.objects.count(), models.PaperAccount.objects.count(), models.JournalLine.objects.count())

    theirs = call(client, tokens["alice"], method, template.format(id=bob_sb, order=bob_order), body)
    missing = call(client, tokens["alice"], method, template.format(id=bob_sb + 1000, order=bob_order), body)

    assert theirs.status_code == 404, theirs.content
    assert theirs.json()["errors"][0]["field"] == "id"
    # the same answer as for an id that does not exist: ids are no oracle
    assert theirs.json()["detail"].replace(str(bob_sb), "N") == missing.json()["detail"].replace(
        str(bob_sb + 1000), "N")
    after = (models.Order.objects.count(), models.PaperAccount.objects.count(), models.JournalLine.objects.count())
    assert after == before  # nothing opened, placed or reset in Bob's sandbox


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_order_id_is_not_found_in_your_own_sandbox(client, alice_and_bob, method):
    tokens, _, bob_order, alice_sb = alice_and_bob

    response = call(client, tokens["alice"], method, f"/sandboxes/{alice_sb}/orders/{bob_order}", None)

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "order_id"


def test_the_list_shows_only_your_sandboxes(client, alice_and_bob):
    tokens, _bob_sb, _, alice_sb = alice_and_bob

    items = call(client, tokens["alice"], "get", "/sandboxes", None).json()["items"]

    assert [x["id"] for x in items] == [alice_sb]
