from exchange_edu.engine.book import OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.expiry import next_settlement_time
from exchange_edu.engine.rules import V0, V1
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.types import ExpiryKind, MarketStatus

from .helpers import D, Order, limit, open_pair, place


def test_a_tick_is_applied_once():
    s, _ = open_pair(V1, price=10000, contracts=1000, long_lev=10)
    s = apply_result(s, apply_tick(s, V1, TickInput(1, 60, {"BTC": D(10010)})))
    again = apply_tick(s, V1, TickInput(1, 60, {"BTC": D(9000)}))
    assert again.skipped
    assert not again.events
    assert apply_result(s, again).tick_seq == 1


def test_a_quiet_tick_returns_only_what_changed():
    s, m = open_pair(V1, price=10000, contracts=1000, long_lev=10)
    result = apply_tick(s, V1, TickInput(1, 60, {"BTC": D(10001)}))
    assert not result.delta.positions
    assert not result.delta.accounts
    assert not result.entries
    assert set(result.delta.market_states) == {m}


def test_stop_market_fires_on_the_index_before_matching_and_mark():
    s, m = open_pair(V1, price=10000, contracts=1000, long_lev=10, short_lev=10)
    s = place(s, V1, limit("maker", m, Side.BUY, 1000, 9500))
    stop = Order(0, "alice", m, Side.SELL, OrderType.STOP_MARKET, D(1000), None, trigger_price=D(9800),
                 trigger_on="index")
    s = place(s, V1, stop)
    result = apply_tick(s, V1, TickInput(1, 60, {"BTC": D(9700)}))
    kinds = [e.kind for e in result.events]
    assert kinds.index(EventKind.ORDER_TRIGGERED) < kinds.index(EventKind.FILL)
    s = apply_result(s, result)
    assert s.position("alice", m) is None  # closed at 9,500 by the fired stop


def test_v0_friday_delivers_the_weekly_and_rolls_the_calendar():
    s, m = open_pair(V0, price=400, contracts=100, long_lev=10, short_lev=10)
    assert s.markets[m].expiry_kind is ExpiryKind.WEEKLY
    friday = next_settlement_time(s.epoch, s.now, V0)
    s = apply_result(s, apply_tick(s, V0, TickInput(1, friday - 1800, {"BTC": D(440)})))
    result = apply_tick(s, V0, TickInput(2, friday, {"BTC": D(440)}))
    s = apply_result(s, result)
    assert s.market_states[m].status is MarketStatus.EXPIRED
    assert s.market_states[m].delivery_price == D(440)
    assert s.position("alice", m) is None
    # E1 at delivery: 100 x 100 x (1/400 - 1/440) = 2.272727 BTC realized by alice
    realized = [e for e in result.events if e.kind is EventKind.PNL_REALIZED and e.account == "alice"]
    assert realized[0].numbers["realized_pnl"].quantize(D("0.000001")) == D("2.272727")
    kinds = {mk.expiry_kind for mk_id, mk in s.markets.items() if s.market_states[mk_id].status is MarketStatus.OPEN}
    assert kinds == {ExpiryKind.WEEKLY, ExpiryKind.BIWEEKLY, ExpiryKind.QUARTERLY}
