"""A separate process for the reliability tests: real connections, real locks, killable.

    python tests/sandbox/race_worker.py setup
    python tests/sandbox/race_worker.py tick-race SANDBOX THREADS ROUNDS
    python tests/sandbox/race_worker.py order-race SANDBOX ACCOUNT MARKET THREADS
    python tests/sandbox/race_worker.py loop SANDBOX            (advance until killed)

Settings come from the environment (DATABASE_URL); each prints one JSON line.
"""

import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_edu.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from exchange_edu.sandbox import models, services  # noqa: E402
from exchange_edu.sandbox.errors import SandboxError  # noqa: E402


def _in_thread(fn, results, i):
    try:
        results[i] = fn()
    except Exception as exc:  # reported, counted by the test
        results[i] = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def _run_threads(fns):
    results = [None] * len(fns)
    threads = [threading.Thread(target=_in_thread, args=(fn, results, i)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def setup():
    sb = services.sandbox_create(preset="v1", seed=5, tick_seconds=600)
    maker = services.account_open(sandbox_id=sb.pk, label="maker")
    trader = services.account_open(sandbox_id=sb.pk, label="trader")
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="1000")
    market = models.Market.objects.get(sandbox=sb).market_id
    for side, price in (("buy", "9900"), ("sell", "10100")):
        services.order_place(sandbox_id=sb.pk, account_pk=maker.pk, market=market, side=side, quantity="1000000",
                             price=price, leverage="1")
    services.order_place(sandbox_id=sb.pk, account_pk=trader.pk, market=market, side="buy", order_type="market",
                         quantity="2000", leverage="5")
    return {"sandbox": sb.pk, "maker": maker.pk, "trader": trader.pk, "market": market}


def tick_race(sandbox_id, threads, rounds):
    applied = []
    for _ in range(rounds):
        seq = models.Sandbox.objects.get(pk=sandbox_id).tick_seq
        barrier = threading.Barrier(threads)

        def go(seq=seq, barrier=barrier):
            barrier.wait()
            return services.sandbox_advance(sandbox_id=sandbox_id, expected_tick_seq=seq).applied

        applied.append(sum(1 for r in _run_threads([go] * threads) if r is True))
    connection.close()
    return {"applied_per_round": applied, "tick_seq": models.Sandbox.objects.get(pk=sandbox_id).tick_seq}


def order_race(sandbox_id, account_pk, market, threads):
    barrier = threading.Barrier(threads + 1)

    def order(i):
        def go():
            barrier.wait()
            out = services.order_place(sandbox_id=sandbox_id, account_pk=account_pk, market=market,
                                       side="buy" if i % 2 else "sell", order_type="market", quantity="10")
            return str(out.filled_quantity)
        return go

    def ticker():
        barrier.wait()
        return sum(services.sandbox_advance(sandbox_id=sandbox_id).applied for _ in range(5))

    results = _run_threads([order(i) for i in range(threads)] + [ticker])
    errors = [r for r in results if isinstance(r, str) and ":" in r]
    return {"fills": [r for r in results[:-1] if r not in errors], "ticks": results[-1], "errors": errors}


def loop(sandbox_id):
    while True:
        try:
            out = services.sandbox_advance(sandbox_id=sandbox_id, require_running=False)
        except SandboxError as exc:
            print(json.dumps({"error": str(exc)}), flush=True)
            return None
        print(json.dumps({"tick_seq": out.tick_seq}), flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        result = setup()
    elif cmd == "tick-race":
        result = tick_race(int(args[0]), int(args[1]), int(args[2]))
    elif cmd == "order-race":
        result = order_race(int(args[0]), int(args[1]), args[2], int(args[3]))
    elif cmd == "loop":
        result = loop(int(args[0]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result), flush=True)
