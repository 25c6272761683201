"""Stories: one per generation, written like the lesson they illustrate."""

from __future__ import annotations

from exchange_edu.engine.book import Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.expiry import next_settlement_time
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import V0, V1
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.types import SYS_INSURANCE, SYS_LIQUIDATION

from .helpers import D, limit, market_order, open_pair, place


def _tick(state, rules, seq, now, index, orders=()):
    result = apply_tick(state, rules, TickInput(seq, now, {"BTC": D(index)}, tuple(orders)))
    assert all(v == 0 for v in totals_by_asset(result.entries).values())
    return apply_result(state, result), result


def test_v1_a_100x_long_is_liquidated_by_a_half_percent_move_and_the_fund_keeps_the_cushion():
    # Alice buys 10,000 XBTUSD at 10,000 with 100x: margin 0.01 XBT, LP 9,950.25, B 9,900.99.
    s, m = open_pair(V1, price=10000, contracts=10000, long_lev=100, short_lev=100,
                     deposits={"alice": D("0.02"), "maker": D(100), "bidder": D(10)})
    fund_before = s.account(SYS_INSURANCE).balance("BTC")
    # Someone bids for 10,000 at 9,950 - right at Alice's liquidation price.
    s = place(s, V1, limit("bidder", m, Side.BUY, 10000, 9950))
    # The index falls 0.5% (the fair-price mark follows it, plus a tiny funding basis).
    s, result = _tick(s, V1, 1, 60, 9948)
    liquidation = next(e for e in result.events if e.kind is EventKind.LIQUIDATION)
    assert liquidation.account == "alice"
    assert s.position("alice", m) is None
    assert s.account("alice").balance("BTC") < D("0.01")  # the 0.01 XBT margin is gone
    # The engine took the long at B = 9,900.99 and sold it at 9,950 to the bidder:
    # fund += 10,000 x (1/9,900.99 - 1/9,950) = 0.004975 XBT, about the 0.5% maintenance cushion.
    gained = s.account(SYS_INSURANCE).balance("BTC") - fund_before
    assert D("0.00497") < gained < D("0.00498")
    assert s.position(SYS_LIQUIDATION, m) is None


def test_v1_when_the_book_is_empty_and_the_fund_is_dry_the_top_short_is_deleveraged_at_the_bankruptcy_price():
    rules = V1.with_overrides({"insurance_seed": "0"})
    s, m = open_pair(rules, price=10000, contracts=10000, long_lev=100, short_lev=10,
                     deposits={"alice": D("0.02"), "maker": D(100)})
    # Nobody bids. The index gaps 2% lower: Alice is far past her bankruptcy price of 9,900.99.
    s, result = _tick(s, rules, 1, 60, 9800)
    adl = [e for e in result.events if e.kind is EventKind.ADL]
    assert [e.account for e in adl] == ["maker"]
    # The winning short is closed at Alice's bankruptcy price, not at the market price.
    assert abs(adl[0].numbers["price"] - D("9900.990099")) < D("0.000001")
    assert s.position("maker", m) is None
    assert s.position(SYS_LIQUIDATION, m) is None
    assert s.market_states[m].open_interest == 0
    assert s.account(SYS_INSURANCE).balance("BTC") == 0


def test_v0_a_20x_weekly_long_blows_up_on_a_wick_and_friday_claws_back_from_the_winners():
    # Alice buys 100 weekly contracts ($100 each) at 400 with 20x: margin 1.25 BTC.
    rules = V0.with_overrides({"insurance_seed": "0.1"})
    s, m = open_pair(rules, price=400, contracts=100, long_lev=20, short_lev=10,
                     deposits={"alice": D("1.3"), "maker": D(100), "bob": D(100), "carol": D(100)})
    # Bob and Carol trade with each other too; Bob is short, Carol long.
    s = place(s, rules, limit("carol", m, Side.BUY, 200, 400))
    s = place(s, rules, market_order("bob", m, Side.SELL, 200))
    # A seller hits a thin bid and wicks the LAST price down to 370.
    s = place(s, rules, limit("carol", m, Side.BUY, 100, 370))
    s = place(s, rules, market_order("bob", m, Side.SELL, 100))
    assert s.market_states[m].last_price == D(370)
    # v0 liquidates on the last traded price: 370 is below Alice's LP of 400/(1 + 0.8/20) = 384.6.
    s, result = _tick(s, rules, 1, 60, 400)
    assert any(e.kind is EventKind.LIQUIDATION and e.account == "alice" for e in result.events)
    # Nobody bids: the engine keeps Alice's long as inventory (zero-equity price 400 x 20/21 = 380.95).
    assert s.position(SYS_LIQUIDATION, m).size == 100
    # The index falls to 300 and stays there through the last hour before Friday 08:00 UTC.
    friday = next_settlement_time(s.epoch, s.now, rules)
    s, _ = _tick(s, rules, 2, friday - 3600, 300)
    s, _ = _tick(s, rules, 3, friday - 1800, 300)
    s, result = _tick(s, rules, 4, friday, 300)
    # Delivery at 300: the engine's long loses 100 x 100 x (1/380.95 - 1/300) = 7.0833 BTC; the
    # fund's 0.1 BTC covers a little, winners (the shorts) pay the rest pro rata.
    clawbacks = {e.account: e.numbers["clawback"] for e in result.events if e.kind is EventKind.CLAWBACK}
    settlement = next(e for e in result.events if e.kind is EventKind.SETTLEMENT and "shortfall" in e.numbers)
    assert set(clawbacks) == {"bob", "maker"}
    assert sum(clawbacks.values()) == settlement.numbers["shortfall"]
    assert settlement.numbers["fund_covered"] == D("0.1")
    assert s.account(SYS_INSURANCE).balance("BTC") == 0
    assert s.account(SYS_LIQUIDATION).balance("BTC") == 0
    rate = settlement.numbers["clawback_rate"]
    assert 0 < rate < 1


def test_v2_a_hedged_account_survives_a_move_that_liquidates_the_same_positions_held_in_isolation():
    from exchange_edu.engine.genesis import new_exchange
    from exchange_edu.engine.rules import V2
    from exchange_edu.engine.types import MarginMode, Position, evolve

    s = new_exchange(V2, index_price=D(10000), index_prices={"BTC": D(10000), "ETH": D(1500)},
                     deposits={"hedged": D(2000), "long_only": D(1000), "short_only": D(1000)})
    perp = "BTC-PERP"
    future = next(m for m, mk in s.markets.items() if mk.underlying == "BTC" and mk.is_dated)
    # Hedged: long 2 BTC perp and short 2 BTC future, $2,000 in one account. The same two legs
    # held in isolation: two subaccounts with $1,000 each.
    legs = {("hedged", perp): 2000, ("hedged", future): -2000, ("long_only", perp): 2000,
            ("short_only", future): -2000}
    positions = {k: Position(k[0], k[1], D(v), D(10000), MarginMode.CROSS, D(20)) for k, v in legs.items()}
    states = {m: evolve(ms, open_interest=D(4000) if m == perp else ZERO) for m, ms in s.market_states.items()}
    s = evolve(s, positions=positions, market_states=states)
    # BTC falls 10%. The long alone has lost $2,000 on $1,000: gone. The hedged account's legs
    # offset: TAV stays $2,000 on $36,000 of notional, MF 5.6% above the 3% MMF.
    result = apply_tick(s, V2, TickInput(1, 60, {"BTC": D(9000), "ETH": D(1500)}))
    s = apply_result(s, result)
    liquidated = {e.account for e in result.events if e.kind is EventKind.ACCOUNT_LIQUIDATION}
    assert liquidated == {"long_only"}
    assert s.position("hedged", perp).size == 2000
    assert s.position("long_only", perp) is None
