"""Matching throughput of exchange_edu.engine.book: random limit and market orders on one book.

    .venv/bin/python bench/book.py --json         # one JSON line
    .venv/bin/python bench/book.py --orders 20000 # a quicker human-readable run

Orders are generated up front from a seeded ``random.Random`` (never the global one) around a
mid price that random-walks, so a run is repeatable; only ``OrderBook.submit`` is timed.
Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TICK = Decimal("0.5")


def make_orders(count: int, seed: int) -> list:
    from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce

    rng = random.Random(seed)
    mid_ticks = 20_000  # 10,000 USD
    orders = []
    for order_id in range(1, count + 1):
        mid_ticks += rng.choice((-1, 0, 1))
        side = rng.choice((Side.BUY, Side.SELL))
        quantity = Decimal(rng.randint(1, 100))
        account = f"acct-{rng.randrange(50)}"
        if rng.random() < 0.3:
            orders.append(Order(order_id, account, "XBTUSD", side, OrderType.MARKET, quantity, None,
                                seq=order_id))
            continue
        # mostly passive quotes up to 20 ticks away, sometimes crossing by up to 3 ticks
        away = rng.randint(-3, 20)
        price = (mid_ticks - side.sign * away) * TICK
        tif = rng.choices((TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY), (8, 1, 1))[0]
        orders.append(Order(order_id, account, "XBTUSD", side, OrderType.LIMIT, quantity, price,
                            time_in_force=tif, seq=order_id))
    return orders


def run(count: int = 100_000, seed: int = 1) -> dict:
    from exchange_edu.engine.book import OrderBook

    orders = make_orders(count, seed)
    book = OrderBook("XBTUSD", TICK)
    fills = rejected = 0
    started = time.perf_counter()
    for order in orders:
        result = book.submit(order)
        fills += len(result.fills)
        rejected += result.rejected is not None
    seconds = time.perf_counter() - started
    return {
        "bench": "engine.book.submit",
        "orders": count,
        "seconds": round(seconds, 3),
        "orders_per_s": round(count / seconds),
        "fills": fills,
        "fills_per_s": round(fills / seconds),
        "post_only_rejected": rejected,
        "resting_at_end": len(book),
        "python": sys.version.split()[0],
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    report = run(args.orders, args.seed)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
