"""DeFi pool (GMX v2-like): worked examples E26-E28 of MECHANICS 8, LP shares, fills against the
pool, skew funding in the same dollars, liquidation and ADL against the pool, the story "the pool's
LPs lose what traders win", and the bots' orders on the preset."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import deposit, new_exchange, set_account_settings
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.pool import (
    borrow_rate_per_second,
    kink_borrow_rate,
    lp_deposit,
    lp_withdraw,
    pool_value,
    price_impact_usd,
    share_supply,
    skew_funding_rates,
)
from exchange_edu.engine.rules import DEFI_POOL
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.subrules import PoolRules
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import SYS_POOL, SYS_POOL_LP

from .helpers import Side, balances_sum_to_zero, limit, market_order, run_crowd

D = Decimal
BTC = "BTC-PERP"
QUIET = DEFI_POOL.with_overrides({"pool.seed_liquidity": "0", "pool.impact_factor_negative": "0",
                                  "pool.impact_factor_positive": "0", "fees.taker_rate": "0"})


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def test_e26_skew_funding_the_smaller_side_receives_the_same_dollars():
    # factor 1/50,000 per s, OI long 150k / short 50k: longs pay 0.001%/s, shorts receive 0.003%/s
    rate_long, rate_short = skew_funding_rates(D(1) / 50000, D(1), D(150000), D(50000))
    assert rate_long == D("0.00001")
    assert rate_short == D("-0.00003")
    assert rate_long * 150000 + rate_short * 50000 == 0
    assert skew_funding_rates(D(1) / 50000, D(1), D(150000), D(0)) == (0, 0)  # nobody to receive


@pytest.mark.parametrize(("name", "usage", "per_year"), [
    ("E27 kink below the optimum: 50% x 0.6 = 30%/yr", "0.6", "0.3"),
    ("E27 kink above: 45% + (130% - 50%) x 0.15 / 0.25 = 93%/yr", "0.9", "0.93"),
])
def test_e27_kink_borrowing(name, usage, per_year):
    assert kink_borrow_rate(D(usage), D("0.75"), D("0.5"), D("1.3")) == D(per_year)


def test_e27_curve_borrowing_is_15_77_percent_a_year_at_80_percent_use():
    per_second = borrow_rate_per_second(PoolRules(borrow_model="curve"), D("0.8"))
    assert per_second == D("5E-9")
    assert (per_second * 31536000).quantize(D("0.0001")) == D("0.1577")


def test_e28_price_impact_from_the_imbalance():
    f = D("0.01") / 50000
    assert price_impact_usd(D(0), D(50000), f, f, D(2), D(2)) == D(-500)
    assert price_impact_usd(D(50000), D(25000), f, f, D(2), D(2)) == D(375)
    # crossing the balance: +f x 50,000^2 - f x 10,000^2 = 500 - 20 = 480
    assert price_impact_usd(D(50000), D(-10000), f, f, D(2), D(2)) == D(480)


def exchange(rules=DEFI_POOL, **deposits):
    s = new_exchange(rules, index_price=D(10000), index_prices={"BTC": D(10000), "ETH": D(3000)},
                     deposits={k: D(v) for k, v in deposits.items()})
    for a in deposits:
        s = set_account_settings(s, a, BTC, leverage=D(10))
    return s


def order(s, rules, o):
    result = place_order(s, rules, o, s.now)
    assert all(v == 0 for v in totals_by_asset(result.delta.entries).values())
    return apply_result(s, result), result


def test_lp_shares_are_priced_at_the_pool_value():
    s = exchange(QUIET, lp=100000, lp2=50000)
    r = lp_deposit(s, QUIET, "lp", D(100000), 0)
    s = apply_result(s, r.delta)
    assert r.shares == D(100000)
    assert share_supply(s, QUIET) == D(100000)
    assert s.account(SYS_POOL).balance("USDC") == D(100000)
    # the pool gains 10% (a trader's loss): a new LP's 50,000 buy 50,000 / 1.1 shares
    s = deposit(s, SYS_POOL, "USDC", D(10000))
    r = lp_deposit(s, QUIET, "lp2", D(50000), 0)
    assert r.shares == D("45454.545454")
    s = apply_result(s, r.delta)
    # redeeming them returns (almost) the 50,000: shares are floored, payouts too
    r = lp_withdraw(s, QUIET, "lp2", r.shares, 0)
    assert D("49999.99") < r.amount <= D(50000)
    assert not lp_withdraw(s, QUIET, "lp2", D(10 ** 9), 0).accepted


def test_market_orders_fill_at_the_oracle_plus_impact_and_limits_are_rejected():
    s = exchange(ann=100000)
    s, r = order(s, DEFI_POOL, market_order("ann", BTC, Side.BUY, 1000))  # 1 BTC = $10,000 of skew
    fill = next(e for e in r.delta.events if e.kind is EventKind.POOL_FILL)
    # impact = -1e-7 x 10,000^2 = -$10 -> price 10,000 x (1 + 10 / 10,000) = 10,010
    assert fill.numbers["impact_usd"] == D(-10)
    assert fill.numbers["price"] == D(10010)
    assert s.position(SYS_POOL, BTC).size == -1000
    assert s.position("ann", BTC).entry_price == D(10010)
    rejected = place_order(s, DEFI_POOL, limit("ann", BTC, Side.BUY, 10, 9000), s.now)
    assert "limit orders are not accepted" in rejected.rejected


def test_the_reserve_caps_open_interest():
    s = exchange(QUIET.with_overrides({"pool.seed_liquidity": "10000"}), ann=10 ** 6)
    r = place_order(s, QUIET.with_overrides({"pool.seed_liquidity": "10000"}),
                    market_order("ann", BTC, Side.BUY, 1000), s.now)  # $10,000 > 95% of 10,000
    assert "reserve" in r.rejected


def test_skew_funding_moves_the_same_dollars_and_borrow_goes_to_the_pool():
    rules = DEFI_POOL.with_overrides({"pool.impact_factor_negative": "0", "pool.impact_factor_positive": "0"})
    s = exchange(rules, ann=10 ** 6, bob=10 ** 6)
    s, _ = order(s, rules, market_order("ann", BTC, Side.BUY, 15000))  # 15 BTC = $150k long
    s, _ = order(s, rules, market_order("bob", BTC, Side.SELL, 5000))  # $50k short
    pool_before = s.account(SYS_POOL).balance("USDC")
    result = apply_tick(s, rules, TickInput(1, 3600, {"BTC": D(10000), "ETH": D(3000)}))
    s = apply_result(s, result)
    ev = next(e for e in result.events if e.kind is EventKind.POOL_FUNDING and e.market == BTC)
    n = ev.numbers
    # rate_small = rate_large x OI_large / OI_small
    assert n["short_rate_per_second"] == -n["long_rate_per_second"] * 3
    ms = s.market_states[BTC]
    long_owes = s.position("ann", BTC).size * (ms.funding_index - s.position("ann", BTC).funding_snapshot)
    short_owes = s.position("bob", BTC).size * (ms.funding_index_short - s.position("bob", BTC).funding_snapshot)
    borrow = n["long_borrow_per_second"] * D(150000) * 3600  # the smaller side pays no borrow fee
    assert abs(long_owes + short_owes - borrow) < D("1e-25")  # funding nets to zero; borrow is the LPs'
    assert s.account(SYS_POOL).balance("USDC") - pool_before == borrow.quantize(D("0.000001"), rounding="ROUND_DOWN")


def test_a_failed_position_is_closed_against_the_pool_which_absorbs_the_shortfall():
    s = exchange(QUIET.with_overrides({"pool.seed_liquidity": "1000000"}), ann=2000)
    rules = QUIET.with_overrides({"pool.seed_liquidity": "1000000"})
    s, _ = order(s, rules, market_order("ann", BTC, Side.BUY, 1000))  # 1 BTC at 10x: margin $1,000
    pool_before = pool_value(s, rules)
    result = apply_tick(s, rules, TickInput(1, 60, {"BTC": D(8800), "ETH": D(3000)}))  # a 12% gap
    s = apply_result(s, result)
    liq = next(e for e in result.events if e.kind is EventKind.LIQUIDATION)
    assert liq.numbers["pool_absorbed"] == D(200)  # 1,000 - 1,200
    assert s.position("ann", BTC) is None
    assert s.account("ann").balance("USDC") == D(1000)  # lost exactly the margin
    assert pool_value(s, rules) == pool_before + 1000  # the LPs keep the collateral


def test_adl_when_traders_pnl_is_too_large_for_the_pool():
    rules = QUIET.with_overrides({"pool.seed_liquidity": "20000", "pool.reserve_factor": "1"})
    s = exchange(rules, ann=10000)
    s, _ = order(s, rules, market_order("ann", BTC, Side.BUY, 1500))  # 1.5 BTC long
    result = apply_tick(s, rules, TickInput(1, 60, {"BTC": D(22000), "ETH": D(3000)}))  # +18,000 profit
    s = apply_result(s, result)
    assert any(e.kind is EventKind.POOL_ADL for e in result.events)
    pool_pos = s.position(SYS_POOL, BTC)
    traders_pnl = -s.markets[BTC].pnl(pool_pos.size, pool_pos.entry_price, D(22000)) if pool_pos else 0
    assert traders_pnl <= D("0.77") * s.account(SYS_POOL).balance("USDC") + 12  # one contract of rounding


def test_story_the_pools_lps_lose_what_traders_win():
    # Lena provides 1,000,000 USDC; Tom buys 2 BTC at 10,000 with 5,000 USDC; BTC rises 10%; Tom
    # sells. Every dollar Tom made (+2,000 less impact, fees and borrow fee) is a dollar the pool lost.
    rules = DEFI_POOL.with_overrides({"pool.seed_liquidity": "0"})
    s = exchange(rules, lena=1000000, tom=5000)
    s = apply_result(s, lp_deposit(s, rules, "lena", D(1000000), 0).delta)
    s, _ = order(s, rules, market_order("tom", BTC, Side.BUY, 2000))
    s = apply_result(s, apply_tick(s, rules, TickInput(1, 7200, {"BTC": D(11000), "ETH": D(3000)})))
    s, _ = order(s, rules, market_order("tom", BTC, Side.SELL, 2000))
    tom_gain = s.account("tom").balance("USDC") - 5000
    assert tom_gain > D(1900)
    r = lp_withdraw(s, rules, "lena", s.account("lena").balance("GM"), s.now)
    s = apply_result(s, r.delta)
    lena_loss = 1000000 - s.account("lena").balance("USDC")
    assert abs(lena_loss - tom_gain) <= D("0.000002")  # a unit of rounding on each side
    assert s.account(SYS_POOL_LP).balance("GM") == 0


def test_the_crowd_trades_against_the_pool_and_the_ledger_balances():
    s, kinds = run_crowd(DEFI_POOL, seed=5, ticks=120, tick_seconds=120, rise_until=50, rise="1.002",
                         fall="0.992")

    assert kinds["pool_fill"] > 0
    assert kinds["pool_funding"] > 0
    assert balances_sum_to_zero(s)
