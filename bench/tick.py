"""Tick cost with N open positions against the cost of touching N position rows once.

    python bench/tick.py --positions 10000 --json

Builds a persisted v1 sandbox (a maker and N traders, each long 100 contracts at 10x), then times
`services.sandbox_advance` (the first tick loads the state cold; later ones use the per-process
state cache keyed by the sandbox version) and, as the floor, one raw SQL UPDATE of the same N
position rows in a transaction. Uses DATABASE_URL (default: a throw-away SQLite file in VAR_DIR).
Prints one JSON line. Goal (reported, not asserted): tick within 3x the floor at 10,000 positions.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        tmp = tempfile.mkdtemp(prefix="bench-tick-")
        os.environ["VAR_DIR"] = tmp
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_edu.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from exchange_edu.sandbox import mappers, models, services

    t0 = time.perf_counter()
    sb = build(args.positions)
    build_s = time.perf_counter() - t0

    mappers.forget_state()
    cold = services.sandbox_advance(sandbox_id=sb.pk, require_running=False)
    warm = [services.sandbox_advance(sandbox_id=sb.pk, require_running=False).duration_ms
            for _ in range(args.ticks)]
    floor = []
    table = models.Position._meta.db_table
    for _ in range(args.ticks):
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"UPDATE {table} SET funding_snapshot = funding_snapshot WHERE sandbox_id = %s", [sb.pk])
            touched = cur.rowcount
        floor.append((time.perf_counter() - start) * 1000)
    result = {
        "positions": args.positions,
        "position_rows": models.Position.objects.filter(sandbox=sb).count(),
        "tick_ms_median": round(statistics.median(warm), 3),
        "floor_ms_median": round(statistics.median(floor), 3),
        "tick_cold_ms": round(cold.duration_ms, 3),
        "ratio": round(statistics.median(warm) / statistics.median(floor), 2),
        "rows_in_floor_update": touched,
        "database": connection.vendor,
        "build_s": round(build_s, 2),
    }
    print(json.dumps(result))


def build(n: int):
    """A v1 sandbox with n traders long 100 contracts each, built in memory and persisted once."""
    from decimal import Decimal

    from exchange_edu.engine.delta import Delta, apply_result
    from exchange_edu.sandbox import mappers, models, ops, services

    sb = services.sandbox_create(preset="v1", seed=1, running=False, name=f"bench {n}")
    rules = mappers.sandbox_rules(sb)
    state = mappers.state_from_db(sb, rules)
    market = next(iter(state.markets))
    entries = []

    def fold(delta):
        nonlocal state
        entries.extend(delta.entries)
        state = apply_result(state, delta)

    fold(ops.transfers_delta(state, rules, [("deposit", "BTC", Decimal(100000), "sys:external", "bench:maker")]))
    state = ops.with_settings(state, "bench:maker", market, leverage=Decimal(1), margin_mode=None)
    ask = ops.build_order(account_id="bench:maker", market_id=market, side="sell", order_type="limit",
                          quantity=Decimal(100 * n + 1000), price=Decimal("10050"), trigger_price=None,
                          trigger_on="mark", time_in_force="gtc", reduce_only=False)
    fold(ops.place(state, rules, ask).delta)
    for i in range(n):
        trader = f"bench:t{i}"
        fold(ops.transfers_delta(state, rules, [("faucet", "BTC", Decimal(1), "sys:external", trader)]))
        state = ops.with_settings(state, trader, market, leverage=Decimal(10), margin_mode=None)
        buy = ops.build_order(account_id=trader, market_id=market, side="buy", order_type="market",
                              quantity=Decimal(100), price=None, trigger_price=None, trigger_on="mark",
                              time_in_force="gtc", reduce_only=False)
        result = ops.place(state, rules, buy)
        assert result.rejected is None, result.rejected
        fold(result.delta)
    full = Delta(tick_seq=0, now=state.now, market_states=dict(state.market_states), accounts=dict(state.accounts),
                 positions=dict(state.positions), books=dict(state.books), triggers=dict(state.triggers),
                 next_order_id=state.next_order_id, next_order_seq=state.next_order_seq)
    mappers.persist_delta(sb, full, tick_seq=0)
    services.ledger_post(sandbox=sb, entries=entries, tick_seq=0, sim_time=0)
    models.Sandbox.objects.filter(pk=sb.pk).update(next_order_id=state.next_order_id,
                                                   next_order_seq=state.next_order_seq, version=sb.version + 1)
    sb.refresh_from_db()
    return sb


if __name__ == "__main__":
    main()
