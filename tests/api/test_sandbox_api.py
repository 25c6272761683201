"""/api/v1/sandboxes/...: your sandboxes, markets, account, orders and positions, through a token."""

import json
from decimal import Decimal

import pytest

from exchange_edu.sandbox import mappers, models, services
from tests.sandbox.conftest import make_account, quote

pytestmark = pytest.mark.django_db

API = "/api/v1"


def call(client, auth, method, path, body=None, **query):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    if query:
        path = f"{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    return getattr(client, method)(f"{API}{path}", **kwargs, **auth)


@pytest.fixture
def sandbox_id(client, auth):
    response = call(client, auth, "post", "/sandboxes", {"preset": "v1", "source": "synthetic", "seed": 1})
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def maker(sandbox_id, django_user_model):
    """Someone quoting around the mark in the learner's sandbox (as a classroom bot would)."""
    user = django_user_model.objects.create_user(username="maker", password="maker-password-42")
    acct = make_account(models.Sandbox.objects.get(pk=sandbox_id), user)
    services.deposit(sandbox_id=sandbox_id, account_pk=acct.pk, asset="BTC", amount="100")
    quote(models.Sandbox.objects.get(pk=sandbox_id), acct, qty="1000")
    return acct


def order(client, auth, sandbox_id, **body):
    body = {"symbol": "BTCUSD", "side": "buy", "type": "limit", "quantity": "100", **body}
    return call(client, auth, "post", f"/sandboxes/{sandbox_id}/orders", body)


# -- sandboxes -------------------------------------------------------------------------------------


def test_create_list_and_show_a_sandbox(client, auth):
    created = call(client, auth, "post", "/sandboxes", {"preset": "v1", "source": "synthetic", "seed": 1,
                                                        "name": "my first"})

    assert created.status_code == 201, created.content
    sb = created.json()
    assert (sb["preset"], sb["source"], sb["seed"], sb["name"], sb["status"]) == ("v1", "synthetic", 1, "my first",
                                                                                  "running")
    assert sb["epoch"].endswith("Z")
    assert sb["time"] == sb["epoch"]
    listed = call(client, auth, "get", "/sandboxes").json()
    assert [x["id"] for x in listed["items"]] == [sb["id"]]
    assert listed["next_after"] is None
    assert call(client, auth, "get", f"/sandboxes/{sb['id']}").json()["id"] == sb["id"]


def test_the_sandbox_list_pages_with_a_cursor(client, auth):
    ids = [call(client, auth, "post", "/sandboxes", {"preset": "v1", "seed": n}).json()["id"] for n in range(3)]

    first = call(client, auth, "get", "/sandboxes", limit=2).json()
    second = call(client, auth, "get", "/sandboxes", limit=2, after=first["next_after"]).json()

    assert [x["id"] for x in first["items"]] + [x["id"] for x in second["items"]] == ids
    assert second["next_after"] is None


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"preset": "v9"}, 400, "preset"),
    ({"preset": "v1", "source": "history:nope"}, 400, "source"),
    ({"preset": "v1", "seed": -1}, 422, "seed"),
    ({"preset": "v1", "seed": "one"}, 422, "seed"),
    ({"preset": "v1", "tick_seconds": 0}, 422, "tick_seconds"),
    ({"preset": "v1", "source": "history:btc-2017-12-17", "tick_seconds": 60}, 400, "tick_seconds"),
    ({}, 422, "preset"),
], ids=["unknown preset", "unknown source", "negative seed", "seed not a number", "zero tick", "ohlc too coarse",
        "no preset"])
def test_bad_sandbox_input_names_the_field(client, auth, body, status, field):
    response = call(client, auth, "post", "/sandboxes", body)

    assert response.status_code == status, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not models.Sandbox.objects.exists()


def test_without_a_token_or_session_the_api_answers_401(client, sandbox_id):
    response = client.get(f"{API}/sandboxes/{sandbox_id}")

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}


def test_the_browser_session_works_too(client, learner, sandbox_id):
    client.force_login(learner)

    assert client.get(f"{API}/sandboxes/{sandbox_id}/markets").status_code == 200


# -- markets ---------------------------------------------------------------------------------------


def test_markets_ticker_and_book(client, auth, sandbox_id, maker):
    markets = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets").json()
    ticker = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/ticker").json()
    book = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/book", depth=1).json()

    assert [(m["symbol"], m["kind"], m["settlement_asset"]) for m in markets] == [("BTCUSD", "inverse", "BTC")]
    assert markets[0]["expiry_time"] is None  # a perpetual
    for key in ("index_price", "mark_price", "funding_rate"):
        assert isinstance(ticker[key], str)
        assert Decimal(ticker[key]) is not None
    assert ticker["next_funding_time"].endswith("Z")
    # the maker quotes 1% either side of the mark: one level each, best bid below best ask
    assert len(book["bids"]) == len(book["asks"]) == 1
    assert ticker["best_bid"] == book["bids"][0]["price"]
    assert ticker["best_ask"] == book["asks"][0]["price"]
    assert Decimal(book["bids"][0]["price"]) < Decimal(ticker["mark_price"]) < Decimal(book["asks"][0]["price"])
    assert book["bids"][0]["quantity"] == "1000"


def test_an_unknown_symbol_is_a_404_naming_it(client, auth, sandbox_id):
    response = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/DOGEUSD/ticker")

    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "symbol"


def test_trades_candles_and_funding_history_after_some_ticks(client, auth, sandbox_id, maker):
    services.sandbox_set_speed(sandbox_id=sandbox_id, tick_seconds=3600)
    order(client, auth, sandbox_id, type="market", quantity="10", leverage="2")
    for n in range(6):  # 6 hourly ticks: funding at 04:00 UTC
        assert services.sandbox_advance(sandbox_id=sandbox_id, expected_tick_seq=n).applied

    trades = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/trades").json()
    candles = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/candles", interval="1h").json()
    later = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/candles", interval="1h",
                 after=candles[2]["time"]).json()
    funding = call(client, auth, "get", f"/sandboxes/{sandbox_id}/markets/BTCUSD/funding-history").json()

    assert [(t["quantity"], t["taker_side"], t["liquidity"]) for t in trades["items"]] == [("10", "buy", "taker")]
    assert len(candles) == 6
    assert candles[0]["time"] == "2024-01-01T01:00:00Z"
    assert [c["time"] for c in later] == [c["time"] for c in candles[3:]]
    assert [f["time"] for f in funding["items"]] == ["2024-01-01T04:00:00Z"]
    assert funding["items"][0]["rate"] is not None


# -- account, orders, positions -----------------------------------------------------------------------


def test_the_account_opens_on_first_use_with_the_faucet(client, auth, sandbox_id, learner):
    data = call(client, auth, "get", f"/sandboxes/{sandbox_id}/account").json()

    assert data["account_id"] == f"u:{learner.pk}"
    assert data["balances"] == [{"asset": "BTC", "amount": "1"}]
    assert data["margin"][0] | {"asset": "BTC"} == data["margin"][0]
    assert data["margin"][0]["available"] == "1"
    assert data["positions"] == []
    assert call(client, auth, "get", f"/sandboxes/{sandbox_id}/account").json()["account_id"] == data["account_id"]


def test_place_list_and_cancel_a_limit_order(client, auth, sandbox_id):
    placed = order(client, auth, sandbox_id, price="9000")

    assert placed.status_code == 201, placed.content
    o = placed.json()
    assert (o["status"], o["quantity"], o["remaining"], o["price"], o["fills"]) == ("open", "100", "100", "9000", [])
    listed = call(client, auth, "get", f"/sandboxes/{sandbox_id}/orders", status="open").json()
    assert [x["id"] for x in listed["items"]] == [o["id"]]
    assert call(client, auth, "get", f"/sandboxes/{sandbox_id}/orders/{o['id']}").json()["status"] == "open"

    cancelled = call(client, auth, "delete", f"/sandboxes/{sandbox_id}/orders/{o['id']}")
    again = call(client, auth, "delete", f"/sandboxes/{sandbox_id}/orders/{o['id']}")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "order_id"
    assert call(client, auth, "get", f"/sandboxes/{sandbox_id}/orders", status="open").json()["items"] == []


def test_a_market_buy_opens_a_long_with_its_liquidation_price_and_close_flattens_it(client, auth, sandbox_id, maker):
    filled = order(client, auth, sandbox_id, type="market", quantity="1000", leverage="10").json()

    assert filled["status"] == "filled"
    assert filled["filled_quantity"] == "1000"
    assert Decimal(filled["average_price"]) == Decimal(filled["fills"][0]["price"])
    positions = call(client, auth, "get", f"/sandboxes/{sandbox_id}/positions").json()
    assert len(positions) == 1
    p = positions[0]
    assert (p["symbol"], p["side"], p["size"], p["leverage"]) == ("BTCUSD", "long", "1000", "10")
    # long 10x: bankruptcy ~ entry x 10/11 (inverse), liquidation a little above it
    entry = Decimal(p["entry_price"])
    assert Decimal(p["bankruptcy_price"]) < Decimal(p["liquidation_price"]) < entry
    assert abs(Decimal(p["bankruptcy_price"]) - entry * 10 / 11) < entry * Decimal("0.002")
    account = call(client, auth, "get", f"/sandboxes/{sandbox_id}/account").json()
    assert Decimal(account["margin"][0]["initial_margin"]) > 0

    closed = call(client, auth, "post", f"/sandboxes/{sandbox_id}/positions/BTCUSD/close")

    assert closed.status_code == 201, closed.content
    assert closed.json()["reduce_only"] is True
    assert closed.json()["side"] == "sell"
    assert call(client, auth, "get", f"/sandboxes/{sandbox_id}/positions").json() == []
    nothing = call(client, auth, "post", f"/sandboxes/{sandbox_id}/positions/BTCUSD/close")
    assert nothing.status_code == 409
    assert nothing.json()["errors"][0]["field"] == "symbol"


@pytest.mark.parametrize(("body", "field"), [
    ({"quantity": "NaN", "price": "9000"}, "quantity"),
    ({"quantity": "Infinity", "price": "9000"}, "quantity"),
    ({"quantity": "-5", "price": "9000"}, "quantity"),
    ({"quantity": 0, "price": "9000"}, "quantity"),
    ({"quantity": "abc", "price": "9000"}, "quantity"),
    ({"quantity": True, "price": "9000"}, "quantity"),
    ({"price": "0"}, "price"),
    ({"price": "-1"}, "price"),
    ({}, "price"),  # a limit order needs a price
    ({"price": "9000.3"}, "price"),  # not on the 0.5 tick
    ({"price": "9000", "leverage": "101"}, "leverage"),  # v1 allows up to 100x
    ({"price": "9000", "leverage": "0"}, "leverage"),
    ({"price": "9000", "symbol": "ETHUSD"}, "symbol"),
    ({"price": "9000", "side": "long"}, "side"),
    ({"price": "9000", "type": "iceberg"}, "type"),
    ({"price": "9000", "margin_mode": "portfolio"}, "margin_mode"),
    ({"price": "9000", "reduce_only": "maybe"}, "reduce_only"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_orders_are_a_4xx_naming_the_field(client, auth, sandbox_id, body, field):
    response = order(client, auth, sandbox_id, **body)

    assert 400 <= response.status_code < 500, response.content
    data = response.json()
    assert data["detail"]
    assert field in [e["field"] for e in data["errors"]], data
    assert not models.Order.objects.filter(sandbox_id=sandbox_id).exists()


def test_orders_on_a_paused_sandbox_are_a_409(client, auth, sandbox_id):
    services.sandbox_pause(sandbox_id=sandbox_id)

    response = order(client, auth, sandbox_id, price="9000")

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "sandbox"


def test_ledger_and_events_page_with_a_cursor(client, auth, sandbox_id, maker):
    order(client, auth, sandbox_id, type="market", quantity="100")

    ledger = call(client, auth, "get", f"/sandboxes/{sandbox_id}/ledger").json()
    kinds = [x["kind"] for x in ledger["items"]]
    assert kinds[0] == "faucet"
    assert ledger["items"][0]["amount"] == "1"
    assert "fee" in " ".join(kinds)
    first = call(client, auth, "get", f"/sandboxes/{sandbox_id}/ledger", limit=1).json()
    rest = call(client, auth, "get", f"/sandboxes/{sandbox_id}/ledger", after=first["next_after"]).json()
    assert first["items"] + rest["items"] == ledger["items"]

    events = call(client, auth, "get", f"/sandboxes/{sandbox_id}/events").json()["items"]
    assert "fill" in {e["kind"] for e in events}
    mine = {e["account_id"] for e in events} - {""}
    assert mine <= {f"u:{maker.user.pk}"} | {call(client, auth, "get", f"/sandboxes/{sandbox_id}/account")
                                             .json()["account_id"]}
    fills = call(client, auth, "get", f"/sandboxes/{sandbox_id}/events", kind="fill").json()["items"]
    assert {e["kind"] for e in fills} == {"fill"}


def test_reset_gives_a_fresh_account(client, auth, sandbox_id):
    before = call(client, auth, "get", f"/sandboxes/{sandbox_id}/account").json()
    order(client, auth, sandbox_id, price="9000")

    after = call(client, auth, "post", f"/sandboxes/{sandbox_id}/account/reset")

    assert after.status_code == 200, after.content
    assert after.json()["account_id"] != before["account_id"]
    assert after.json()["balances"] == [{"asset": "BTC", "amount": "1"}]
    assert call(client, auth, "get", f"/sandboxes/{sandbox_id}/orders").json()["items"] == []


def test_lending_is_unavailable_without_a_pool_and_shows_rates_on_v3(client, auth, sandbox_id):
    v1 = call(client, auth, "get", f"/sandboxes/{sandbox_id}/lending").json()
    v3_id = call(client, auth, "post", "/sandboxes", {"preset": "v3"}).json()["id"]
    v3 = call(client, auth, "get", f"/sandboxes/{v3_id}/lending").json()

    assert v1["available"] is False
    assert "no lending pool" in v1["reason"]
    assert v1["pools"] == []
    assert v3["available"] is True
    assert v3["curve"]["optimal_utilization"] == "0.8"
    assert [p["asset"] for p in v3["pools"]] == ["USDC", "BTC", "ETH"]


def test_a_unified_account_reports_its_margin_fraction(client, auth):
    v3_id = call(client, auth, "post", "/sandboxes", {"preset": "v3"}).json()["id"]

    data = call(client, auth, "get", f"/sandboxes/{v3_id}/account").json()

    assert data["margin_model"] == "unified"
    assert {b["asset"] for b in data["balances"]} == {"USDC", "BTC", "ETH"}
    assert data["margin_fraction"] is None  # no exposure
    assert Decimal(data["margin"][0]["available"]) > 0


# -- the order rate limit -------------------------------------------------------------------------------


def test_order_placement_is_rate_limited_per_account_with_a_clear_429(client, auth, sandbox_id, settings):
    settings.SANDBOX_API_ORDER_RATE = (3, 10)
    answers = [order(client, auth, sandbox_id, price=str(9000 + n)).status_code for n in range(4)]

    limited = order(client, auth, sandbox_id, price="9100")

    assert answers == [201, 201, 201, 429]
    assert limited.status_code == 429
    body = limited.json()
    assert set(body) == {"detail", "errors"}
    assert body["detail"].startswith("Too many orders: at most 3 orders per 10 seconds per account")
    assert body["errors"][0]["field"] == "orders"
    assert 1 <= int(limited["Retry-After"]) <= 10
    assert models.Order.objects.filter(sandbox_id=sandbox_id).count() == 3


def test_the_default_limit_is_20_orders_per_10_seconds(client, auth, sandbox_id):
    answers = [order(client, auth, sandbox_id, price=str(9000 + n)).status_code for n in range(21)]

    assert answers.count(201) == 20
    assert answers[-1] == 429


@pytest.mark.parametrize("preset", mappers.available_presets())
def test_every_read_answers_for_every_preset(client, auth, preset):
    sb = call(client, auth, "post", "/sandboxes", {"preset": preset, "seed": 2})
    assert sb.status_code == 201, sb.content
    sid = sb.json()["id"]
    symbol = call(client, auth, "get", f"/sandboxes/{sid}/markets").json()[0]["symbol"]
    for n in range(2):
        services.sandbox_advance(sandbox_id=sid, expected_tick_seq=n)

    for path in ("", "/account", "/positions", "/orders", "/ledger", "/events", "/lending",
                 f"/markets/{symbol}/ticker", f"/markets/{symbol}/book", f"/markets/{symbol}/trades",
                 f"/markets/{symbol}/candles", f"/markets/{symbol}/funding-history"):
        response = call(client, auth, "get", f"/sandboxes/{sid}{path}")
        assert response.status_code == 200, (path, response.content)
