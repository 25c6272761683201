"""Where a tick's index price comes from: the sandbox's price source plus instructor shocks.

The price sources live in `exchange_edu.pricesources` (`list_sources()`, `build_window(name, *,
seed, step_seconds, start_s, end_s)` returning PricePoint(t, price)). Windows are fetched in
chunks and cached per process, so a tick costs a dict lookup. Until that module lands, a small
seeded random walk stands in for "synthetic" (same call shape, same determinism: the price of a
tick depends only on the seed, the step and the tick's time).

Shocks multiply the source price: a GAP moves it by `magnitude` linearly over `ticks` ticks and
stays there; a WICK does the same and then returns over as many ticks.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import SandboxError

CHUNK_STEPS = 4096
PRICE_QUANTUM = Decimal("0.01")
FALLBACK_START_PRICE = Decimal(10000)


def _module() -> Any:
    try:
        from exchange_edu import pricesources
    except ImportError:
        return None
    return pricesources


def list_sources() -> list[str]:
    mod = _module()
    if mod is None:
        return ["synthetic"]
    names = []
    for s in mod.list_sources():
        names.append(s if isinstance(s, str) else getattr(s, "name", str(s)))
    return names


def validate_source(name: str, *, step_seconds: int) -> None:
    if not isinstance(name, str) or not name:
        raise SandboxError("price_source", "must be a source name such as 'synthetic'")
    known = list_sources()
    if name not in known:
        raise SandboxError("price_source", f"unknown price source {name!r}; available: {', '.join(known)}")
    mod = _module()
    spec = mod.get_source(name) if mod is not None else None
    limit = getattr(spec, "max_step_seconds", None)
    if limit is not None and step_seconds > limit:
        raise SandboxError("tick_seconds", f"{name} needs at most {limit} sim seconds per tick")


def source_epoch(name: str) -> datetime | None:
    """UTC datetime of t = 0 for a history source (its first data point); None for synthetic."""
    mod = _module()
    if mod is None:
        return None
    return getattr(mod.get_source(name), "start", None)


@functools.lru_cache(maxsize=256)
def _window(name: str, seed: int, step_seconds: int, chunk: int) -> dict[int, Decimal]:
    start = chunk * CHUNK_STEPS * step_seconds
    end = start + CHUNK_STEPS * step_seconds
    mod = _module()
    if mod is None:
        return _fallback_window(seed, step_seconds, start, end)
    try:
        if mod.get_source(name).kind == "synthetic":
            points = mod.build_path(name, seed=seed, step_seconds=step_seconds, start_offset_s=start,
                                    steps=CHUNK_STEPS)
        else:
            points = mod.build_window(name, seed=seed, step_seconds=step_seconds, start_s=start, end_s=end)
    except (KeyError, ValueError) as exc:
        raise SandboxError("price_source", str(exc)) from None
    return {int(p.t): Decimal(str(p.price)) for p in points}


def source_price(name: str, *, seed: int, step_seconds: int, t: int) -> Decimal:
    """The source's price at sim second `t` (the last point at or before `t`)."""
    chunk = t // (CHUNK_STEPS * step_seconds)
    window = _window(name, seed, step_seconds, chunk)
    if t in window:
        return window[t]
    earlier = [k for k in window if k <= t]
    if earlier:
        return window[max(earlier)]
    if window:
        return window[min(window)]
    raise SandboxError("price_source", f"{name} has no price at t={t}")


def shock_factor(shocks: Iterable[Any], tick_seq: int) -> Decimal:
    """Product of (1 + shock move) over the shocks active at `tick_seq`."""
    factor = Decimal(1)
    for s in shocks:
        n = max(int(s.ticks), 1)
        k = tick_seq - int(s.start_seq) + 1  # 1 on the shock's first tick
        if k <= 0:
            continue
        m = Decimal(s.magnitude)
        if s.kind == "gap":
            move = m * min(k, n) / n
        elif s.kind == "wick":
            move = m * k / n if k <= n else m * max(0, 2 * n - k) / n
        else:
            continue
        factor *= 1 + move
    return factor


def index_price(name: str, *, seed: int, step_seconds: int, t: int, tick_seq: int,
                shocks: Iterable[Any] = ()) -> tuple[Decimal, Decimal]:
    """(index price with shocks, source price) for the tick at sim second `t`."""
    base = source_price(name, seed=seed, step_seconds=step_seconds, t=t)
    price = (base * shock_factor(shocks, tick_seq)).quantize(PRICE_QUANTUM)
    return max(price, PRICE_QUANTUM), base


# -- stand-in synthetic path (used only while exchange_edu.pricesources is missing) -----------


def _fallback_window(seed: int, step_seconds: int, start: int, end: int) -> dict[int, Decimal]:
    """Seeded log-normal walk, 60% annual volatility, rare 3-8% jumps; one point per step.

    Computed from t = 0 each time a chunk is built (chunks are cached), so the price at t depends
    only on (seed, step, t).
    """
    sigma = 0.6 * math.sqrt(step_seconds / (365 * 86400))
    rng = random.Random(f"exchange-edu:{seed}:{step_seconds}")
    log_p = math.log(float(FALLBACK_START_PRICE))
    out: dict[int, Decimal] = {}
    t = 0
    while t < end:
        if t >= start:
            out[t] = Decimal(str(round(math.exp(log_p), 2)))
        jump = rng.choice((-1, 1)) * rng.uniform(0.03, 0.08) if rng.random() < 0.002 else 0.0
        log_p += sigma * rng.gauss(0.0, 1.0) + jump
        t += step_seconds
    return out
