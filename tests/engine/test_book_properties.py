"""Invariants of the order book and trigger book over random sequences of operations."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_edu.engine.book import (
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
MARKET = "BTC-PERP"
TICK = D("0.5")
ACCOUNTS = ("a", "b", "c")
PROPERTY = settings(max_examples=200, deadline=None)

# Prices are ticks of aggression through 100 (a buy at +2 bids 101, a sell at +2 asks 99), so
# the simplest examples build a book and the others trade into it; sizes are quarter units.
submits = st.tuples(
    st.just("submit"),
    st.sampled_from(Side),
    st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET]),
    st.sampled_from(TimeInForce),
    st.integers(-8, 8),
    st.integers(1, 20).map(lambda quarters: D(quarters) / 4),
    st.sampled_from(ACCOUNTS),
    st.one_of(st.none(), st.integers(0, 20).map(lambda quarters: D(quarters) / 4)),
    st.booleans(),
)
cancels = st.tuples(st.just("cancel"), st.integers(1, 30))
# About one operation in five is a cancel (of an id that may or may not be resting).
operations = st.lists(st.tuples(st.integers(0, 4), submits, cancels), min_size=8, max_size=30).map(
    lambda drawn: [cancel if pick == 4 else submit for pick, submit, cancel in drawn])


@dataclass
class Step:
    order: Order | None
    result: MatchResult | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    resting: tuple[Order, ...]


@dataclass
class Play:
    book: OrderBook
    steps: list[Step] = field(default_factory=list)
    submitted: dict[int, Decimal] = field(default_factory=dict)
    filled: defaultdict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    cancelled: defaultdict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def build(order_id, side, kind, tif, aggression, qty, account, protect):
    price = 100 + side.sign * aggression * TICK
    if kind is OrderType.MARKET:
        # post-only is meaningless for a market order; the price is an optional protection
        tif = TimeInForce.IOC if tif is TimeInForce.IOC else TimeInForce.GTC
        price = price if protect else None
    return Order(order_id, account, MARKET, side, kind, qty, price, time_in_force=tif,
                 seq=order_id)


def play(ops) -> Play:
    run = Play(OrderBook(MARKET, TICK))
    book = run.book
    for order_id, op in enumerate(ops, start=1):
        order = result = None
        if op[0] == "cancel":
            gone = book.cancel(op[1])
            if gone is not None:
                run.cancelled[gone.order_id] += gone.quantity
        else:
            _, side, kind, tif, price, qty, account, cap, protect = op
            order = build(order_id, side, kind, tif, price, qty, account, protect)
            before = {o.order_id: o.quantity for o in book.snapshot()}
            result = book.submit(order, max_quantity=cap)
            run.submitted[order_id] = qty
            run.cancelled[order_id] += result.cancelled_quantity
            for fill in result.fills:
                run.filled[fill.maker_order_id] += fill.quantity
                run.filled[fill.taker_order_id] += fill.quantity
            for maker_id in result.expired_maker_ids:
                run.cancelled[maker_id] += before[maker_id]
        run.steps.append(Step(order, result, book.best_bid(), book.best_ask(), book.snapshot()))
    return run


# One play checks every per-step invariant: generating the operations costs more than the checks.
def assert_not_crossed(step: Step) -> None:
    if step.best_bid is not None and step.best_ask is not None:
        assert step.best_bid < step.best_ask


def assert_resting_quantities_positive(step: Step) -> None:
    assert all(o.quantity > 0 for o in step.resting)


def assert_fills_respect_the_taker(step: Step) -> None:
    order, fills = step.order, step.result.fills
    for fill in fills:
        assert fill.maker_account_id != fill.taker_account_id  # self-trade prevention
        limit = order.price
        if limit is not None:
            assert fill.price <= limit if order.side is Side.BUY else fill.price >= limit
    # a taker walks from the best price outwards, and fills are numbered in that order
    prices = [f.price for f in fills]
    assert prices == sorted(prices, reverse=order.side is Side.SELL)
    assert [f.seq for f in fills] == sorted(f.seq for f in fills)
    if order.time_in_force is TimeInForce.POST_ONLY:
        assert fills == ()


def assert_quantity_conserved(run: Play) -> None:
    # per order: submitted = filled (taker or maker) + cancelled (IOC, cap, STP, cancel) + resting
    resting = {o.order_id: o.quantity for o in run.book.snapshot()}
    for order_id, quantity in run.submitted.items():
        accounted = run.filled[order_id] + run.cancelled[order_id] + resting.get(order_id, D(0))
        assert accounted == quantity, order_id


@PROPERTY
@given(operations)
def test_invariants_hold_after_every_operation(ops):
    run = play(ops)

    for step in run.steps:
        assert_not_crossed(step)
        assert_resting_quantities_positive(step)
        if step.result is not None:
            assert_fills_respect_the_taker(step)
    assert_quantity_conserved(run)


@PROPERTY
@given(operations, submits)
def test_a_rebuilt_book_has_the_same_depth_and_matches_identically(ops, last_op):
    book = play(ops).book
    rebuilt = OrderBook.from_orders(MARKET, TICK, reversed(book.snapshot()),
                                    fill_seq=book.next_fill_seq)

    assert rebuilt.depth(1000) == book.depth(1000)
    assert rebuilt.snapshot() == book.snapshot()
    _, side, kind, tif, price, qty, account, cap, protect = last_op
    order = build(1000, side, kind, tif, price, qty, account, protect)
    assert rebuilt.submit(order, max_quantity=cap) == book.submit(order, max_quantity=cap)
    assert rebuilt.snapshot() == book.snapshot()


@PROPERTY
@given(operations, st.sampled_from(Side), st.integers(1, 200).map(lambda q: D(q) / 4))
def test_simulate_market_predicts_what_a_market_order_fills(ops, side, quantity):
    book = play(ops).book
    before = book.snapshot()

    avg, fillable = book.simulate_market(side, quantity)
    untouched = book.snapshot() == before
    result = book.submit(Order(1000, "outsider", MARKET, side, OrderType.MARKET, quantity, None,
                               seq=1000))

    assert untouched
    assert fillable == result.filled_quantity
    if result.fills:
        # quantity-weighted average of the fills: sum(p * q) / sum(q)
        notional = sum(f.price * f.quantity for f in result.fills)
        assert abs(avg - notional / result.filled_quantity) < D("1e-20")
    else:
        assert avg is None


triggers = st.tuples(
    st.sampled_from(Side),
    st.sampled_from([OrderType.STOP_MARKET, OrderType.TAKE_PROFIT]),
    st.sampled_from(TriggerOn),
    st.integers(90, 110).map(D),
)
references = st.one_of(st.none(), st.integers(88, 112).map(D))


def fires(order: Order, prices: dict[TriggerOn, Decimal | None]) -> bool:
    price = prices[order.trigger_on]
    if price is None:
        return False
    rises = (order.order_type is OrderType.STOP_MARKET) == (order.side is Side.BUY)
    return price >= order.trigger_price if rises else price <= order.trigger_price


@PROPERTY
@given(st.lists(triggers, max_size=30), st.lists(st.tuples(references, references, references),
                                                  min_size=1, max_size=4))
def test_pop_triggered_equals_a_scan_of_every_order(specs, moves):
    orders = [Order(i, "a", MARKET, side, kind, D(1), None, trigger_price=trigger_price,
                    trigger_on=on, seq=len(specs) - i)
              for i, (side, kind, on, trigger_price) in enumerate(specs)]
    book = TriggerBook.from_orders(MARKET, orders)
    waiting = list(orders)

    for mark, last, index in moves:
        prices = {TriggerOn.MARK: mark, TriggerOn.LAST: last, TriggerOn.INDEX: index}
        fired = book.pop_triggered(mark=mark, last=last, index=index)

        expected = sorted((o for o in waiting if fires(o, prices)), key=lambda o: o.seq)
        assert [o.order_id for o in fired] == [o.order_id for o in expected]
        assert all(o.order_type is OrderType.MARKET for o in fired)
        waiting = [o for o in waiting if not fires(o, prices)]
        assert book.snapshot() == tuple(sorted(waiting, key=lambda o: o.seq))
