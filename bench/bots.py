"""Bots benchmark: ticks per second of `apply_tick` driven by the default crowd under v1.

Usage: python bench/bots.py
Prints one JSON line; nothing here is asserted. Importing this module has no side effects.

The crowd is 2 market makers + 20 traders (`bots.default_crowd`), the index a 1,000-step synthetic
walk at 60 s a step (`paths.synthetic_path`, seed 1). `apply_tick_per_s` times `apply_tick`
alone; `loop_per_s` times the whole tick as the sandbox runs it (the crowd's orders, apply_tick,
apply_result, with_bot_settings). Also printed: orders and fills per tick, liquidations.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = 1_000
TRADERS = 20


def _setup_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def run(ticks: int = TICKS, traders: int = TRADERS, seed: int = 1) -> dict[str, object]:
    from exchange_edu.engine import bots
    from exchange_edu.engine.delta import apply_result
    from exchange_edu.engine.events import EventKind
    from exchange_edu.engine.genesis import new_exchange
    from exchange_edu.engine.paths import SyntheticParams, synthetic_path
    from exchange_edu.engine.rules import V1
    from exchange_edu.engine.step import TickInput, apply_tick

    path = synthetic_path(SyntheticParams(step_seconds=60), seed=seed, steps=ticks)
    p0 = path[0].price
    crowd = bots.default_crowd(V1, count=traders, seed=seed, index_price=p0)
    deposits = {a: amounts["BTC"] for a, amounts in bots.bot_deposits(V1, crowd).items()}
    state = bots.with_bot_settings(new_exchange(V1, index_price=p0, deposits=deposits), V1, crowd)
    tick_s = 0.0
    orders_n = fills = liquidations = 0
    t_loop = time.perf_counter()
    for point in path[1:]:
        seq = state.tick_seq + 1
        orders, cancels = bots.orders_for_tick(state, V1, crowd, seed=seed, tick_seq=seq)
        t0 = time.perf_counter()
        result = apply_tick(state, V1, TickInput(seq, point.t, {"BTC": point.price}, orders, cancels))
        tick_s += time.perf_counter() - t0
        state = bots.with_bot_settings(apply_result(state, result), V1, crowd)
        orders_n += len(orders)
        fills += sum(1 for e in result.events if e.kind is EventKind.FILL)
        liquidations += len(result.liquidations)
    loop_s = time.perf_counter() - t_loop
    return {
        "bench": "bots", "preset": "v1", "ticks": ticks, "market_makers": 2, "traders": traders,
        "apply_tick_per_s": round(ticks / tick_s, 1), "loop_per_s": round(ticks / loop_s, 1),
        "orders_per_tick": round(orders_n / ticks, 1), "fills_per_tick": round(fills / ticks, 2),
        "liquidations": liquidations,
    }


def main() -> int:
    _setup_path()
    print(json.dumps(run()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
