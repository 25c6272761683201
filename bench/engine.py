"""Engine benchmark: tick cost with many open positions, and multi-preset replay.

Usage: python bench/engine.py [--json]
Prints figures only; nothing here is asserted. Importing this module has no side effects.

* tick_ms[n]: median wall time of `apply_tick` over a market with n open isolated positions
  (half long, half short, liquidation prices spread 5-20% away) when the index moves 0.1% and
  nobody is liquidated. funding_tick_ms[n]: the tick that pays funding and re-keys the index.
* replay_s: `replay` of 8,760 hourly steps through the four presets v0, v1, v2, v3 (and per preset);
  replay_final_equity must not change with a speed-up.
* unified_tick_ms[n]: v3 (unified margin, lending pool) with n accounts, each with a BTC or ETH
  perpetual and a USDC balance (lent or borrowed): a quiet tick (0.1% move; the account index
  bisects, nobody is checked) and accrual_tick_ms, the hourly tick that realizes PnL, accrues the
  pool, pays funding and rebuilds the account index (O(accounts), once an hour).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def build_state(n_positions: int, seed: int = 7):
    from exchange_edu.engine.genesis import new_exchange
    from exchange_edu.engine.liquidation import build_index
    from exchange_edu.engine.numbers import engine_context
    from exchange_edu.engine.rules import V1
    from exchange_edu.engine.types import Account, MarginMode, Position, evolve

    rng = random.Random(seed)
    with engine_context():
        state = new_exchange(V1, index_price=Decimal(10000))
        market = next(iter(state.markets))
        positions = {}
        accounts = dict(state.accounts)
        for i in range(n_positions):
            side = 1 if i % 2 == 0 else -1
            size = Decimal(1000 * rng.randint(1, 50))
            entry = Decimal(10000 + rng.randint(-200, 200))
            lev = Decimal(rng.choice([5, 10, 20]))
            acct = f"trader{i}"
            margin = (size / entry / lev).quantize(Decimal("1e-8"))
            positions[(acct, market)] = Position(acct, market, side * size, entry, MarginMode.ISOLATED, lev,
                                                 margin, Decimal(0))
            accounts[acct] = Account(acct, {"BTC": margin * 2})
        oi = sum((p.size for p in positions.values() if p.size > 0), Decimal(0))
        ms = evolve(state.market_states[market], open_interest=oi)
        state = evolve(state, positions=positions, accounts=accounts,
                       market_states={**state.market_states, market: ms})
        index = build_index(state, V1, market)
        state = evolve(state, liquidation_index={market: index})
    return state, V1


def bench_tick(n: int, repeats: int = 15) -> tuple[float, float]:
    from exchange_edu.engine.step import TickInput, apply_tick

    state, rules = build_state(n)
    times = []
    price = Decimal(10000)
    for i in range(repeats):
        price = price * (Decimal("1.001") if i % 2 == 0 else Decimal("0.999"))
        tick = TickInput(i + 1, 60 * (i + 1), {"BTC": price})
        t0 = time.perf_counter()
        result = apply_tick(state, rules, tick)
        times.append((time.perf_counter() - t0) * 1000)
        assert not result.liquidations
    # the funding tick: pays funding and re-keys every position of the market
    ms = next(iter(state.market_states.values()))
    t0 = time.perf_counter()
    apply_tick(state, rules, TickInput(1, ms.next_funding_time, {"BTC": Decimal(10000)}))
    funding_ms = (time.perf_counter() - t0) * 1000
    return statistics.median(times), funding_ms


def build_unified_state(n_accounts: int, seed: int = 7):
    from exchange_edu.engine.account_index import build_account_index
    from exchange_edu.engine.genesis import new_exchange
    from exchange_edu.engine.numbers import engine_context
    from exchange_edu.engine.rules import V3
    from exchange_edu.engine.types import Account, MarginMode, Position, evolve

    rng = random.Random(seed)
    with engine_context():
        state = new_exchange(V3, index_price=Decimal(20000), index_prices={"BTC": Decimal(20000), "ETH": Decimal(1500)})
        markets = {"BTC": "BTC-PERP", "ETH": "ETH-PERP"}
        positions = {}
        accounts = dict(state.accounts)
        lent = borrowed = Decimal(0)
        oi = {m: Decimal(0) for m in markets.values()}
        for i in range(n_accounts):
            u = "BTC" if i % 4 < 2 else "ETH"
            m = markets[u]
            side = 1 if i % 2 == 0 else -1
            size = Decimal(rng.randint(10, 500))
            price = Decimal(20000 if u == "BTC" else 1500)
            entry = price * (1 + Decimal(rng.randint(-100, 100)) / 10000)
            acct = f"trader{i}"
            positions[(acct, m)] = Position(acct, m, side * size, entry, MarginMode.CROSS, Decimal(20))
            notional = size * state.markets[m].contract_size * price
            usdc = (notional * Decimal(rng.choice([-1, 1, 2, 3])) / 20).quantize(Decimal("0.000001"))
            accounts[acct] = Account(acct, {"USDC": usdc, "BTC": Decimal("0.05")}, interest_index={"USDC": Decimal(1)})
            lent += max(usdc, 0)
            borrowed += max(-usdc, 0)
            if side > 0:
                oi[m] += size
        # the counterparties keep the books balanced: one system-free whale per market
        for m, q in oi.items():
            shorts = sum((-p.size for (a, mm), p in positions.items() if mm == m and p.size < 0), Decimal(0))
            positions[("whale", m)] = Position("whale", m, shorts - q, Decimal(1), MarginMode.CROSS, Decimal(20))
            oi[m] = max(q, shorts)
        accounts["whale"] = Account("whale", {"USDC": Decimal(10) ** 9}, interest_index={"USDC": Decimal(1)})
        lent += Decimal(10) ** 9
        accounts["sys:external"] = Account("sys:external", {"USDC": -(lent - borrowed) - V3.insurance_seed,
                                                            "BTC": -Decimal("0.05") * n_accounts})
        accounts["sys:insurance"] = Account("sys:insurance", {"USDC": V3.insurance_seed})
        pools = {**state.pools, "USDC": evolve(state.pools["USDC"], lent_scaled=lent, borrowed_scaled=borrowed)}
        states = {m: evolve(ms, open_interest=oi.get(m, ms.open_interest)) for m, ms in state.market_states.items()}
        state = evolve(state, positions=positions, accounts=accounts, pools=pools, market_states=states)
        state = evolve(state, account_index=build_account_index(state, V3))
    return state, V3


def bench_unified_tick(n: int, repeats: int = 9) -> tuple[float, float]:
    from exchange_edu.engine.step import TickInput, apply_tick

    state, rules = build_unified_state(n)
    times = []
    btc, eth = Decimal(20000), Decimal(1500)
    for i in range(repeats):
        f = Decimal("1.001") if i % 2 == 0 else Decimal("0.999")
        btc, eth = btc * f, eth * f
        tick = TickInput(i + 1, 60 * (i + 1), {"BTC": btc, "ETH": eth})
        t0 = time.perf_counter()
        result = apply_tick(state, rules, tick)
        times.append((time.perf_counter() - t0) * 1000)
        assert not result.liquidations
    t0 = time.perf_counter()
    apply_tick(state, rules, TickInput(1, 3600, {"BTC": Decimal(20000), "ETH": Decimal(1500)}))
    accrual_ms = (time.perf_counter() - t0) * 1000
    return statistics.median(times), accrual_ms


def make_path(steps: int = 8760, seed: int = 1):
    rng = random.Random(seed)
    price = Decimal(10000)
    path = []
    for i in range(steps + 1):
        path.append((i * 3600, price.quantize(Decimal("0.01"))))
        price *= Decimal(str(round(1 + rng.gauss(0, 0.006), 6)))
    return path


def bench_replay() -> tuple[float, list[str], dict[str, str], dict[str, float]]:
    from exchange_edu.engine.replay import ReplayPosition, replay
    from exchange_edu.engine.rules import V0, V1, V2, V3

    presets = [V0, V1, V2, V3]
    path = make_path()
    position = ReplayPosition(True, Decimal(10000), Decimal(10), Decimal("0.2"))
    finals, per_preset = {}, {}
    for rules in presets:  # one preset per call (the same work as one call with all four)
        t0 = time.perf_counter()
        runs = replay(path, [rules], position)
        per_preset[rules.name] = time.perf_counter() - t0
        finals[rules.name] = str(runs[rules.name].final_equity)
    return sum(per_preset.values()), [p.name for p in presets], finals, per_preset


def main(argv: list[str]) -> int:
    _setup_path()
    tick = {}
    funding = {}
    for n in (1_000, 10_000, 100_000):
        tick[n], funding[n] = bench_tick(n)
    unified = {}
    accrual = {}
    for n in (1_000, 10_000):
        unified[n], accrual[n] = bench_unified_tick(n)
    replay_s, presets, finals, per_preset = bench_replay()
    out = {
        "tick_ms": {str(n): round(v, 3) for n, v in tick.items()},
        "funding_tick_ms": {str(n): round(v, 1) for n, v in funding.items()},
        "replay_s": round(replay_s, 3),
        "replay_s_by_preset": {k: round(v, 3) for k, v in per_preset.items()},
        "replay_steps": 8760,
        "replay_presets": presets,
        "replay_final_equity": finals,
        "unified_tick_ms": {str(n): round(v, 3) for n, v in unified.items()},
        "accrual_tick_ms": {str(n): round(v, 1) for n, v in accrual.items()},
    }
    if "--json" in argv:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
