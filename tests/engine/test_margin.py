from decimal import Decimal

from exchange_edu.engine.book import Side
from exchange_edu.engine.margin import margin_summary, order_margin
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.rules import V1

from .helpers import D, limit, open_pair, place


def test_isolated_margin_is_value_over_leverage_rounded_up():
    # 10,000 contracts at 10,000 at 100x: 1 XBT / 100 = 0.01 XBT
    s, m = open_pair(V1, price=10000, contracts=10000, long_lev=100)
    assert s.position("alice", m).isolated_margin == D("0.01")


def test_order_margin_charges_only_the_larger_opening_side():
    s, m = open_pair(V1, price=10000, contracts=10000, long_lev=10, short_lev=10)
    # alice is long 10,000: a 10,000 sell only closes (no margin); a 5,000 buy at 9,000 opens
    s = place(s, V1, limit("alice", m, Side.SELL, 10000, 10500))
    s = place(s, V1, limit("alice", m, Side.BUY, 5000, 9000))
    with engine_context():
        om = order_margin(s, V1, "alice", m)
    # buy side: 5,000 / 9,000 / 10 = 0.0555...; sell side reduces the long: 0
    assert abs(om - Decimal(5000) / 9000 / 10) < D("1e-20")


def test_free_balance_accounts_for_margins_orders_and_fees():
    s, _m = open_pair(V1, price=10000, contracts=10000, long_lev=10, deposits={"alice": D(1), "maker": D(10)})
    with engine_context():
        summary = margin_summary(s, V1, "alice", "BTC")
    # wallet 1 - taker fee 0.00075 - isolated margin 0.1
    assert summary.wallet == D("0.99925")
    assert summary.isolated_margin == D("0.1")
    assert summary.free == D("0.89925")
