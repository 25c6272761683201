"""Order book with price-time matching for one market, and the book of waiting stop orders.

Design note. The engine is otherwise pure functions over frozen dataclasses; ``OrderBook`` and
``TriggerBook`` are deliberately MUTABLE: a tick submits thousands of bot orders, and rebuilding a
sorted book per order would make matching quadratic. What goes in and out (``Order``, ``Fill``,
``MatchResult``) is frozen; ``snapshot``/``copy`` give value copies, and the sandbox rebuilds the
book from its stored orders with ``from_orders`` (time priority is the caller's ``seq``).
Per side: ``price -> OrderedDict[order_id, Order]`` (time order inside a level) plus a
bisect-sorted list of level keys whose LAST element is the best level (key = +price for bids,
-price for asks), so consuming the best level pops from the end; an ``order_id`` index makes
cancel a lookup plus a bisect. Fills are at the maker's price. Self-trade prevention is "expire
maker" (Binance's EXPIRE_MAKER): an order never fills against its own account; that account's
resting order is cancelled, reported in ``expired_maker_ids``, and the taker keeps walking, since
the resting order is usually the stale one (a quote being replaced). The book knows no positions:
the caller enforces reduce-only through ``max_quantity``. Arithmetic uses a fixed local Decimal
context, so results do not depend on the caller's.
"""

from __future__ import annotations

import decimal
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from enum import StrEnum
from itertools import islice
from operator import itemgetter

_CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_ZERO = Decimal(0)
Level = tuple[Decimal, Decimal]  # (price, total quantity)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy (adds to a long), -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    TAKE_PROFIT = "take_profit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"


class TriggerOn(StrEnum):
    MARK = "mark"
    LAST = "last"
    INDEX = "index"


_TRIGGERED = (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT)


class BookError(ValueError):
    """Invalid order or book input; ``field`` names the input an order form should flag."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _fmt(value: Decimal) -> str:
    return f"{value:,f}"


def _decimal(name: str, value: object, *, positive: bool = True) -> Decimal:
    # A float is a TypeError, not a BookError: a programming mistake, not bad user input.
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise BookError(name, f"must be a finite number, got {value}")
    if positive and value <= 0:
        raise BookError(name, f"must be greater than 0, got {_fmt(value)}")
    return value


def _text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise BookError(name, "must be a non-empty string")


def _crosses(side: Side, limit: Decimal | None, price: Decimal) -> bool:
    """True if a ``side`` order limited at ``limit`` (None = no limit) may trade at ``price``."""
    return limit is None or (price <= limit if side is Side.BUY else price >= limit)


@dataclass(frozen=True, slots=True)
class Order:
    """An order; ``quantity`` is the remaining size (contracts if inverse, base units if linear).

    ``price``: limit price, or an optional protection price on a market order. ``trigger_price``:
    required on stop-market / take-profit; a market order made by ``TriggerBook.pop_triggered``
    keeps it, as the record of why it was sent.
    """

    order_id: int
    account_id: str
    market: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    trigger_price: Decimal | None = None
    trigger_on: TriggerOn = TriggerOn.MARK
    seq: int = 0
    is_liquidation: bool = False

    def __post_init__(self) -> None:
        # Plain strings (database rows, JSON) become enums so `.sign` and `is` checks work.
        for name, enum in (("side", Side), ("order_type", OrderType),
                           ("time_in_force", TimeInForce), ("trigger_on", TriggerOn)):
            raw = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(raw))
            except ValueError:
                raise BookError(name, f"unknown value {raw!r}") from None
        for name in ("order_id", "seq"):
            if type(getattr(self, name)) is not int:
                raise TypeError(f"{name} must be an int, got {type(getattr(self, name)).__name__}")
        _text("account_id", self.account_id)
        _text("market", self.market)
        _decimal("quantity", self.quantity)
        for name in ("price", "trigger_price"):
            if getattr(self, name) is not None:
                _decimal(name, getattr(self, name))
        kind = self.order_type
        if kind is OrderType.LIMIT and self.price is None:
            raise BookError("price", "a limit order needs a price")
        if kind is OrderType.LIMIT and self.trigger_price is not None:
            raise BookError("trigger_price", "a limit order takes no trigger (no stop-limit)")
        if kind in _TRIGGERED and self.trigger_price is None:
            raise BookError("trigger_price", f"a {kind.replace('_', '-')} order needs a trigger")
        if self.time_in_force is TimeInForce.POST_ONLY and kind is not OrderType.LIMIT:
            raise BookError("time_in_force",
                            "post-only is for limit orders; a market order always takes liquidity")


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade of ``quantity`` at the maker's ``price``; ``seq`` grows by 1 per fill in a book."""

    market: str
    price: Decimal
    quantity: Decimal
    maker_order_id: int
    taker_order_id: int
    maker_account_id: str
    taker_account_id: str
    taker_side: Side
    seq: int

    @property
    def maker_side(self) -> Side:
        return self.taker_side.opposite


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What ``submit`` did. Taker quantity = sum(fill quantities) + resting + cancelled."""

    fills: tuple[Fill, ...] = ()
    resting: Order | None = None
    cancelled_quantity: Decimal = _ZERO
    rejected: str | None = None
    expired_maker_ids: tuple[int, ...] = ()

    @property
    def filled_quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), _ZERO)


class OrderBook:
    """Resting limit orders of one market, matched by price, then time (``seq``)."""

    def __init__(self, market: str, tick_size: Decimal, *, fill_seq: int = 0) -> None:
        _text("market", market)
        self.market = market
        self.tick_size = _decimal("tick_size", tick_size)
        self._levels: dict[Side, dict[Decimal, OrderedDict[int, Order]]] = {
            Side.BUY: {}, Side.SELL: {}}
        self._keys: dict[Side, list[Decimal]] = {Side.BUY: [], Side.SELL: []}
        self._index: dict[int, Order] = {}
        self._by_account: dict[str, dict[int, None]] = {}
        self._fill_seq = fill_seq

    def submit(self, order: Order, *, max_quantity: Decimal | None = None) -> MatchResult:
        """Match a MARKET or LIMIT order; a GTC or post-only limit remainder rests.

        ``max_quantity`` caps the size before matching (reduce-only: the caller passes the
        position size); the trimmed part is counted in ``cancelled_quantity``.
        """
        self._check_new(order)
        if order.order_type in _TRIGGERED:
            raise BookError("order_type", "stop-market and take-profit orders go to a TriggerBook")
        quantity = order.quantity
        if max_quantity is not None:
            cap = _decimal("max_quantity", max_quantity, positive=False)
            if cap < 0:
                raise BookError("max_quantity", f"must not be negative, got {_fmt(cap)}")
            quantity = min(quantity, cap)
            if quantity == 0:
                reason = ("reduce-only order has no position left to reduce" if order.reduce_only
                          else "order size was capped to 0")
                return MatchResult(cancelled_quantity=order.quantity, rejected=reason)
        if order.time_in_force is TimeInForce.POST_ONLY:
            best = self._best(order.side.opposite)
            if best is not None and _crosses(order.side, order.price, best):
                return MatchResult(cancelled_quantity=order.quantity,
                                   rejected=f"post-only order would take liquidity at {_fmt(best)}")
        with localcontext(_CTX):
            fills, expired, remaining = self._match(order, quantity)
            cancelled = order.quantity - quantity + remaining
            resting = None
            if (remaining and order.order_type is OrderType.LIMIT
                    and order.time_in_force is not TimeInForce.IOC):
                resting = (order if remaining == order.quantity
                           else replace(order, quantity=remaining))
                self._rest(resting)
                cancelled -= remaining
            return MatchResult(tuple(fills), resting, cancelled, None, tuple(expired))

    def _match(self, taker: Order, quantity: Decimal) -> tuple[list[Fill], list[int], Decimal]:
        side = taker.side.opposite
        levels, keys = self._levels[side], self._keys[side]
        fills: list[Fill] = []
        expired: list[int] = []
        remaining = quantity
        while remaining and keys:
            price = keys[-1] if side is Side.BUY else -keys[-1]
            if not _crosses(taker.side, taker.price, price):
                break
            level = levels[price]
            while remaining and level:
                maker = next(iter(level.values()))
                if maker.account_id == taker.account_id:
                    level.popitem(last=False)
                    self._forget(maker)
                    expired.append(maker.order_id)
                    continue
                traded = min(remaining, maker.quantity)
                fills.append(Fill(self.market, maker.price, traded, maker.order_id,
                                  taker.order_id, maker.account_id, taker.account_id,
                                  taker.side, self._fill_seq))
                self._fill_seq += 1
                remaining -= traded
                if traded == maker.quantity:
                    level.popitem(last=False)
                    self._forget(maker)
                else:
                    level[maker.order_id] = self._index[maker.order_id] = replace(
                        maker, quantity=maker.quantity - traded)
            if not level:
                del levels[price]
                keys.pop()
        return fills, expired, remaining

    def _check_new(self, order: Order) -> None:
        if not isinstance(order, Order):
            raise TypeError(f"order must be an Order, got {type(order).__name__}")
        if order.market != self.market:
            raise BookError("market", f"order is for {order.market}, this book is {self.market}")
        if order.order_id in self._index:
            raise BookError("order_id", f"order {order.order_id} is already on the book")
        # A market order's protection price never rests, so it may sit off the tick grid.
        if order.order_type is OrderType.LIMIT:
            with localcontext(_CTX):
                if order.price % self.tick_size:
                    raise BookError("price", f"{_fmt(order.price)} is not a multiple of the "
                                             f"tick size {_fmt(self.tick_size)}")

    def _rest(self, order: Order) -> None:
        side, price = order.side, order.price
        level = self._levels[side].get(price)
        if level is None:
            level = self._levels[side][price] = OrderedDict()
            insort(self._keys[side], price if side is Side.BUY else -price)
        if level and next(reversed(level.values())).seq > order.seq:
            # Rare: an older seq arrives late (a rebuild); keep the level in seq order.
            queue = list(level.values())
            queue.insert(bisect_right(queue, order.seq, key=lambda o: o.seq), order)
            level.clear()
            level.update((o.order_id, o) for o in queue)
        else:
            level[order.order_id] = order
        self._index[order.order_id] = order
        self._by_account.setdefault(order.account_id, {})[order.order_id] = None

    def _forget(self, order: Order) -> None:
        del self._index[order.order_id]
        ids = self._by_account[order.account_id]
        del ids[order.order_id]
        if not ids:
            del self._by_account[order.account_id]

    def cancel(self, order_id: int) -> Order | None:
        """Remove a resting order; returns it as it stood (remaining quantity), or None."""
        order = self._index.get(order_id)
        if order is None:
            return None
        side, price = order.side, order.price
        level = self._levels[side][price]
        del level[order_id]
        if not level:
            del self._levels[side][price]
            keys = self._keys[side]
            del keys[bisect_left(keys, price if side is Side.BUY else -price)]
        self._forget(order)
        return order

    def cancel_account(self, account_id: str) -> tuple[Order, ...]:
        """Cancel every resting order of an account (e.g. before liquidating it), oldest first."""
        return tuple(self.cancel(o.order_id) for o in self.orders_of(account_id))

    def __len__(self) -> int:
        return len(self._index)

    @property
    def next_fill_seq(self) -> int:
        """The ``seq`` of the next fill; pass it to ``from_orders`` to continue the numbering."""
        return self._fill_seq

    def get(self, order_id: int) -> Order | None:
        return self._index.get(order_id)

    def orders_of(self, account_id: str) -> tuple[Order, ...]:
        """An account's resting orders, oldest (lowest seq) first."""
        ids = self._by_account.get(account_id, {})
        return tuple(sorted((self._index[i] for i in ids), key=lambda o: (o.seq, o.order_id)))

    def _best(self, side: Side) -> Decimal | None:
        keys = self._keys[side]
        if not keys:
            return None
        return keys[-1] if side is Side.BUY else -keys[-1]

    def best_bid(self) -> Decimal | None:
        return self._best(Side.BUY)

    def best_ask(self) -> Decimal | None:
        return self._best(Side.SELL)

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, or None if a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else _CTX.divide(_CTX.add(bid, ask), 2)

    def spread(self) -> Decimal | None:
        """best ask - best bid, or None if a side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask - bid

    def _walk(self, side: Side) -> Iterator[tuple[Decimal, OrderedDict[int, Order]]]:
        levels = self._levels[side]
        for key in reversed(self._keys[side]):
            price = key if side is Side.BUY else -key
            yield price, levels[price]

    def depth(self, levels: int) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """(bids high->low, asks low->high), at most ``levels`` each, as (price, total qty)."""
        if type(levels) is not int or levels < 0:
            raise BookError("levels", f"must be a non-negative int, got {levels!r}")
        with localcontext(_CTX):
            return tuple(tuple((price, sum((o.quantity for o in level.values()), _ZERO))
                               for price, level in islice(self._walk(side), levels))
                         for side in (Side.BUY, Side.SELL))

    def impact_price(self, side: Side, notional_quote: Decimal, *, inverse: bool
                     ) -> Decimal | None:
        """Average price to BUY (walks asks) or SELL (walks bids) a notional; None if too thin.

        Linear: the notional N is in quote (USD); take levels until sum(q_i * p_i) = N, the last
        one partly (q = rest / p); impact = N / sum(q_i).
        Inverse: N is in coin (BitMEX: 10 XBT); c contracts at p are worth c / p coin; take
        levels until sum(c_i / p_i) = N (last: c = rest * p); impact = sum(c_i) / N, the
        contract-weighted harmonic mean. E.g. asks 100 @ 10,000 and 100 @ 10,010, N = 0.015 XBT:
        100 / 10,000 = 0.01 XBT, then 0.005 XBT * 10,010 = 50.05 contracts;
        impact = 150.05 / 0.015 = 10,003.33... Unrounded; self-trade rules do not apply.
        """
        need = _decimal("notional_quote", notional_quote)
        with localcontext(_CTX):
            qty_total = notional_total = _ZERO
            for price, level in self._walk(Side(side).opposite):
                level_qty = sum((o.quantity for o in level.values()), _ZERO)
                level_notional = level_qty / price if inverse else level_qty * price
                if notional_total + level_notional >= need:
                    rest = need - notional_total
                    qty_total += rest * price if inverse else rest / price
                    return qty_total / need if inverse else need / qty_total
                qty_total += level_qty
                notional_total += level_notional
            return None

    def simulate_market(self, side: Side, quantity: Decimal, *, inverse: bool = False,
                        limit_price: Decimal | None = None, account_id: str | None = None
                        ) -> tuple[Decimal | None, Decimal]:
        """(average price, fillable quantity) of a market order, without touching the book.

        Average = sum(q_i * p_i) / sum(q_i); inverse: sum(q_i) / sum(q_i / p_i) (the entry price
        of the resulting position). ``limit_price`` stops the walk (e.g. a bankruptcy price);
        ``account_id``'s own orders are skipped, as self-trade prevention would expire them.
        (None, 0) if nothing fills. Unrounded.
        """
        side = Side(side)
        quantity = _decimal("quantity", quantity)
        if limit_price is not None:
            _decimal("limit_price", limit_price)
        with localcontext(_CTX):
            filled = value = _ZERO
            for price, level in self._walk(side.opposite):
                if filled == quantity or not _crosses(side, limit_price, price):
                    break
                for maker in level.values():
                    if maker.account_id == account_id:
                        continue
                    traded = min(quantity - filled, maker.quantity)
                    filled += traded
                    value += traded / price if inverse else traded * price
                    if filled == quantity:
                        break
            if not filled:
                return None, _ZERO
            return (filled / value if inverse else value / filled), filled

    def snapshot(self) -> tuple[Order, ...]:
        """All resting orders in priority order: bids best first, then asks best first."""
        return tuple(o for side in (Side.BUY, Side.SELL)
                     for _, level in self._walk(side) for o in level.values())

    @classmethod
    def from_orders(cls, market: str, tick_size: Decimal, orders: Iterable[Order], *,
                    fill_seq: int = 0) -> OrderBook:
        """Rebuild a book from resting orders; priority within a level follows ``seq``."""
        book = cls(market, tick_size, fill_seq=fill_seq)
        for order in sorted(orders, key=lambda o: o.seq):
            book._check_new(order)
            if order.order_type is not OrderType.LIMIT or order.time_in_force is TimeInForce.IOC:
                raise BookError("order_type",
                                f"order {order.order_id}: only GTC / post-only limit orders rest")
            best = book._best(order.side.opposite)
            if best is not None and _crosses(order.side, order.price, best):
                raise BookError("price", f"order {order.order_id} at {_fmt(order.price)} crosses "
                                         f"the resting {order.side.opposite} at {_fmt(best)}")
            book._rest(order)
        return book

    def copy(self) -> OrderBook:
        """An independent book with the same orders (orders are immutable, so shared)."""
        return type(self).from_orders(self.market, self.tick_size, self.snapshot(),
                                      fill_seq=self._fill_seq)


# A BUY stop and a SELL take-profit fire when the price rises to the trigger; the others on a fall.
_FIRES_ON_RISE = frozenset({(OrderType.STOP_MARKET, Side.BUY), (OrderType.TAKE_PROFIT, Side.SELL)})


class TriggerBook:
    """Stop-market and take-profit orders of one market, waiting for their trigger price.

    Fires when the ``trigger_on`` reference price reaches the trigger: BUY stop and SELL
    take-profit when price >= trigger; SELL stop and BUY take-profit when price <= trigger.
    Each (type, side, trigger_on) bucket is sorted by trigger price, so what fires is a prefix
    or a suffix found by bisect: O(log n + k) per bucket.
    """

    def __init__(self, market: str) -> None:
        _text("market", market)
        self.market = market
        self._orders: dict[int, Order] = {}
        self._buckets: dict[tuple[OrderType, Side, TriggerOn], list[tuple[Decimal, int, int]]] = {}

    def add(self, order: Order) -> None:
        if not isinstance(order, Order):
            raise TypeError(f"order must be an Order, got {type(order).__name__}")
        if order.market != self.market:
            raise BookError("market", f"order is for {order.market}, this book is {self.market}")
        if order.order_type not in _TRIGGERED:
            raise BookError("order_type", "only stop-market and take-profit orders wait here")
        if order.order_id in self._orders:
            raise BookError("order_id", f"order {order.order_id} is already waiting")
        bucket = self._buckets.setdefault((order.order_type, order.side, order.trigger_on), [])
        insort(bucket, (order.trigger_price, order.seq, order.order_id))
        self._orders[order.order_id] = order

    def cancel(self, order_id: int) -> Order | None:
        order = self._orders.pop(order_id, None)
        if order is not None:
            bucket = self._buckets[(order.order_type, order.side, order.trigger_on)]
            del bucket[bisect_left(bucket, (order.trigger_price, order.seq, order.order_id))]
        return order

    def cancel_account(self, account_id: str) -> tuple[Order, ...]:
        """Cancel an account's waiting orders, oldest first (a scan: trigger books are small)."""
        mine = [o for o in self.snapshot() if o.account_id == account_id]
        return tuple(self.cancel(o.order_id) for o in mine)

    def pop_triggered(self, *, mark: Decimal | None, last: Decimal | None,
                      index: Decimal | None) -> tuple[Order, ...]:
        """Remove the fired orders and return them as MARKET orders (same order_id), by seq.

        A reference price of None (e.g. no trade yet for ``last``) fires nothing watching it.
        """
        reference = {TriggerOn.MARK: mark, TriggerOn.LAST: last, TriggerOn.INDEX: index}
        for on, price in reference.items():
            if price is not None:
                _decimal(str(on), price)
        fired: list[Order] = []
        for (kind, side, on), bucket in self._buckets.items():
            price = reference[on]
            if price is None or not bucket:
                continue
            if (kind, side) in _FIRES_ON_RISE:
                cut = bisect_right(bucket, price, key=itemgetter(0))
                taken = bucket[:cut]
                del bucket[:cut]
            else:
                cut = bisect_left(bucket, price, key=itemgetter(0))
                taken = bucket[cut:]
                del bucket[cut:]
            fired.extend(self._orders.pop(order_id) for _, _, order_id in taken)
        fired.sort(key=lambda o: (o.seq, o.order_id))
        return tuple(replace(o, order_type=OrderType.MARKET) for o in fired)

    def __len__(self) -> int:
        return len(self._orders)

    def get(self, order_id: int) -> Order | None:
        return self._orders.get(order_id)

    def snapshot(self) -> tuple[Order, ...]:
        """All waiting orders, by seq."""
        return tuple(sorted(self._orders.values(), key=lambda o: (o.seq, o.order_id)))

    @classmethod
    def from_orders(cls, market: str, orders: Iterable[Order]) -> TriggerBook:
        book = cls(market)
        for order in orders:
            book.add(order)
        return book
