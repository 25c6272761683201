"""v2 (FTX-style unified account): worked examples of MECHANICS 3 (E16-E20) and the tiers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.engine.backstop import liquidate_accounts
from exchange_edu.engine.collateral import collateral_value, size_weight
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.funding import next_rate
from exchange_edu.engine.genesis import deposit, new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.rules import V2
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.subrules import FTX_WEIGHTS, CollateralRules
from exchange_edu.engine.types import SYS_BACKSTOP, SYS_INSURANCE, MarginMode, Position, evolve
from exchange_edu.engine.unified import account_risk
from exchange_edu.engine.work import Work

from .helpers import Side, limit, market_order, place

D = Decimal
BTC, ETH = "BTC-PERP", "ETH-PERP"


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def exchange(**deposits_usd):
    return new_exchange(V2, index_price=D(20000), index_prices={"BTC": D(20000), "ETH": D(1500)},
                        deposits={k: D(v) for k, v in deposits_usd.items()})


def with_position(state, account, market, coins, entry):
    """Put a position straight into the state (worked examples: no fees, no book)."""
    m = state.markets[market]
    contracts = D(coins) / m.contract_size
    pos = Position(account, market, contracts, D(entry), MarginMode.CROSS, D(20))
    ms = state.market_states[market]
    oi = ms.open_interest + (contracts if contracts > 0 else 0)
    return evolve(state, positions={**state.positions, (account, market): pos},
                  market_states={**state.market_states, market: evolve(ms, open_interest=oi)})


def at_mark(state, market, mark):
    ms = state.market_states[market]
    return evolve(state, market_states={**state.market_states, market: evolve(ms, mark_price=D(mark),
                                                                                   index_price=D(mark))})


def test_e16_collateral_weight_and_the_sqrt_size_discount():
    rules = CollateralRules(FTX_WEIGHTS)
    # 1 BTC: min(0.975, 1.1 / (1 + 0.002 x 1)) = 0.975 -> at 20,000 worth 19,500
    assert size_weight(rules, "BTC", D(1)) == D("0.975")
    # 10,000 BTC: 1.1 / (1 + 0.002 x 100) = 0.91666..: a large balance counts for less
    assert size_weight(rules, "BTC", D(10000)).quantize(D("0.0001")) == D("0.9167")
    # initial weight for opening positions: 0.95; a negative balance counts fully
    assert size_weight(rules, "BTC", D(1), "initial") == D("0.95")
    assert size_weight(rules, "BTC", D(-1)) == 1
    s = exchange()
    assert collateral_value(s, rules, {"USD": D(19250), "BTC": D(1)}) == D(38750)


def test_e17_margin_fraction_over_two_markets():
    # wallet: $19,250 + 1 BTC (19,500 after weight) = collateral 38,750
    s = deposit(deposit(exchange(), "ann", "USD", D(19250)), "ann", "BTC", D(1))
    # BTC-PERP +2 from 20,625 (uPnL -1,250), ETH-PERP -20 from 1,500: notional 40,000 + 30,000
    s = with_position(with_position(s, "ann", BTC, 2, 20625), "ann", ETH, -20, 1500)
    risk = account_risk(s, V2, "ann")
    assert risk.upnl == D(-1250)
    assert risk.notional == D(70000)
    # MF = (38,750 - 1,250) / 70,000 = 53.57%
    assert risk.margin_fraction.quantize(D("0.0001")) == D("0.5357")


@pytest.mark.parametrize(("name", "coins", "imf", "mmf"), [
    ("E18 small: the 20x base IMF and the 3% MMF base win", 2, D("0.05"), D("0.03")),
    ("E18 100 BTC: 0.002 x 10 = 2% < 5%; MMF 0.6 x 2% = 1.2% < 3%", 100, D("0.05"), D("0.03")),
    ("E18 10,000 BTC: IMF 0.002 x 100 = 20%, MMF 12%", 10000, D("0.2"), D("0.12")),
])
def test_e18_position_imf_grows_with_sqrt_size(name, coins, imf, mmf):
    s = exchange()
    m = s.markets[BTC]
    rates = V2.margin.risk.position_rates(m, D(coins) / m.contract_size, D(20000), D(20))
    assert rates == (imf, mmf)


@pytest.mark.parametrize(("name", "mark", "tier"), [
    ("E19 above 9,793.81 the account is healthy", "9793.82", None),
    ("E19 below 9,793.81: MF < MMF 3%, on-book chunks", "9793.80", "book"),
    ("E19 below 9,644.67: MF < ACMF 1.5%, backstop", "9644.66", "backstop"),
])
def test_e19_liquidation_tiers(name, mark, tier):
    # $1,000, long 2 BTC at 10,000 (20x): MF = (1,000 + 2 (P - 10,000)) / 2P
    s = with_position(exchange(bob=1000), "bob", BTC, 2, 10000)
    s = at_mark(s, BTC, mark)
    work = Work(s, V2, s.now)
    checks = liquidate_accounts(work, V2, s)
    stages = [e.inputs["stage"] for e in work.events if e.kind is EventKind.ACCOUNT_LIQUIDATION]
    assert stages == ([] if tier is None else [tier])
    assert len(checks) == (0 if tier is None else 1)


def test_e20_funding_is_the_twap_premium_over_24():
    # the perp 0.24% over the index on average for the hour -> 0.01% paid this hour
    assert next_rate(V2, D("0.0024")) == D("0.0001")


def test_v2_lists_perpetuals_and_quarterlies_for_btc_and_eth():
    s = exchange()
    kinds = sorted((m.underlying, m.expiry_kind.value) for m in s.markets.values())
    assert kinds == [("BTC", "perpetual"), ("BTC", "quarterly"), ("ETH", "perpetual"), ("ETH", "quarterly")]


def test_below_imf_an_account_may_only_reduce():
    s = exchange(ann=1000, mm=10 ** 7)
    s = place(s, V2, limit("mm", BTC, Side.SELL, 5000, 20000))
    s = place(s, V2, limit("mm", BTC, Side.BUY, 5000, 19990))
    # 1 BTC = $20,000 with $1,000: MF 5% = IMF: the order fits (fees aside) ...
    s = place(s, V2, market_order("ann", BTC, Side.BUY, 900))
    from exchange_edu.engine.trading import place_order
    more = place_order(s, V2, market_order("ann", BTC, Side.BUY, 200), s.now)
    assert more.rejected is not None
    assert "may only reduce" in more.rejected
    less = place_order(s, V2, market_order("ann", BTC, Side.SELL, 300), s.now)
    assert less.rejected is None


def test_collateral_in_btc_backs_usd_positions():
    s = deposit(exchange(mm=10 ** 7), "cat", "BTC", D("0.1"))  # $1,950 at weight 0.975
    s = place(s, V2, limit("mm", ETH, Side.SELL, 1000, 1500))
    s = place(s, V2, market_order("cat", ETH, Side.BUY, 1000))  # 10 ETH = $15,000
    assert s.position("cat", ETH).size == 1000
    assert s.account("cat").balance("USD") < 0  # the fee is owed in USD, backed by the BTC


def _tick(state, seq, now, btc, orders=()):
    result = apply_tick(state, V2, TickInput(seq, now, {"BTC": D(btc), "ETH": D(1500)}, tuple(orders)))
    assert all(v == 0 for v in totals_by_asset(result.entries).values())
    return apply_result(state, result), result


def test_backstop_takes_the_rest_and_the_fund_keeps_a_third_of_the_equity():
    s = with_position(exchange(bob=1000), "bob", BTC, 2, 10000)
    s = at_mark(s, BTC, 10000)
    fund = s.account(SYS_INSURANCE).balance("USD")
    # 9,600: MF = (1,000 - 800) / 19,200 = 1.04% < ACMF 1.5% -> close 1 - 1.04/1.5 = 30.6% to the BLP
    s, result = _tick(s, 1, 60, 9600)
    blp = [e for e in result.events if e.kind is EventKind.BACKSTOP]
    assert blp
    assert s.position(SYS_BACKSTOP, BTC).size > 0
    assert s.account(SYS_INSURANCE).balance("USD") > fund
    # closing at the zero price keeps MF where it was; the account keeps trading down in steps
    assert 0 < s.position("bob", BTC).size < 2000


def test_a_bankrupt_account_is_taken_over_and_the_backstop_buys_at_the_mark():
    s = with_position(exchange(bob=1000), "bob", BTC, 2, 10000)
    s = at_mark(s, BTC, 10000)
    s, result = _tick(s, 1, 60, 9000)  # TAV = 1,000 - 2,000 < 0
    assert any(e.kind is EventKind.LIQUIDATION for e in result.events)
    assert s.position("bob", BTC) is None
    assert s.account("bob").balance("USD") == 0
    assert s.position(SYS_BACKSTOP, BTC).size == 2000
    # the fund paid the gap between the bankruptcy price (9,500) and the mark (9,000): $1,000
    assert s.account(SYS_INSURANCE).balance("USD") == V2.insurance_seed - 1000


# -- MECHANICS 3.5 details: random on-book chunks, the last resort pro rata ------------------


@pytest.mark.parametrize(("name", "seconds", "probability"), [
    ("no time passed: no chunk", 0, D(0)),
    ("one second: 1/6", 1, D(1) / 6),
    ("six seconds: 1 - (5/6)^6 = 66.5%", 6, 1 - (D(5) / 6) ** 6),
    ("a 60 s tick almost surely sends one", 60, 1 - (D(5) / 6) ** 60),
])
def test_chunk_probability_scales_with_the_tick_length(name, seconds, probability):
    from exchange_edu.engine.backstop import chunk_probability

    assert abs(chunk_probability(V2.liquidation.tiers, seconds) - probability) < D("1e-25")  # the table is 28-digit


def test_incremental_chunks_are_5_to_15_percent_and_deterministic_for_a_seed():
    import random

    from exchange_edu.engine.backstop import chunk_quantity

    tiers = V2.liquidation.tiers
    size, mark, cs = D(100000), D(20000), D("0.001")  # 100 BTC = $2m: the $1,000 floor does not bind
    shares = []
    for seed in range(200):
        qty = chunk_quantity(tiers, D("0.1"), size, mark, cs, random.Random(seed))
        assert qty == chunk_quantity(tiers, D("0.1"), size, mark, cs, random.Random(seed))
        shares.append(qty / size)
    assert all(D("0.05") <= s <= D("0.15") for s in shares)
    assert min(shares) < D("0.06")
    assert max(shares) > D("0.14")
    # a small position: 10% of 0.3 BTC = $600 < $1,000 -> at least $1,000 = 50 contracts of 0.001 BTC
    assert chunk_quantity(tiers, D("0.1"), D(-300), mark, cs, random.Random(1)) == 50
    # smaller than $1,000 altogether: the whole position
    assert chunk_quantity(tiers, D("0.1"), D(40), mark, cs, random.Random(1)) == 40


def _liquidating_tick(seed):
    s = with_position(exchange(bob=1000), "bob", BTC, 2, 10000)
    s = at_mark(s, BTC, "9793.80")  # E19: MF < MMF 3%, above ACMF: the on-book tier
    result = apply_tick(s, V2, TickInput(1, 60, {"BTC": D("9793.80"), "ETH": D(1500)}, seed=seed))
    return [(e.numbers, e.inputs) for e in result.events if e.kind is EventKind.LIQUIDATION_FILL]


def test_on_book_chunk_through_apply_tick_is_seeded_by_the_tick():
    chunks = _liquidating_tick(7)
    assert chunks == _liquidating_tick(7)  # same tick, same draws
    (numbers, inputs), = chunks
    assert D("0.05") <= inputs["share"] <= D("0.15")  # of 2,000 contracts
    assert D(1) <= inputs["through_bps"] <= D(5)
    assert numbers["contracts"] < 0  # the long sells
    shares = {_liquidating_tick(seed)[0][1]["share"] for seed in range(5)}
    assert len(shares) > 1


@pytest.mark.parametrize(("name", "sizes", "quantity", "expected"), [
    ("3.5 last resort: 30 / 20 / 10 absorb 12 pro rata", {"a": 30, "b": 20, "c": 10}, 12, {"a": 6, "b": 4, "c": 2}),
    ("leftover contracts by largest remainder", {"a": 30, "b": 20, "c": 10}, 7, {"a": 4, "b": 2, "c": 1}),
    ("more than they hold: everyone closed", {"a": 3, "b": 2}, 9, {"a": 3, "b": 2}),
])
def test_pro_rata_split_over_opposing_positions(name, sizes, quantity, expected):
    from exchange_edu.engine.insurance import pro_rata

    split = pro_rata([(a, D(q)) for a, q in sizes.items()], D(quantity))
    assert split == {a: D(q) for a, q in expected.items()}
    assert sum(split.values()) == min(D(quantity), sum(D(q) for q in sizes.values()))


def _inventory_against(shorts, inventory):
    """The liquidation engine holds a long of `inventory` BTC-PERP contracts at 20,000; `shorts`
    are the opposing accounts' short contracts."""
    s = exchange(**{a: 10 ** 6 for a in shorts})
    m = s.markets[BTC]
    for a, q in shorts.items():
        s = with_position(s, a, BTC, -D(q) * m.contract_size, 20000)
    s = with_position(s, "sys:liquidation", BTC, D(inventory) * m.contract_size, 20000)
    return s


def test_the_last_resort_closes_the_largest_opposing_positions_pro_rata():
    from exchange_edu.engine.insurance import auto_deleverage

    s = _inventory_against({"a": 30, "b": 20, "c": 10, "d": 0}, 12)
    work = Work(s, V2, s.now)
    assert auto_deleverage(work, V2, BTC, D(12)) == 12
    sizes = {a: work.position(a, BTC).size for a in "abc"}
    assert sizes == {"a": -24, "b": -16, "c": -8}  # closed 6 / 4 / 2
    adl = {e.account: e.numbers["contracts"] for e in work.events if e.kind is EventKind.ADL}
    assert adl == {"a": 6, "b": 4, "c": 2}
    assert all(v == 0 for v in totals_by_asset(work.entries).values())


def test_the_last_resort_takes_the_top_ten_first_then_the_next():
    from exchange_edu.engine.insurance import auto_deleverage

    shorts = {f"t{i:02d}": 100 - i for i in range(12)}  # 100, 99, ..., 89
    s = _inventory_against(shorts, 1000)
    work = Work(s, V2, s.now)
    top10 = sum(100 - i for i in range(10))  # 955: the ten largest are closed completely
    assert auto_deleverage(work, V2, BTC, D(1000)) == 1000
    assert all(work.position(f"t{i:02d}", BTC) is None for i in range(10))
    # the other 45 contracts come pro rata from the next group: 90 and 89 -> 23 and 22
    assert 1000 - top10 == 45
    assert work.position("t10", BTC).size == -(90 - 23)
    assert work.position("t11", BTC).size == -(89 - 22)
