"""Every worked example of MECHANICS.md section 8 for sections 0-2, as named table cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.engine.funding import calculate_funding_rate, index_increment, interest_component
from exchange_edu.engine.insurance import plan_clawback
from exchange_edu.engine.liquidation import (
    inverse_isolated_bankruptcy_price,
    inverse_isolated_liquidation_price,
)
from exchange_edu.engine.margin import initial_margin
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.pricing import delivery_price, fair_price_mark, premium_index
from exchange_edu.engine.rules import V1, RiskLimitSteps, funding_cap
from exchange_edu.engine.types import ContractKind, Market

D = Decimal
OKEX_BTC = Market("BTC0928", "BTC", ContractKind.INVERSE, D(100), "BTC")
XBTUSD = Market("XBTUSD", "BTC", ContractKind.INVERSE, D(1), "BTC", tick_size=D("0.5"))


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def q(x: Decimal, places: str) -> Decimal:
    return x.quantize(D(places))


@pytest.mark.parametrize(("name", "size", "expected"), [
    ("E1 long 100 x $100 contracts 400 -> 440 earns 2.272727 BTC", D(100), D("2.272727")),
    ("E1 the same short loses 2.272727 BTC", D(-100), D("-2.272727")),
])
def test_e1_inverse_pnl(name, size, expected):
    # pnl = side x n x face x (1/E - 1/X) = 100 x 100 x (1/400 - 1/440) = 2.2727...
    assert q(OKEX_BTC.pnl(size, D(400), D(440)), "0.000001") == expected


@pytest.mark.parametrize(("name", "leverage", "expected"), [
    ("E2 100 contracts at 400, 10x -> 2.5 BTC", D(10), D("2.5")),
    ("E2 100 contracts at 400, 20x -> 1.25 BTC", D(20), D("1.25")),
])
def test_e2_fixed_margin(name, leverage, expected):
    # margin = n x face / (E x L) = 10,000 / 400 / L
    assert initial_margin(OKEX_BTC, D(100), D(400), leverage) == expected


def test_e4_delivery_price_is_mean_of_last_hour():
    samples = [D(x) for x in (7510, 7495, 7480, 7470, 7485, 7500)]
    # (7510 + 7495 + 7480 + 7470 + 7485 + 7500) / 6 = 44,940 / 6 = 7,490
    assert delivery_price(sum(samples), len(samples), D(0)) == D("7490.00")


def test_e5_clawback_rate_ten_percent():
    # shortfall = 150 - 17 = 133; rate = 133 / 1,330 = 10%; the +5 BTC account pays 0.5 BTC
    profits = {"lucky": D(5), "everyone_else": D(1325)}
    plan = plan_clawback(D(150), D(17), profits, "BTC")
    assert plan.rate == D("0.1")
    assert plan.amounts["lucky"] == D("0.5")
    assert plan.covered == D(17)  # the whole fund is used: fund -> 0
    assert sum(plan.amounts.values()) == plan.shortfall == D(133)


@pytest.mark.parametrize(("name", "premium", "expected"), [
    ("E7 P 0.02% within the clamp -> F = I = 0.01%", D("0.0002"), D("0.0001")),
    ("E7 P 0.30% -> F = 0.30% - 0.05% = 0.25%", D("0.003"), D("0.0025")),
    ("E7 P -0.10% -> F = -0.10% + 0.05% = -0.05%", D("-0.001"), D("-0.0005")),
])
def test_e7_funding_rate(name, premium, expected):
    interest = interest_component(D("0.0006"), D("0.0003"), 3)
    assert interest == D("0.0001")
    assert calculate_funding_rate(premium, interest, D("0.0005"), funding_cap(V1)) == expected


def test_e7_cap_is_75_percent_of_im_minus_mm():
    # 0.75 x (1% - 0.5%) = 0.375%
    assert funding_cap(V1) == D("0.00375")
    assert calculate_funding_rate(D("0.05"), D("0.0001"), D("0.0005"), funding_cap(V1)) == D("0.00375")


def test_e8_long_pays_funding():
    # 10,000 contracts at mark 10,000 = 1 XBT; F = 0.01% -> 0.0001 XBT
    assert D(10000) * index_increment(XBTUSD, D("0.0001"), D(10000)) == D("0.0001")


def test_e9_fair_price_mark():
    # basis = 0.03% x 4h / 8h = 0.015%; mark = 10,000 x 1.00015
    assert fair_price_mark(D(10000), D("0.0003"), 4 * 3600, 8 * 3600) == D("10001.50")


def test_e10_premium_index():
    # [max(0, 10,012 - 10,000) - max(0, 10,000 - 10,015)] / 10,000 = 0.12%
    assert premium_index(D(10012), D(10015), D(10000), D(10000)) == D("0.0012")


@pytest.mark.parametrize(("name", "fn", "expected"), [
    ("E11 bankruptcy of a 100x long at 10,000: 10,000 x 100/101",
     lambda: inverse_isolated_bankruptcy_price(D(10000), D(100), is_long=True), D("9900.99")),
    ("E11 liquidation of a 100x long, MMR 0.5% on entry value: 10,000 / 1.005",
     lambda: inverse_isolated_liquidation_price(D(10000), D(100), D("0.005"), is_long=True), D("9950.25")),
])
def test_e11_bankruptcy_and_liquidation_price(name, fn, expected):
    assert q(fn(), "0.01") == expected


@pytest.mark.parametrize(("name", "sell_at", "expected"), [
    ("E12 engine sells the 100x long above B: fund gains", D(9940), D("0.003964")),
    ("E12 engine sells below B: fund pays", D(9850), D("-0.005228")),
])
def test_e12_insurance_fund_delta(name, sell_at, expected):
    b = inverse_isolated_bankruptcy_price(D(10000), D(100), is_long=True)
    # IF delta = Q x (1/B - 1/F), the engine's PnL on the long it took over at B
    assert q(XBTUSD.pnl(D(10000), b, sell_at), "0.000001") == expected


def test_e14_risk_limit_step():
    # 230 XBT: ceil((230 - 200) / 150) = 1 step -> MM 1.0%, IM 1.5%
    risk = RiskLimitSteps()
    assert risk.steps(D(230)) == 1
    assert risk.rates(D(230), D(100)) == (D("0.015"), D("0.010"))
