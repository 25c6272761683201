"""v3 (Backpack-style lending pool): worked examples of MECHANICS 4 (E22-E23), pool accounting,
realization neutrality, lender protection, throttles, and the lesson story."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import deposit, new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.lending import KinkedCurve, PoolRates, calculate_pool_rates, pending_interest
from exchange_edu.engine.numbers import ZERO, engine_context
from exchange_edu.engine.realization import hourly_rate_from_apy, interest_for
from exchange_edu.engine.rules import V3
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import SYS_FEES, SYS_LENDING, evolve
from exchange_edu.engine.unified import account_risk

from .helpers import Side, limit, market_order, place

D = Decimal
PERP = "BTC-PERP"


@pytest.mark.parametrize(("name", "u", "borrow", "lend"), [
    ("E22 below the kink: 6% x 0.5 / 0.8 = 3.75%; lend 3.75% x 0.5 x 0.9", "0.5", "0.0375", "0.016875"),
    ("E22 above the kink: 6% + 150% x 0.1 / 0.2 = 81%", "0.9", "0.81", "0.6561"),
])
def test_e22_kinked_curve_defaults(name, u, borrow, lend):
    rates = calculate_pool_rates(KinkedCurve(), D(u))
    assert rates.borrow_rate == D(borrow)
    assert rates.lend_rate == D(lend)


def test_e23_interest_on_unrealized_pnl():
    with engine_context():
        rates = PoolRates(D("0.5"), D("0.10"), D("0.05"))  # borrow 10%, U 50%, fee 0 -> lend 5%
        # loss: -1,000 x 10% / 8,760 = -0.011416; profit: 1,000 x 5% / 8,760 = 0.005708
        assert interest_for(D(-1000), rates, D(8760)).quantize(D("0.000001")) == D("-0.011416")
        assert interest_for(D(1000), rates, D(8760)).quantize(D("0.000001")) == D("0.005708")
        # 10% APY -> 0.00109% per hour
        assert (hourly_rate_from_apy(D("0.10")) * 100).quantize(D("0.00001")) == D("0.00109")


def exchange(rules=V3, **deposits):
    return new_exchange(rules, index_price=D(20000), index_prices={"BTC": D(20000), "ETH": D(1500)},
                        deposits={k: D(v) for k, v in deposits.items()})


def tick(state, rules, seq, now, btc, orders=()):
    result = apply_tick(state, rules, TickInput(seq, now, {"BTC": D(btc), "ETH": D(1500)}, tuple(orders)))
    assert all(v == 0 for v in totals_by_asset(result.entries).values())
    return apply_result(state, result), result


def effective(state, account, asset="USDC"):
    with engine_context():
        acct = state.account(account)
        return acct.balance(asset) + pending_interest(state.pools[asset], acct, asset)


def test_story_idle_usdc_earns_while_a_losing_position_pays():
    # Ida leaves 100,000 USDC idle: auto-lend puts it in the pool. Leo posts 0.5 BTC and no USDC,
    # buys 1 BTC of the perpetual: the taker fee already makes his USDC balance a borrow.
    s = deposit(exchange(ida=100000, mm=10 ** 6), "leo", "BTC", D("0.5"))
    s = place(s, V3, limit("mm", PERP, Side.SELL, 1000, 20000))
    s = place(s, V3, market_order("leo", PERP, Side.BUY, 1000))
    assert s.account("leo").balance("USDC") < 0
    # BTC slips to 19,000 and an hour passes: Leo's $1,000 loss is realized into USDC (auto-realize)
    # and borrowed from the pool; at the next accrual it pays the borrow rate and Ida earns.
    s, first = tick(s, V3, 1, 3600, 19000)
    assert any(e.kind is EventKind.PNL_AUTO_REALIZED and e.account == "leo" for e in first.events)
    assert s.account("leo").balance("USDC") < D(-1000)
    s, second = tick(s, V3, 2, 7200, 19000)
    rates = next(e for e in second.events if e.kind is EventKind.POOL_RATES and e.inputs["asset"] == "USDC")
    assert rates.numbers["borrow_rate"] > rates.numbers["lend_rate"] > 0
    assert effective(s, "ida") > 100000
    assert effective(s, "leo") < s.account("leo").balance("USDC")
    # lenders get the borrowers' interest less the exchange's fee, which sys:fees collects
    assert s.account(SYS_FEES).balance("USDC") > 0
    pool = s.pools["USDC"]
    assert abs(pool.borrowed - (-effective(s, "leo"))) < D("1e-18")


def _realization_run(mode, prices):
    rules = V3.with_overrides({"lending.realization": mode, "lending.slope1": "0", "lending.slope2": "0"})
    s = deposit(exchange(rules, ida=100000, mm=10 ** 6, leo=3000), "leo", "BTC", D("0.1"))
    s = place(s, rules, limit("mm", PERP, Side.SELL, 1000, 20000))
    s = place(s, rules, market_order("leo", PERP, Side.BUY, 1000))
    for i, p in enumerate(prices):
        s, _ = tick(s, rules, i + 1, 1800 * (i + 1), p)
    with engine_context():
        risk = account_risk(s, rules, "leo")
        return risk.tav, s.account("leo").balance("USDC")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(18000, 22000), min_size=1, max_size=5))
def test_realization_is_equity_neutral_before_interest(prices):
    tav_auto, usdc_auto = _realization_run("auto", prices)
    tav_virtual, usdc_virtual = _realization_run("virtual", prices)
    # only the split between the USDC balance and uPnL differs (one unit of rounding per realization)
    assert abs(tav_auto - tav_virtual) <= D("0.00001")
    if len(prices) >= 2:  # realization happens at the accrual ticks (every 2nd, 3,600 s apart)
        assert usdc_auto != usdc_virtual or prices[1::2][-1] == 20000  # the last realization


def test_a_bankrupt_borrower_never_leaves_lenders_short():
    s = deposit(exchange(ida=100000, mm=10 ** 6), "bo", "BTC", D("0.2"))  # $4,000 of BTC
    s = place(s, V3, limit("mm", PERP, Side.SELL, 3000, 20000))
    s = place(s, V3, market_order("bo", PERP, Side.BUY, 3000))  # 3 BTC long on $4,000 of BTC
    s, _ = tick(s, V3, 1, 3600, 19500)  # realized loss: a USDC borrow
    lent_before = effective(s, "ida")
    assert s.account("bo").balance("USDC") < 0
    # BTC gaps 25% lower: the position AND the collateral collapse; the account is bankrupt
    s, result = tick(s, V3, 2, 3660, 14600)
    kinds = {e.kind for e in result.events if e.account == "bo"}
    assert EventKind.LIQUIDATION in kinds
    assert s.account("bo").balance("USDC") >= 0  # the debt was repaid (fund, then exchange)
    assert s.pools["USDC"].borrowed < D("1e-20")  # (34-digit residue of the scaled sums)
    assert effective(s, "ida") >= lent_before  # the lender lost nothing
    assert s.account(SYS_LENDING).balance("USDC") >= -D("0.000001")


def test_new_borrowing_pauses_near_full_utilization():
    s = deposit(exchange(ida=1000, mm=10 ** 6), "bo", "BTC", D(1))
    pool = s.pools["USDC"]
    # 93% of the pool is borrowed: above the 92% throttle threshold
    s = evolve(s, pools={"USDC": evolve(pool, borrowed_scaled=pool.lent_scaled * D("0.93"))})
    s = place(s, V3, limit("mm", PERP, Side.SELL, 100, 20000))
    r = place_order(s, V3, market_order("bo", PERP, Side.BUY, 100), s.now)
    assert r.rejected is not None
    assert "new borrowing is paused" in r.rejected


def test_pool_state_reaches_the_delta_and_interest_is_lazy():
    s = exchange(ida=5000)
    # nobody borrows: U = 0, no interest, the accrual only moves the clock
    s, result = tick(s, V3, 1, 3600, 20000)
    assert "USDC" in result.delta.pools
    assert s.pools["USDC"].lend_index == 1
    assert not [e for e in result.entries if e.kind == "interest"]
    assert s.account("ida").balance("USDC") == 5000
    assert pending_interest(s.pools["USDC"], s.account("ida"), "USDC") == ZERO
