"""Worked examples for the order book and the trigger book (exchange_edu.engine.book)."""

from dataclasses import replace
from decimal import Decimal

import pytest

from exchange_edu.engine.book import (
    BookError,
    Fill,
    MatchResult,
    Order,
    OrderBook,
    OrderType,
    Side,
    TimeInForce,
    TriggerBook,
    TriggerOn,
)

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
MARKET = "BTC-PERP"
TICK = D("0.5")


def limit(order_id, side, price, qty, *, account="maker", seq=None, tif=TimeInForce.GTC, **kw):
    return Order(order_id, account, MARKET, side, OrderType.LIMIT, D(qty), D(price),
                 time_in_force=tif, seq=order_id if seq is None else seq, **kw)


def market(order_id, side, qty, *, account="taker", protection=None, **kw):
    return Order(order_id, account, MARKET, side, OrderType.MARKET, D(qty),
                 None if protection is None else D(protection), seq=order_id, **kw)


def trigger(order_id, side, kind, trigger_price, *, on=TriggerOn.MARK, seq=None, account="t"):
    return Order(order_id, account, MARKET, side, kind, D(1), None, trigger_price=D(trigger_price),
                 trigger_on=on, seq=order_id if seq is None else seq)


def book_with(*orders):
    book = OrderBook(MARKET, TICK)
    for order in orders:
        assert book.submit(order).fills == ()
    return book


def trades(result):
    """(maker_order_id, price, quantity) per fill, as strings for readable tables."""
    return [(f.maker_order_id, str(f.price), str(f.quantity)) for f in result.fills]


# -- matching -----------------------------------------------------------------------------------

MATCHING_CASES = [
    pytest.param(
        [limit(1, SELL, "100", "1", account="m1"), limit(2, SELL, "100", "1", account="m2")],
        limit(3, BUY, "100", "1", account="t"),
        [(1, "100", "1")], None, "0",
        id="of two asks at one price the earlier seq fills first",
    ),
    pytest.param(
        [limit(1, SELL, "100", "5")],
        limit(2, BUY, "100", "3", account="t"),
        [(1, "100", "3")], None, "0",
        id="a smaller bid partially fills a resting ask",
    ),
    pytest.param(
        # 1 @ 100 + 2 @ 101 + 3 @ 102 = 6: the whole bid fills, nothing is left to rest
        [limit(1, SELL, "100", "1"), limit(2, SELL, "101", "2"), limit(3, SELL, "102", "3")],
        limit(4, BUY, "102", "6", account="t"),
        [(1, "100", "1"), (2, "101", "2"), (3, "102", "3")], None, "0",
        id="a large bid walks three ask levels at each maker's price",
    ),
    pytest.param(
        [limit(1, SELL, "100", "1"), limit(2, SELL, "101", "1")],
        limit(3, BUY, "100.5", "3", account="t"),
        [(1, "100", "1")], ("100.5", "2"), "0",
        id="a GTC bid stops at its limit and rests the remainder",
    ),
    pytest.param(
        [limit(1, BUY, "99", "1"), limit(2, BUY, "98", "1")],
        market(3, SELL, "5"),
        [(1, "99", "1"), (2, "98", "1")], None, "3",
        id="a market sell empties the bids and cancels the 3 it could not fill",
    ),
    pytest.param(
        # the protection price 102 stops the walk before the 105 level: 1 filled, 1 cancelled
        [limit(1, SELL, "100", "1"), limit(2, SELL, "105", "1")],
        market(3, BUY, "2", protection="102"),
        [(1, "100", "1")], None, "1",
        id="a market buy with a protection price does not fill beyond it",
    ),
    pytest.param(
        [limit(1, SELL, "100", "1")],
        limit(2, BUY, "100", "3", account="t", tif=TimeInForce.IOC),
        [(1, "100", "1")], None, "2",
        id="an IOC bid fills what it can and cancels the remainder instead of resting",
    ),
    pytest.param(
        [limit(1, SELL, "100", "1")],
        limit(2, BUY, "99.5", "1", account="t", tif=TimeInForce.POST_ONLY),
        [], ("99.5", "1"), "0",
        id="a post-only bid below the ask rests",
    ),
    pytest.param(
        [],
        market(1, BUY, "1"),
        [], None, "1",
        id="a market order on an empty book is cancelled whole",
    ),
]


@pytest.mark.parametrize(("makers", "taker", "expected_fills", "expected_rest", "cancelled"),
                         MATCHING_CASES)
def test_matching(makers, taker, expected_fills, expected_rest, cancelled):
    book = book_with(*makers)

    result = book.submit(taker)

    assert trades(result) == expected_fills
    if expected_rest is None:
        assert result.resting is None
        assert book.get(taker.order_id) is None
    else:
        price, qty = expected_rest
        assert (result.resting.price, result.resting.quantity) == (D(price), D(qty))
        assert book.get(taker.order_id) == result.resting
    assert result.cancelled_quantity == D(cancelled)
    # conservation: order quantity = filled + resting + cancelled
    rest_qty = result.resting.quantity if result.resting else D(0)
    assert result.filled_quantity + rest_qty + result.cancelled_quantity == taker.quantity
    assert result.rejected is None


def test_a_partially_filled_maker_keeps_its_place_and_remaining_size():
    book = book_with(limit(1, SELL, "100", "5", account="m1"),
                     limit(2, SELL, "100", "5", account="m2"))

    book.submit(limit(3, BUY, "100", "3", account="t"))
    second = book.submit(limit(4, BUY, "100", "3", account="t"))

    # maker 1 had 5 - 3 = 2 left, so the second bid takes 2 from it, then 1 from maker 2
    assert trades(second) == [(1, "100", "2"), (2, "100", "1")]
    assert book.get(2).quantity == D(4)  # 5 - 1
    assert book.get(1) is None


def test_fills_are_numbered_in_sequence_and_name_both_sides():
    book = book_with(limit(1, SELL, "100", "1", account="m"),
                     limit(2, SELL, "101", "1", account="m"))

    result = book.submit(market(3, BUY, "2", account="t"))

    assert [f.seq for f in result.fills] == [0, 1]
    assert book.next_fill_seq == 2
    first = result.fills[0]
    assert first == Fill(MARKET, D(100), D(1), 1, 3, "m", "t", BUY, 0)
    assert first.maker_side is SELL


def test_a_post_only_bid_that_crosses_the_ask_is_rejected_not_repriced():
    book = book_with(limit(1, SELL, "10000.5", "1"))

    result = book.submit(limit(2, BUY, "10001", "2", account="t", tif=TimeInForce.POST_ONLY))

    assert result == MatchResult(cancelled_quantity=D(2),
                                 rejected="post-only order would take liquidity at 10,000.5")
    assert book.snapshot() == (limit(1, SELL, "10000.5", "1"),)


REDUCE_ONLY_CASES = [
    pytest.param("2", [(1, "100", "2")], "3", None,
                 id="a 5-lot reduce-only sell against a 2-lot long is cut to 2"),
    pytest.param("9", [(1, "100", "5")], "0", None,
                 id="a cap above the order size changes nothing"),
    pytest.param("0", [], "5", "reduce-only order has no position left to reduce",
                 id="a reduce-only order with no position left is rejected"),
]


@pytest.mark.parametrize(("cap", "expected_fills", "cancelled", "rejected"), REDUCE_ONLY_CASES)
def test_max_quantity_caps_a_reduce_only_order(cap, expected_fills, cancelled, rejected):
    book = book_with(limit(1, BUY, "100", "10"))

    result = book.submit(market(2, SELL, "5", reduce_only=True), max_quantity=D(cap))

    assert trades(result) == expected_fills
    assert result.cancelled_quantity == D(cancelled)  # 5 - min(5, cap) + unfilled
    assert result.rejected == rejected


def test_a_capped_limit_remainder_rests_at_the_capped_size():
    book = OrderBook(MARKET, TICK)

    result = book.submit(limit(1, BUY, "100", "5"), max_quantity=D(2))

    assert result.resting.quantity == D(2)
    assert result.cancelled_quantity == D(3)  # 5 - 2 trimmed by the cap


def test_self_trade_prevention_expires_the_resting_order_of_the_same_account():
    book = book_with(limit(1, SELL, "100", "1", account="alice"),
                     limit(2, SELL, "100", "1", account="bob"),
                     limit(3, SELL, "101", "1", account="alice"))

    result = book.submit(limit(4, BUY, "101", "3", account="alice"))

    # alice's asks 1 and 3 are expired, bob's fills 1, the other 2 rest as alice's bid at 101
    assert trades(result) == [(2, "100", "1")]
    assert result.expired_maker_ids == (1, 3)
    assert all(f.maker_account_id != f.taker_account_id for f in result.fills)
    assert result.resting.quantity == D(2)
    assert book.best_ask() is None
    assert book.best_bid() == D(101)


# -- cancelling and reading ---------------------------------------------------------------------

def test_cancel_removes_one_order_and_keeps_the_level_of_the_others():
    book = book_with(limit(1, BUY, "100", "1"), limit(2, BUY, "100", "2"),
                     limit(3, BUY, "99", "1"))

    cancelled = book.cancel(1)

    assert cancelled == limit(1, BUY, "100", "1")
    assert book.cancel(1) is None
    assert book.depth(5) == (((D(100), D(2)), (D(99), D(1))), ())
    assert book.cancel(3).order_id == 3
    assert book.depth(5) == (((D(100), D(2)),), ())
    assert len(book) == 1


def test_cancel_account_removes_every_order_of_the_account_oldest_first():
    book = book_with(limit(1, BUY, "99", "1", account="a"),
                     limit(2, SELL, "101", "1", account="b"),
                     limit(3, SELL, "102", "1", account="a"))

    cancelled = book.cancel_account("a")

    assert [o.order_id for o in cancelled] == [1, 3]
    assert book.orders_of("a") == ()
    assert [o.order_id for o in book.orders_of("b")] == [2]
    assert book.cancel_account("nobody") == ()


def test_depth_aggregates_each_level_and_orders_bids_down_and_asks_up():
    book = book_with(limit(1, BUY, "99", "1"), limit(2, BUY, "99", "2.5"), limit(3, BUY, "98", "4"),
                     limit(4, SELL, "101", "1"), limit(5, SELL, "100.5", "2"),
                     limit(6, SELL, "100.5", "3"))

    bids, asks = book.depth(2)

    assert bids == ((D(99), D("3.5")), (D(98), D(4)))  # 1 + 2.5 at 99
    assert asks == ((D("100.5"), D(5)), (D(101), D(1)))  # 2 + 3 at 100.5
    assert book.depth(1) == (((D(99), D("3.5")),), ((D("100.5"), D(5)),))
    assert book.depth(0) == ((), ())
    assert (book.best_bid(), book.best_ask()) == (D(99), D("100.5"))
    assert book.mid() == D("99.75")  # (99 + 100.5) / 2
    assert book.spread() == D("1.5")
    assert len(book) == 6


def test_an_empty_book_has_no_prices():
    book = OrderBook(MARKET, TICK)

    assert (book.best_bid(), book.best_ask(), book.mid(), book.spread()) == (None,) * 4
    assert book.depth(10) == ((), ())


# -- impact price and simulation ----------------------------------------------------------------

IMPACT_CASES = [
    pytest.param(
        # 100 / 10,000 = 0.01 XBT from the first level; the other 0.005 XBT * 10,010 = 50.05
        # contracts; impact = (100 + 50.05) / 0.015 = 10,003.333...
        BUY, "0.015", True, D("150.05") / D("0.015"),
        id="inverse: buying 0.015 XBT of contracts averages 10,003.33",
    ),
    pytest.param(
        # 0.01 XBT fits in the first level: 100 contracts / 0.01 XBT = 10,000
        BUY, "0.01", True, D(10000),
        id="inverse: a notional that fits the best level costs the best price",
    ),
    pytest.param(
        # 100 * 10,000 = 1,000,000 USD from level one; 500,000 / 10,010 = 49.95... more base;
        # impact = 1,500,000 / (100 + 500,000 / 10,010)
        BUY, "1500000", False, D(1500000) / (D(100) + D(500000) / D(10010)),
        id="linear: buying 1.5M USD averages quote over base",
    ),
    pytest.param(
        # bids 100 @ 9,990 then 100 @ 9,980: 0.015 XBT = 100 / 9,990 + rest * 9,980 contracts
        SELL, "0.015", True,
        (D(100) + (D("0.015") - D(100) / D(9990)) * D(9980)) / D("0.015"),
        id="inverse: selling walks the bids",
    ),
    pytest.param(BUY, "0.03", True, None,
                 id="inverse: a book worth less than 0.03 XBT is too thin"),
    pytest.param(SELL, "2000000", False, None,
                 id="linear: a book worth less than 2M USD is too thin"),
]


@pytest.mark.parametrize(("side", "notional", "inverse", "expected"), IMPACT_CASES)
def test_impact_price(side, notional, inverse, expected):
    book = book_with(limit(1, SELL, "10000", "100"), limit(2, SELL, "10010", "100"),
                     limit(3, BUY, "9990", "100"), limit(4, BUY, "9980", "100"))
    before = book.snapshot()

    price = book.impact_price(side, D(notional), inverse=inverse)

    if expected is None:
        assert price is None
    else:
        assert abs(price - expected) < D("1e-20")
    assert book.snapshot() == before


def test_the_hand_worked_inverse_impact_price_is_10003_and_a_third():
    book = book_with(limit(1, SELL, "10000", "100"), limit(2, SELL, "10010", "100"))

    price = book.impact_price(BUY, D("0.015"), inverse=True)

    assert price.quantize(D("0.0001")) == D("10003.3333")  # 150.05 / 0.015


SIMULATE_CASES = [
    # (100 * 10,000 + 50 * 10,010) / 150 = 10,003.33...
    pytest.param(BUY, "150", {}, D(1500500) / D(150), "150", id="a buy of 150 averages two asks"),
    # inverse: 150 / (100 / 10,000 + 50 / 10,010)
    pytest.param(BUY, "150", {"inverse": True}, D(150) / (D("0.01") + D(50) / D(10010)), "150",
                 id="inverse contracts average harmonically"),
    pytest.param(BUY, "500", {}, D(2001000) / D(200), "200",
                 id="a buy larger than the book fills what is there"),
    pytest.param(BUY, "150", {"limit_price": D(10000)}, D(10000), "100",
                 id="a limit price stops the walk"),
    pytest.param(BUY, "150", {"account_id": "m"}, D(10010), "100",
                 id="the buyer's own ask is skipped as self-trade prevention would"),
    pytest.param(SELL, "1", {}, None, "0", id="selling into no bids fills nothing"),
]


@pytest.mark.parametrize(("side", "qty", "options", "avg", "fillable"), SIMULATE_CASES)
def test_simulate_market_previews_without_touching_the_book(side, qty, options, avg, fillable):
    book = book_with(limit(1, SELL, "10000", "100", account="m"), limit(2, SELL, "10010", "100"))
    before, depth_before = book.snapshot(), book.depth(10)

    price, filled = book.simulate_market(side, D(qty), **options)

    assert filled == D(fillable)
    if avg is None:
        assert price is None
    else:
        assert abs(price - avg) < D("1e-20")
    assert (book.snapshot(), book.depth(10)) == (before, depth_before)


# -- persistence --------------------------------------------------------------------------------

def test_snapshot_and_from_orders_give_identical_subsequent_matching():
    book = book_with(limit(1, SELL, "100", "1", account="a"),
                     limit(2, SELL, "100", "2", account="b"),
                     limit(3, SELL, "101", "1", account="c"),
                     limit(4, BUY, "99", "3", account="a"))
    book.submit(limit(5, BUY, "100", "0.5", account="t"))  # leaves 0.5 of order 1 at the front
    rebuilt = OrderBook.from_orders(MARKET, TICK, reversed(book.snapshot()),
                                    fill_seq=book.next_fill_seq)
    copied = book.copy()

    results = [b.submit(market(6, BUY, "3", account="t")) for b in (book, rebuilt, copied)]

    assert results[0] == results[1] == results[2]
    assert trades(results[0]) == [(1, "100", "0.5"), (2, "100", "2"), (3, "101", "0.5")]
    assert book.snapshot() == rebuilt.snapshot() == copied.snapshot()


def test_a_copy_is_independent_of_the_original():
    book = book_with(limit(1, SELL, "100", "1"))
    copied = book.copy()

    copied.submit(market(2, BUY, "1"))

    assert len(book) == 1
    assert len(copied) == 0


def test_a_late_older_seq_is_queued_ahead_of_newer_orders_at_its_price():
    book = book_with(limit(1, SELL, "100", "1", account="a", seq=10))

    book.submit(limit(2, SELL, "100", "1", account="b", seq=5))

    assert [o.order_id for o in book.snapshot()] == [2, 1]


FROM_ORDERS_ERRORS = [
    pytest.param([limit(1, BUY, "101", "1"), limit(2, SELL, "100", "1")], "price",
                 id="crossed orders cannot be a resting book"),
    pytest.param([limit(1, BUY, "100", "1", tif=TimeInForce.IOC)], "order_type",
                 id="an IOC order never rests"),
    pytest.param([market(1, BUY, "1")], "order_type", id="a market order never rests"),
    pytest.param([limit(1, BUY, "100", "1"), limit(1, BUY, "99", "1")], "order_id",
                 id="an order id appears once"),
]


@pytest.mark.parametrize(("orders", "field"), FROM_ORDERS_ERRORS)
def test_from_orders_rejects_what_cannot_rest(orders, field):
    with pytest.raises(BookError) as error:
        OrderBook.from_orders(MARKET, TICK, orders)

    assert error.value.field == field


# -- trigger book -------------------------------------------------------------------------------

STOP, TP = OrderType.STOP_MARKET, OrderType.TAKE_PROFIT

TRIGGER_CASES = [
    pytest.param(BUY, STOP, "105", "104.5", False, id="a buy stop at 105 waits at 104.5"),
    pytest.param(BUY, STOP, "105", "105", True, id="a buy stop at 105 fires at 105"),
    pytest.param(BUY, STOP, "105", "110", True, id="a buy stop at 105 fires above 105"),
    pytest.param(SELL, STOP, "95", "95.5", False, id="a sell stop at 95 waits while price is 95.5"),
    pytest.param(SELL, STOP, "95", "95", True, id="a sell stop at 95 fires at 95"),
    pytest.param(SELL, STOP, "95", "90", True, id="a sell stop at 95 fires below 95"),
    pytest.param(BUY, TP, "95", "95.5", False, id="a buy take-profit at 95 waits above 95"),
    pytest.param(BUY, TP, "95", "95", True, id="a buy take-profit at 95 fires at 95"),
    pytest.param(BUY, TP, "95", "90", True, id="a buy take-profit at 95 fires below 95"),
    pytest.param(SELL, TP, "105", "104.5", False, id="a sell take-profit at 105 waits below 105"),
    pytest.param(SELL, TP, "105", "105", True, id="a sell take-profit at 105 fires at 105"),
    pytest.param(SELL, TP, "105", "110", True, id="a sell take-profit at 105 fires above 105"),
]


@pytest.mark.parametrize("on", list(TriggerOn))
@pytest.mark.parametrize(("side", "kind", "trigger_price", "price", "fires"), TRIGGER_CASES)
def test_trigger_semantics(side, kind, trigger_price, price, fires, on):
    triggers = TriggerBook(MARKET)
    order = trigger(1, side, kind, trigger_price, on=on)
    triggers.add(order)
    # the two references not watched sit where they would flip the outcome (the trigger price
    # itself fires every kind; 100 fires none), so reading the wrong one fails the test
    other = D(100) if fires else D(trigger_price)
    references = {"mark": other, "last": other, "index": other, on.value: D(price)}

    fired = triggers.pop_triggered(**references)

    assert fired == ((replace(order, order_type=OrderType.MARKET),) if fires else ())
    assert len(triggers) == (0 if fires else 1)


def test_a_trigger_watching_a_missing_reference_price_waits():
    triggers = TriggerBook(MARKET)
    triggers.add(trigger(1, SELL, STOP, "95", on=TriggerOn.LAST))

    assert triggers.pop_triggered(mark=D(1), last=None, index=D(1)) == ()
    assert len(triggers) == 1


def test_fired_orders_come_back_as_market_orders_in_seq_order_and_leave_the_book():
    triggers = TriggerBook(MARKET)
    for order in (trigger(1, SELL, STOP, "95", seq=7), trigger(2, SELL, STOP, "97", seq=3),
                  trigger(3, BUY, TP, "96", seq=5, on=TriggerOn.INDEX),
                  trigger(4, SELL, STOP, "90", seq=1), trigger(5, BUY, STOP, "99", seq=2)):
        triggers.add(order)

    fired = triggers.pop_triggered(mark=D(94), last=None, index=D(96))

    # mark 94 <= 95 and 97 (not 90); index 96 <= 96; the buy stop at 99 needs a rise
    assert [o.order_id for o in fired] == [2, 3, 1]  # by seq 3, 5, 7
    assert {o.order_type for o in fired} == {OrderType.MARKET}
    assert fired[0].trigger_price == D(97)
    assert [o.order_id for o in triggers.snapshot()] == [4, 5]
    assert triggers.pop_triggered(mark=D(94), last=None, index=D(96)) == ()


def test_trigger_book_cancel_cancel_account_and_rebuild():
    orders = [trigger(1, SELL, STOP, "95", account="a"), trigger(2, SELL, STOP, "95", account="b"),
              trigger(3, BUY, TP, "90", account="a")]
    triggers = TriggerBook.from_orders(MARKET, orders)

    assert triggers.cancel(2) == orders[1]
    assert triggers.cancel(2) is None
    assert triggers.cancel_account("a") == (orders[0], orders[2])
    assert len(triggers) == 0
    assert triggers.pop_triggered(mark=D(1), last=D(1), index=D(1)) == ()
    assert TriggerBook.from_orders(MARKET, orders).snapshot() == tuple(orders)


# -- validation ---------------------------------------------------------------------------------

def _order(**changes):
    fields = {"order_id": 1, "account_id": "a", "market": MARKET, "side": BUY,
              "order_type": OrderType.LIMIT, "quantity": D(1), "price": D(100)}
    return Order(**{**fields, **changes})


ORDER_ERRORS = [
    pytest.param({"quantity": D(0)}, "quantity", "must be greater than 0",
                 id="a zero quantity is refused"),
    pytest.param({"quantity": D(-1)}, "quantity", "must be greater than 0",
                 id="a negative quantity is refused"),
    pytest.param({"quantity": D("NaN")}, "quantity", "finite", id="a NaN quantity is refused"),
    pytest.param({"price": D("Infinity")}, "price", "finite", id="an infinite price is refused"),
    pytest.param({"price": None}, "price", "needs a price", id="a limit order needs a price"),
    pytest.param({"price": D(0)}, "price", "greater than 0", id="a zero price is refused"),
    pytest.param({"order_type": OrderType.STOP_MARKET, "price": None}, "trigger_price",
                 "needs a trigger", id="a stop-market order needs a trigger price"),
    pytest.param({"order_type": OrderType.TAKE_PROFIT}, "trigger_price", "needs a trigger",
                 id="a take-profit order needs a trigger price"),
    pytest.param({"trigger_price": D(90)}, "trigger_price", "no stop-limit",
                 id="a limit order with a trigger would be a stop-limit, which is unsupported"),
    pytest.param({"order_type": OrderType.MARKET, "time_in_force": TimeInForce.POST_ONLY},
                 "time_in_force", "post-only", id="a post-only market order is contradictory"),
    pytest.param({"side": "long"}, "side", "unknown value", id="an unknown side is refused"),
    pytest.param({"account_id": ""}, "account_id", "non-empty", id="an account is required"),
]


@pytest.mark.parametrize(("changes", "field", "words"), ORDER_ERRORS)
def test_invalid_orders_name_the_field(changes, field, words):
    with pytest.raises(BookError) as error:
        _order(**changes)

    assert isinstance(error.value, ValueError)
    assert error.value.field == field
    assert words in error.value.message
    assert str(error.value).startswith(f"{field}: ")


def test_plain_strings_from_a_database_row_become_enums():
    order = _order(side="sell", order_type="limit", time_in_force="ioc", trigger_on="last")

    assert (order.side, order.time_in_force, order.trigger_on) == (
        SELL, TimeInForce.IOC, TriggerOn.LAST)
    assert order.side.sign == -1
    assert order.side.opposite is BUY


BOOK_ERRORS = [
    pytest.param(lambda b: b.submit(_order(price=D("100.25"))), "price", "tick size 0.5",
                 id="a limit price off the 0.5 tick is refused"),
    pytest.param(lambda b: b.submit(_order(market="ETH-PERP")), "market", "ETH-PERP",
                 id="an order for another market is refused"),
    pytest.param(lambda b: b.submit(_order(order_type=OrderType.STOP_MARKET, price=None,
                                           trigger_price=D(90))),
                 "order_type", "TriggerBook", id="a stop order must go to the trigger book"),
    pytest.param(lambda b: [b.submit(_order()), b.submit(_order())], "order_id", "already",
                 id="a resting order id cannot be submitted again"),
    pytest.param(lambda b: b.submit(_order(), max_quantity=D(-1)), "max_quantity", "negative",
                 id="a negative cap is refused"),
    pytest.param(lambda b: b.depth(-1), "levels", "non-negative", id="negative depth is refused"),
    pytest.param(lambda b: b.impact_price(BUY, D(0), inverse=False), "notional_quote",
                 "greater than 0", id="a zero impact notional is refused"),
    pytest.param(lambda b: TriggerBook(MARKET).add(_order()), "order_type", "stop",
                 id="a limit order cannot wait for a trigger"),
    pytest.param(lambda b: OrderBook(MARKET, D(0)), "tick_size", "greater than 0",
                 id="a zero tick size is refused"),
]


@pytest.mark.parametrize(("act", "field", "words"), BOOK_ERRORS)
def test_book_errors_name_the_field(act, field, words):
    book = OrderBook(MARKET, TICK)

    with pytest.raises(BookError) as error:
        act(book)

    assert error.value.field == field
    assert words in error.value.message


FLOAT_INPUTS = [
    pytest.param(lambda b: _order(quantity=1.5), id="a float quantity"),
    pytest.param(lambda b: _order(price=100.0), id="a float price"),
    pytest.param(lambda b: _order(quantity=1), id="an int quantity (Decimal only)"),
    pytest.param(lambda b: OrderBook(MARKET, 0.5), id="a float tick size"),
    pytest.param(lambda b: b.submit(_order(), max_quantity=1.0), id="a float cap"),
    pytest.param(lambda b: b.impact_price(BUY, 10.0, inverse=True), id="a float notional"),
    pytest.param(lambda b: b.simulate_market(BUY, 1.0), id="a float simulated quantity"),
    pytest.param(lambda b: TriggerBook(MARKET).pop_triggered(mark=100.0, last=None, index=None),
                 id="a float mark price"),
]


@pytest.mark.parametrize("act", FLOAT_INPUTS)
def test_non_decimal_numbers_are_a_type_error(act):
    book = OrderBook(MARKET, TICK)

    with pytest.raises(TypeError, match="must be a Decimal"):
        act(book)
