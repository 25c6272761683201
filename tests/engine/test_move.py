"""v2 option: MOVE contracts (MECHANICS 3.8, E20): listing, fair value, first / last hour TWAPs,
delivery at |end TWAP - start TWAP| through apply_tick, roll-over, unified margin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.move import expected_move, fair_value, move_settlement_price
from exchange_edu.engine.numbers import ZERO, engine_context
from exchange_edu.engine.rules import V1, V2, V2_MOVE, RuleError
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.types import MarketStatus
from exchange_edu.engine.unified import account_risk

from .helpers import Side, limit, market_order, place

D = Decimal
DAY = 86400
MOVE_0101, MOVE_0102, MOVE_0103 = "BTC-MOVE-0101", "BTC-MOVE-0102", "BTC-MOVE-0103"


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def exchange(rules=V2_MOVE, btc="9400", **deposits_usd):
    # DEFAULT_EPOCH is Monday 2024-01-01 00:00 UTC: the 0101 daily MOVE starts now
    return new_exchange(rules, index_price=D(btc), index_prices={"BTC": D(btc), "ETH": D(1500)},
                        deposits={k: D(v) for k, v in deposits_usd.items()})


@pytest.mark.parametrize(("name", "start", "end", "price"), [
    ("E20 up: start TWAP 9,400, end TWAP 9,650 settles $250", "9400", "9650", "250"),
    ("E20 down: start TWAP 9,400, end TWAP 9,300 settles $100", "9400", "9300", "100"),
    ("no move settles 0", "9400", "9400", "0"),
])
def test_e20_move_settles_to_the_absolute_move(name, start, end, price):
    assert move_settlement_price(D(start), D(end)) == D(price)


def test_move_rules_list_today_and_tomorrow_per_underlying():
    s = exchange()
    moves = sorted((m.market_id, m.expiry_time, m.contract_size) for m in s.markets.values() if m.is_move)
    assert moves == [(MOVE_0101, DAY, 1), (MOVE_0102, 2 * DAY, 1), ("ETH-MOVE-0101", DAY, 1),
                     ("ETH-MOVE-0102", 2 * DAY, 1)]
    assert not any(m.is_move for m in exchange(V2).markets.values())


def test_the_flag_switches_moves_on_and_weekly_periods_are_listed_too():
    rules = V2.with_overrides({"contract.move_contracts": True, "move.periods": ["daily", "weekly"]})
    ids = {m for m in exchange(rules).markets if "MOVE" in m}
    # the weekly period starts on the settlement weekday (Friday 2024-01-05) at 00:00 UTC
    assert {"BTC-MOVE-WK-0105", "ETH-MOVE-WK-0105", MOVE_0101, MOVE_0102} <= ids


@pytest.mark.parametrize(("name", "overrides", "field"), [
    ("inverse contracts cannot carry a USD move", {"contract.move_contracts": True}, "contract.move_contracts"),
    ("unknown period", {"contract.move_contracts": True, "contract.kind": "linear", "move.periods": ["monthly"]},
     "move.periods"),
])
def test_invalid_move_rules_name_the_field(name, overrides, field):
    with pytest.raises(RuleError) as err:
        V1.with_overrides(overrides)
    assert err.value.field == field


def test_fair_value_before_the_period_is_the_expected_absolute_move():
    s = exchange(btc="20000")
    m = s.markets[MOVE_0102]
    # 20,000 x 80% x sqrt(1/365) x sqrt(2/pi) = 16,000 x 0.0523424 x 0.7978846 = 668.21
    value, inputs = fair_value(V2_MOVE, m, None, D(20000), 0)
    assert value.quantize(D("0.01")) == D("668.21")
    assert inputs["intrinsic"] == 0
    assert s.market_states[MOVE_0102].index_price == value
    # the same formula an hour before expiry is a 24th of the variance: sqrt(1/24) of the value
    assert expected_move(D(20000), D("0.8"), 3600, D(365 * DAY)) == value / D(24).sqrt()


def test_fair_value_deep_in_the_money_tends_to_the_intrinsic_move():
    s = exchange(btc="9400")
    ms = s.market_states[MOVE_0101]
    from exchange_edu.engine.types import evolve
    ms = evolve(ms, move_strike=D(9400))
    # 10 minutes left, the coin 1,000 away from the strike: time value ~ 9,400 x 0.8 x 0.00436 x 0.798 = 26
    value, inputs = fair_value(V2_MOVE, s.markets[MOVE_0101], ms, D(10400), DAY - 600)
    assert inputs["intrinsic"] == 1000
    assert D(1000) < value < D("1000.5")
    at_expiry, _ = fair_value(V2_MOVE, s.markets[MOVE_0101], ms, D(10400), DAY)
    assert at_expiry == 1000


def _run_day(state, end_price, seq=0):
    """Ticks every minute through the first hour at 9,400 and the last hour at `end_price`, one in
    between, then the expiry tick; returns the state and every result."""
    results = []
    times = [*range(0, 3601, 60), 43200, *range(82800, DAY + 1, 60)]
    for t in times:
        seq += 1
        price = D(9400) if t <= 3600 else D(end_price)
        result = apply_tick(state, V2_MOVE, TickInput(seq, t, {"BTC": price, "ETH": D(1500)}))
        for entry in result.entries:
            assert all(v == 0 for v in totals_by_asset([entry]).values()), entry
        state = apply_result(state, result)
        results.append(result)
    return state, results


@pytest.mark.parametrize(("name", "end_price", "settle", "long_pnl"), [
    ("E20 up: 9,400 -> 9,650 settles $250; long 10 from $300 loses 10 x 50", "9650", "250", "-500"),
    ("E20 down: 9,400 -> 9,300 settles $100; long 10 from $300 loses 10 x 200", "9300", "100", "-2000"),
])
def test_a_move_is_listed_sampled_and_delivered_through_apply_tick(name, end_price, settle, long_pnl):
    s = exchange(vol=10000, calm=10000, mm=10 ** 6)
    s = place(s, V2_MOVE, limit("calm", MOVE_0101, Side.SELL, 10, 300))
    s = place(s, V2_MOVE, market_order("vol", MOVE_0101, Side.BUY, 10))
    assert s.position("vol", MOVE_0101).size == 10
    s, results = _run_day(s, end_price)
    events = [e for r in results for e in r.events]
    strike = [e for e in events if e.kind is EventKind.MOVE_STRIKE and e.market == MOVE_0101]
    assert [e.numbers["strike"] for e in strike] == [D(9400)]
    assert strike[0].inputs["samples"] == 60  # one per minute over 00:00-01:00
    delivery = [e for e in events if e.kind is EventKind.DELIVERY and e.market == MOVE_0101]
    assert len(delivery) == 1
    assert delivery[0].numbers["price"] == D(settle)
    assert delivery[0].inputs["start_twap"] == D(9400)
    assert delivery[0].inputs["end_twap"] == D(end_price)
    assert delivery[0].inputs["end_samples"] == 60  # 23:00-24:00
    assert "last hour" in delivery[0].explain()
    # closed like a dated future's delivery: PnL realized, positions gone, market expired
    pnl = {e.account: e.numbers["realized_pnl"] for e in events
           if e.kind is EventKind.PNL_REALIZED and e.inputs["kind"] == "delivery"}
    assert pnl == {"vol": D(long_pnl), "calm": -D(long_pnl)}
    assert s.position("vol", MOVE_0101) is None
    assert s.position("calm", MOVE_0101) is None
    assert s.market_states[MOVE_0101].status is MarketStatus.EXPIRED
    assert s.market_states[MOVE_0101].delivery_price == D(settle)
    # roll-over: tomorrow's MOVE trades on, the day after is listed at its fair value
    assert s.market_states[MOVE_0102].status is MarketStatus.OPEN
    assert s.markets[MOVE_0103].expiry_time == 3 * DAY
    assert s.market_states[MOVE_0103].index_price > 0
    # the whole ledger balances per asset
    totals: dict[str, Decimal] = {}
    for a in s.accounts.values():
        for asset, v in a.balances.items():
            totals[asset] = totals.get(asset, ZERO) + v
    assert all(v == 0 for v in totals.values()), totals


def test_a_move_position_is_margined_on_size_times_its_mark():
    s = exchange(vol=10000, calm=10000)
    s = place(s, V2_MOVE, limit("calm", MOVE_0102, Side.SELL, 10, 300))
    s = place(s, V2_MOVE, market_order("vol", MOVE_0102, Side.BUY, 10))
    mark = s.market_states[MOVE_0102].mark_price
    risk = account_risk(s, V2_MOVE, "vol")
    assert risk.notional == 10 * mark
    assert risk.positions[0].imf == D("0.05")  # 20x base IMF, like any future


def test_a_tick_that_skips_the_first_hour_fixes_the_strike_at_its_index():
    s = exchange()
    result = apply_tick(s, V2_MOVE, TickInput(1, 7200, {"BTC": D(9500), "ETH": D(1500)}))
    strike = [e for e in result.events if e.kind is EventKind.MOVE_STRIKE and e.market == MOVE_0101]
    assert strike[0].numbers["strike"] == D(9500)
    assert strike[0].inputs["samples"] == 0
