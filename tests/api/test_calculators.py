"""POST /api/v1/calc/*: public, the engine's formulas, decimals as strings at full precision."""

import json
from decimal import Decimal

import pytest


def post(client, path, body):
    return client.post(f"/api/v1/calc/{path}", data=json.dumps(body), content_type="application/json")


def close(text: str, expected: str, places: int = 6) -> bool:
    return abs(Decimal(text) - Decimal(expected)) < Decimal(10) ** -places


@pytest.mark.parametrize(
    ("body", "expected_pnl"),
    [
        # E1: 100 contracts x $100 long, 400 -> 440: 10,000 x (1/400 - 1/440) = +2.272727 BTC
        ({"contract": "inverse", "side": "long", "quantity": 10000, "entry_price": 400, "exit_price": 440},
         "2.272727"),
        ({"contract": "inverse", "side": "short", "quantity": "10000", "entry_price": "400", "exit_price": "440"},
         "-2.272727"),
        # linear: 2 BTC long 20,000 -> 19,000 = -2,000 USD
        ({"contract": "linear", "side": "long", "quantity": "2", "entry_price": "20000", "exit_price": "19000"},
         "-2000"),
    ],
    ids=["E1 inverse long", "E1 inverse short", "linear long loss"],
)
def test_pnl(client, body, expected_pnl):
    response = post(client, "pnl", body)

    assert response.status_code == 200, response.content
    data = response.json()
    assert close(data["pnl"], expected_pnl)
    assert isinstance(data["pnl"], str)


def test_pnl_keeps_full_precision():
    from django.test import Client

    data = post(Client(), "pnl", {"contract": "inverse", "side": "long", "quantity": 10000,
                                  "entry_price": 400, "exit_price": 440}).json()

    digits = data["pnl"].replace("-", "").replace(".", "").lstrip("0")
    assert len(digits) >= 12


@pytest.mark.parametrize(
    ("body", "liquidation", "bankruptcy"),
    [
        # E11: long 100x, mmr 0.5%, entry-value convention: B = 9,900.99, LP = 9,950.25
        ({"contract": "inverse", "side": "long", "entry_price": 10000, "leverage": 100,
          "maintenance_margin_rate": "0.005"}, "9950.248756", "9900.990099"),
        # OKX convention: LP = (1 + mmr) / (1/E + 1/(E L)) = 1.005 / 0.000101 = 9,950.495
        ({"contract": "inverse", "side": "long", "entry_price": 10000, "leverage": 100,
          "maintenance_margin_rate": "0.005", "convention": "liquidation_value"}, "9950.495050", "9900.990099"),
        # linear long 10x, mmr 0.5%: B = E(1 - 1/L) = 9,000; LP = E(1 - 1/L + mmr) = 9,050
        ({"contract": "linear", "side": "long", "entry_price": 10000, "leverage": 10,
          "maintenance_margin_rate": "0.005"}, "9050", "9000"),
        # linear short 10x: B = 11,000; LP = E(1 + 1/L - mmr) = 10,950
        ({"contract": "linear", "side": "short", "entry_price": 10000, "leverage": 10,
          "maintenance_margin_rate": "0.005"}, "10950", "11000"),
    ],
    ids=["E11 entry value", "E11 liquidation value", "linear long", "linear short"],
)
def test_liquidation_price(client, body, liquidation, bankruptcy):
    data = post(client, "liquidation-price", body).json()

    assert close(data["liquidation_price"], liquidation)
    assert close(data["bankruptcy_price"], bankruptcy)


def test_an_inverse_short_at_1x_has_no_bankruptcy_price(client):
    data = post(client, "liquidation-price", {"contract": "inverse", "side": "short", "entry_price": 10000,
                                              "leverage": 1, "maintenance_margin_rate": "0.005"}).json()

    assert data["bankruptcy_price"] is None


@pytest.mark.parametrize(
    ("premium", "rate"),
    [("0.0002", "0.0001"), ("0.003", "0.0025"), ("-0.001", "-0.0005")],
    ids=["E7 small premium gives the interest rate", "E7 large premium", "E7 negative premium"],
)
def test_funding_rate_e7(client, premium, rate):
    data = post(client, "funding", {"premium_index": premium, "interest_rate": "0.0001"}).json()

    assert Decimal(data["funding_rate"]) == Decimal(rate)
    assert data["payment"] is None


def test_funding_payment_is_signed_from_the_holders_side(client):
    # E8: long worth 1 XBT at F = 0.01% pays 0.0001 XBT; the short receives it
    long = post(client, "funding", {"premium_index": "0.0001", "interest_rate": "0.0001",
                                    "position_value": "1", "side": "long"}).json()
    short = post(client, "funding", {"premium_index": "0.0001", "interest_rate": "0.0001",
                                     "position_value": "1", "side": "short"}).json()

    assert Decimal(long["payment"]) == Decimal("-0.0001")
    assert Decimal(short["payment"]) == Decimal("0.0001")


def test_funding_cap_bounds_the_rate(client):
    data = post(client, "funding", {"premium_index": "0.01", "interest_rate": "0.0001",
                                    "cap": "0.00375"}).json()

    assert Decimal(data["funding_rate"]) == Decimal("0.00375")


@pytest.mark.parametrize(
    ("utilization", "borrow", "lend"),
    [
        # below the kink: 6% x 0.4 / 0.8 = 3%; lend = 3% x 0.4 x 0.9 = 1.08%
        ("0.4", "0.03", "0.0108"),
        # above: 6% + 150% x (0.9 - 0.8) / 0.2 = 81%; lend = 81% x 0.9 x 0.9 = 65.61%
        ("0.9", "0.81", "0.6561"),
    ],
    ids=["below the kink", "above the kink"],
)
def test_lending_rate(client, utilization, borrow, lend):
    data = post(client, "lending-rate", {"utilization": utilization, "optimal_utilization": "0.8",
                                         "base_rate": 0, "slope1": "0.06", "slope2": "1.5", "fee": "0.1"}).json()

    assert Decimal(data["borrow_rate"]) == Decimal(borrow)
    assert Decimal(data["lend_rate"]) == Decimal(lend)


def test_adl_rank_of_an_inverse_long_in_profit(client):
    # PNL% = 1 - E/M = 1 - 10,000/11,000 = 9.0909%; EffLev = B / (M - B) = 9,900 / 1,100 = 9
    data = post(client, "adl-rank", {"contract": "inverse", "side": "long", "entry_price": 10000,
                                     "mark_price": 11000, "bankruptcy_price": 9900}).json()

    assert close(data["pnl_percent"], "0.090909")
    assert close(data["effective_leverage"], "9")
    assert close(data["rank"], "0.818182")


def test_clawback_e5(client):
    # E5: loss 150, fund 17, profits 1,330 in all -> 10%; +5 pays 0.5; losers pay nothing
    data = post(client, "clawback", {"margin_call_loss": 150, "insurance_fund": 17,
                                     "net_profits": [5, "1325", -3, 0]}).json()

    assert Decimal(data["clawback_rate"]) == Decimal("0.1")
    assert [Decimal(x) for x in data["clawbacks"]] == [Decimal("0.5"), Decimal("132.5"), 0, 0]
    assert Decimal(data["insurance_fund_after"]) == 0
    assert Decimal(data["uncovered_loss"]) == 0


def test_clawback_is_capped_at_all_of_the_profit(client):
    data = post(client, "clawback", {"margin_call_loss": 100, "insurance_fund": 0, "net_profits": [10, 20]}).json()

    assert Decimal(data["clawback_rate"]) == 1
    assert Decimal(data["uncovered_loss"]) == 70


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("pnl", {"contract": "inverse", "side": "long", "quantity": "NaN", "entry_price": 1, "exit_price": 1},
         "quantity"),
        ("pnl", {"contract": "inverse", "side": "long", "quantity": "Infinity", "entry_price": 1, "exit_price": 1},
         "quantity"),
        ("pnl", {"contract": "inverse", "side": "long", "quantity": 0, "entry_price": 1, "exit_price": 1},
         "quantity"),
        ("pnl", {"contract": "inverse", "side": "long", "quantity": 1, "entry_price": -5, "exit_price": 1},
         "entry_price"),
        ("pnl", {"contract": "spot", "side": "long", "quantity": 1, "entry_price": 1, "exit_price": 1},
         "contract"),
        ("pnl", {"contract": "inverse", "side": "long", "quantity": "abc", "entry_price": 1, "exit_price": 1},
         "quantity"),
        ("pnl", {"contract": "inverse", "side": "long", "quantity": "1e999999", "entry_price": 1, "exit_price": 1},
         "quantity"),
        ("liquidation-price", {"contract": "linear", "side": "long", "entry_price": 1, "leverage": 0,
                               "maintenance_margin_rate": "0.005"}, "leverage"),
        ("liquidation-price", {"contract": "linear", "side": "long", "entry_price": 1, "leverage": 5000,
                               "maintenance_margin_rate": "0.005"}, "leverage"),
        ("lending-rate", {"utilization": "1.5", "optimal_utilization": "0.8", "base_rate": 0, "slope1": "0.06",
                          "slope2": "1.5", "fee": "0.1"}, "utilization"),
        ("lending-rate", {"utilization": "0.5", "optimal_utilization": "1", "base_rate": 0, "slope1": "0.06",
                          "slope2": "1.5", "fee": "0.1"}, "optimal_utilization"),
        ("funding", {"premium_index": "0.001", "interest_rate": "0.0001", "position_value": "1"}, "side"),
        ("adl-rank", {"contract": "inverse", "side": "long", "entry_price": 10000, "mark_price": 10000,
                      "bankruptcy_price": 10000}, "bankruptcy_price"),
        ("clawback", {"margin_call_loss": -1, "insurance_fund": 0, "net_profits": []}, "margin_call_loss"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_input_is_a_4xx_naming_the_field(client, path, body, field):
    response = post(client, path, body)

    assert 400 <= response.status_code < 500, response.content
    data = response.json()
    assert data["detail"]
    assert field in [e["field"] for e in data["errors"]], data


def test_malformed_json_is_a_400_in_the_same_shape(client):
    response = client.post("/api/v1/calc/pnl", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}
