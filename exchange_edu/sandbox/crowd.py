"""A stand-in crowd for `manage.py simulate` and the bench until the bots module lands.

`DemoCrowd(maker, traders).orders_for_tick(state, rules, seed, tick_seq)` has the signature the
bots module will provide: a market maker re-quotes five levels a side around the index every tick,
and traders open or close market orders at random (seeded by (seed, tick_seq): replays exactly).
"""

from __future__ import annotations

import random
from decimal import Decimal

from exchange_edu.engine.book import Order, OrderType, Side


class DemoCrowd:
    def __init__(self, maker: str, traders: list[str], *, levels: int = 5, level_qty: Decimal = Decimal(20000),
                 step: Decimal = Decimal("0.001"), activity: float = 0.08) -> None:
        self.maker, self.traders = maker, traders
        self.levels, self.level_qty, self.step, self.activity = levels, level_qty, step, activity

    def orders_for_tick(self, state, rules, seed: int, tick_seq: int):
        rng = random.Random(seed * 7_919 + tick_seq)
        orders: list[Order] = []
        cancels: list[tuple[str, int]] = []
        for m, market in state.markets.items():
            ms = state.market_states[m]
            if ms.status.value != "open":
                continue
            book = state.books.get(m)
            if book is not None:
                cancels.extend((m, o.order_id) for o in book.orders_of(self.maker))
            tick = market.tick_size
            qty = self.level_qty if market.is_inverse else (self.level_qty / ms.index_price).quantize(Decimal("0.001"))
            for i in range(1, self.levels + 1):
                off = self.step * i
                bid = (ms.index_price * (1 - off) / tick).to_integral_value() * tick
                ask = (ms.index_price * (1 + off) / tick).to_integral_value() * tick
                orders.append(Order(0, self.maker, m, Side.BUY, OrderType.LIMIT, qty, bid))
                orders.append(Order(0, self.maker, m, Side.SELL, OrderType.LIMIT, qty, ask))
            for trader in self.traders:
                if rng.random() >= self.activity:
                    continue
                pos = state.position(trader, m)
                if pos is not None and pos.size and rng.random() < 0.3:
                    side = Side.SELL if pos.size > 0 else Side.BUY
                    orders.append(Order(0, trader, m, side, OrderType.MARKET, abs(pos.size), None, reduce_only=True))
                    continue
                size = Decimal(rng.choice((500, 1000, 2000, 5000))) if market.is_inverse else \
                    Decimal(rng.choice(("0.05", "0.1", "0.2")))
                orders.append(Order(0, trader, m, rng.choice((Side.BUY, Side.SELL)), OrderType.MARKET, size, None))
        return orders, cancels
