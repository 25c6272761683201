"""Price paths: seeded synthetic walks, seeded bridges between known prices, and time lookups.

Design note
-----------
A path is a tuple of `PricePoint(t, price)`: `t` in whole seconds since the path's epoch, `price`
a `Decimal` on the path's tick grid. Floats are used only for the random draws and the log-price
arithmetic; each price becomes a `Decimal` once, at the end, so long paths stay fast.

Synthetic walk (`synthetic_path`), per step of dt seconds, in log-price x = ln(P):

    x' = x + drift x dt/Y + sigma x m(regime) x sqrt(dt/Y) x Z  [+ J if a jump fires]

with Y = 365 x 86,400 s (crypto trades every day), Z ~ N(0, 1), m(calm) = 1 and
m(volatile) = `volatile_multiplier`. The regime is a two-state Markov chain: a calm spell ends in a
step with probability p = 1 - exp(-dt / calm_mean_seconds), likewise for volatile spells. A jump
fires with probability jumps_per_day x dt / 86,400 and J ~ N(jump_mean_log, jump_std_log), so a
negative mean gives crashes more often than squeezes.

Bridge (`bridge`), between known points (t_a, P_a) and (t_b, P_b), T = t_b - t_a, in log-price:

    B(s) = x_a + (x_b - x_a) x s/T + W(s) - (s/T) x W(T),   W a Brownian motion with sigma

so B(0) = x_a, B(T) = x_b exactly, and Var B(s) = sigma^2 x s(T - s)/T: the wander grows with the
gap length and the volatility (midpoint std = sigma x sqrt(T)/2), and is never a straight line.
The noise of segment k comes from its own `random.Random` seeded with (seed, k) only, so any
window of a path can be built alone and equals the same slice of the whole path.

OHLC bridge (`bridge_ohlc`): inside each bar the path visits open (first step), the high and the
low at two seeded steps in a seeded order (low first is more likely when the bar closes up), and
the close (last step); the bridge between them is reflected into [low, high], so the bar's
extremes are exactly the path's extremes over that bar.

Every price is rounded to the tick and is at least one tick, so a price is never <= 0.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY
DEFAULT_TICK = Decimal("0.01")
# Probability that a bar visits its low before its high when it closes up (and the reverse when
# it closes down): a bar that ends up has more often dipped first than topped first.
NATURAL_ORDER_PROBABILITY = 0.7


@dataclass(frozen=True, slots=True)
class PricePoint:
    t: int  # seconds since the path's epoch
    price: Decimal


@dataclass(frozen=True, slots=True)
class OhlcBar:
    t: int  # bar open, seconds since the path's epoch
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True, slots=True)
class FundingPoint:
    t: int  # seconds since the path's epoch
    rate: Decimal  # fraction, positive = longs pay shorts
    interval_hours: int  # the period the rate is quoted for


@dataclass(frozen=True)
class SyntheticParams:
    """Parameters of the regime-switching jump walk (see the module note for the formula)."""

    start_price: Decimal = Decimal("10000")
    annual_volatility: float = 0.6  # calm regime, of log returns
    volatile_multiplier: float = 3.0
    calm_mean_seconds: float = 2 * SECONDS_PER_DAY  # mean length of a calm spell
    volatile_mean_seconds: float = 6 * 3600  # mean length of a volatile spell
    jumps_per_day: float = 0.5
    jump_mean_log: float = -0.02  # negative: crashes more likely than squeezes
    jump_std_log: float = 0.03
    drift_per_year: float = 0.0  # of log-price
    step_seconds: int = 60
    tick: Decimal = DEFAULT_TICK

    def __post_init__(self) -> None:
        if self.start_price <= 0 or self.tick <= 0 or self.step_seconds <= 0:
            raise ValueError("start_price, tick and step_seconds must be positive")
        if self.annual_volatility < 0 or self.volatile_multiplier < 0 or self.jump_std_log < 0:
            raise ValueError("volatilities must not be negative")
        if self.calm_mean_seconds <= 0 or self.volatile_mean_seconds <= 0:
            raise ValueError("mean regime lengths must be positive")
        if not 0 <= self.jumps_per_day * self.step_seconds / SECONDS_PER_DAY <= 1:
            raise ValueError("jumps_per_day must give a per-step jump probability in [0, 1]")

    @property
    def switch_probabilities(self) -> tuple[float, float]:
        """Per-step (calm -> volatile, volatile -> calm): p = 1 - exp(-dt / mean spell)."""
        dt = self.step_seconds
        return (1 - math.exp(-dt / self.calm_mean_seconds),
                1 - math.exp(-dt / self.volatile_mean_seconds))


@dataclass(frozen=True)
class SyntheticPath:
    """A synthetic path with what drove it: the regime of each step and the steps that jumped."""

    points: tuple[PricePoint, ...]
    volatile: tuple[bool, ...]  # volatile[i]: regime of the step that produced points[i + 1]
    jump_steps: tuple[int, ...]  # i such that the move points[i] -> points[i + 1] had a jump


def synthetic_walk(params: SyntheticParams, *, seed: int, steps: int) -> SyntheticPath:
    """`steps` moves of the regime-switching jump walk from `params.start_price` at t = 0.

    Returns steps + 1 points, t = 0, dt, 2 dt, ... All randomness comes from Random(seed).
    """
    if steps < 0:
        raise ValueError("steps must not be negative")
    rng = random.Random(seed)
    gauss, uniform = rng.gauss, rng.random
    dt = params.step_seconds
    sigma_calm = params.annual_volatility * math.sqrt(dt / SECONDS_PER_YEAR)
    sigma_volatile = sigma_calm * params.volatile_multiplier
    drift = params.drift_per_year * dt / SECONDS_PER_YEAR
    p_to_volatile, p_to_calm = params.switch_probabilities
    p_jump = params.jumps_per_day * dt / SECONDS_PER_DAY
    x = math.log(params.start_price)
    logs = [x]
    regimes: list[bool] = []
    jumps: list[int] = []
    is_volatile = False
    for i in range(steps):
        if uniform() < (p_to_calm if is_volatile else p_to_volatile):
            is_volatile = not is_volatile
        x += drift + (sigma_volatile if is_volatile else sigma_calm) * gauss(0.0, 1.0)
        if uniform() < p_jump:
            x += gauss(params.jump_mean_log, params.jump_std_log)
            jumps.append(i)
        regimes.append(is_volatile)
        logs.append(x)
    times = range(0, (steps + 1) * dt, dt)
    anchors = {0: params.start_price}
    points = _to_points(times, logs, anchors, params.tick)
    return SyntheticPath(points=points, volatile=tuple(regimes), jump_steps=tuple(jumps))


def synthetic_path(params: SyntheticParams, *, seed: int, steps: int) -> tuple[PricePoint, ...]:
    """The points of `synthetic_walk` (steps + 1 of them, deterministic for the seed)."""
    return synthetic_walk(params, seed=seed, steps=steps).points


# --- bridges -----------------------------------------------------------------------------------


def bridge(points: Sequence[PricePoint], *, step_seconds: int, seed: int, volatility: float,
           tick: Decimal = DEFAULT_TICK) -> tuple[PricePoint, ...]:
    """Fill between known points with a seeded Brownian bridge in log-price.

    Output times: t_k, t_k + step, ... (< t_{k+1}) for each gap, then the last known point, so
    every known point appears unchanged. `volatility` is annualised (0.8 = 80%/year).
    """
    return bridge_window(points, step_seconds=step_seconds, seed=seed, volatility=volatility,
                         tick=tick, start_s=None, end_s=None)


def bridge_window(points: Sequence[PricePoint], *, step_seconds: int, seed: int,
                  volatility: float, start_s: int | None, end_s: int | None,
                  tick: Decimal = DEFAULT_TICK) -> tuple[PricePoint, ...]:
    """The points of `bridge(points, ...)` with start_s <= t < end_s, bridging only those gaps."""
    _check_inputs(points, step_seconds, volatility)
    lo, hi = _window_bounds(start_s, end_s)
    sigma = volatility / math.sqrt(SECONDS_PER_YEAR)  # per sqrt(second)
    first = max(0, bisect_right(points, lo, key=_time) - 1)
    last = min(len(points) - 1, bisect_left(points, hi, key=_time))  # segments first..last-1
    _check_series(points[first:last + 1], 1)  # only what this window uses: windows stay cheap
    out_t: list[int] = []
    out_x: list[float] = []
    for k in range(first, last):
        a, b = points[k], points[k + 1]
        rng = random.Random(f"bridge:{seed}:{k}")
        seg_t = list(range(a.t, b.t, step_seconds))
        out_t.extend(seg_t)
        out_x.extend(_bridge_logs(rng, seg_t, b.t, math.log(a.price), math.log(b.price), sigma))
    if last == len(points) - 1:
        out_t.append(points[-1].t)
        out_x.append(math.log(points[-1].price))
    anchors = {p.t: p.price for p in points[first:last + 1]}
    return _window(_to_points(out_t, out_x, anchors, tick), lo, hi)


def bridge_ohlc(bars: Sequence[OhlcBar], *, bar_seconds: int, step_seconds: int, seed: int,
                volatility: float, tick: Decimal = DEFAULT_TICK) -> tuple[PricePoint, ...]:
    """Fill OHLC bars at `step_seconds`: open, high and low (seeded order and steps), close.

    Bar k covers steps t_k, t_k + step, ... < t_k + bar_seconds; the open sits on the first step
    and the close on the last, so step_seconds must be at most bar_seconds / 4. Missing bars
    (t_{k+1} > t_k + bar_seconds) are bridged freely from the close to the next open.
    """
    return bridge_ohlc_window(bars, bar_seconds=bar_seconds, step_seconds=step_seconds,
                              seed=seed, volatility=volatility, tick=tick,
                              start_s=None, end_s=None)


def bridge_ohlc_window(bars: Sequence[OhlcBar], *, bar_seconds: int, step_seconds: int,
                       seed: int, volatility: float, start_s: int | None, end_s: int | None,
                       tick: Decimal = DEFAULT_TICK) -> tuple[PricePoint, ...]:
    """The points of `bridge_ohlc(bars, ...)` with start_s <= t < end_s, bridging only those."""
    slots = -(-bar_seconds // step_seconds) if step_seconds > 0 else 0
    if slots < 4:
        raise ValueError(f"step_seconds={step_seconds} is too coarse for {bar_seconds} s bars: "
                         f"at most {bar_seconds // 4} s keeps open, high, low and close")
    _check_inputs(bars, step_seconds, volatility)
    lo, hi = _window_bounds(start_s, end_s)
    close_offset = (slots - 1) * step_seconds

    def close_time(b: OhlcBar) -> int:
        return b.t + close_offset

    sigma = volatility / math.sqrt(SECONDS_PER_YEAR)
    first = bisect_left(bars, lo, key=close_time)  # bars closing before the window: nothing in it
    last = min(len(bars), bisect_left(bars, hi, key=close_time) + 1)
    _check_series(bars[max(0, first - 1):last], bar_seconds)
    out_t: list[int] = []
    out_x: list[float] = []
    out_lim: list[tuple[int, int]] = []
    free = (1, 1 << 62)
    anchors: dict[int, Decimal] = {}
    for k in range(first, last):
        bar = bars[k]
        rng = random.Random(f"ohlc:{seed}:{k}")
        x_open = math.log(bar.open)
        if k > 0:  # from the previous close to this open: free, unless the bars are adjacent
            prev = bars[k - 1]
            gap_t = list(range(close_time(prev) + step_seconds, bar.t, step_seconds))
            out_t.extend(gap_t)
            out_x.extend(_bridge_logs(rng, [close_time(prev), *gap_t], bar.t,
                                      math.log(prev.close), x_open, sigma)[1:])
            out_lim.extend([free] * len(gap_t))
        i, j = sorted(rng.sample(range(1, slots - 1), 2))
        low_first = rng.random() < (NATURAL_ORDER_PROBABILITY if bar.close >= bar.open
                                    else 1 - NATURAL_ORDER_PROBABILITY)
        first_px, second_px = (bar.low, bar.high) if low_first else (bar.high, bar.low)
        legs = ((0, bar.open), (i, first_px), (j, second_px), (slots - 1, bar.close))
        x_low, x_high = math.log(bar.low), math.log(bar.high)
        bar_lim = _tick_limits(bar.low, bar.high, tick)
        for (s_a, px_a), (s_b, px_b) in pairwise(legs):
            seg_t = [bar.t + s * step_seconds for s in range(s_a, s_b)]
            xs = _bridge_logs(rng, seg_t, bar.t + s_b * step_seconds, math.log(px_a),
                              math.log(px_b), sigma)
            out_t.extend(seg_t)
            out_x.extend(_reflect(x, x_low, x_high) for x in xs)
        out_t.append(close_time(bar))
        out_x.append(math.log(bar.close))
        out_lim.extend([bar_lim] * (len(out_t) - len(out_lim)))  # this bar's steps
        for s, px in legs:
            anchors[bar.t + s * step_seconds] = px
    points = _to_points(out_t, out_x, anchors, tick, limits=out_lim)
    return _window(points, lo, hi)


# --- lookups -----------------------------------------------------------------------------------


def price_at(path: Sequence[PricePoint], t: int) -> Decimal:
    """The price of the latest point at or before t (sim seconds). ValueError before the start."""
    return point_at(path, t).price


def point_at(path: Sequence[PricePoint], t: int) -> PricePoint:
    i = bisect_right(path, t, key=_time) - 1
    if i < 0:
        raise ValueError(f"t={t} is before the path starts" if path else "the path is empty")
    return path[i]


def funding_at(schedule: Sequence[FundingPoint], t: int) -> FundingPoint | None:
    """The latest funding point at or before t, or None before the first one."""
    i = bisect_right(schedule, t, key=_time) - 1
    return schedule[i] if i >= 0 else None


def funding_between(schedule: Sequence[FundingPoint], start_s: int,
                    end_s: int) -> tuple[FundingPoint, ...]:
    """Funding points with start_s < t <= end_s: those due when the clock moves start -> end."""
    return tuple(schedule[bisect_right(schedule, start_s, key=_time):
                          bisect_right(schedule, end_s, key=_time)])


class PathCursor:
    """Looks up a path by sim time; remembers its position, so a clock moving forward costs O(1)."""

    def __init__(self, path: Sequence[PricePoint]) -> None:
        if not path:
            raise ValueError("the path is empty")
        self.path = path
        self._i = 0

    def point_at(self, t: int) -> PricePoint:
        path, i = self.path, self._i
        if path[i].t > t:  # the clock went back: search from scratch
            i = bisect_right(path, t, key=_time) - 1
            if i < 0:
                raise ValueError(f"t={t} is before the path starts")
        elif i + 1 < len(path) and path[i + 1].t <= t:
            if i + 2 < len(path) and path[i + 2].t <= t:  # more than one step: bisect
                i = bisect_right(path, t, lo=i, key=_time) - 1
            else:
                i += 1
        self._i = i
        return path[i]

    def price_at(self, t: int) -> Decimal:
        return self.point_at(t).price


# --- internals ---------------------------------------------------------------------------------


def _time(p: PricePoint | FundingPoint | OhlcBar) -> int:
    return p.t


def _check_inputs(items: Sequence[PricePoint] | Sequence[OhlcBar], step_seconds: int,
                  volatility: float) -> None:
    if not items:
        raise ValueError("nothing to bridge")
    if step_seconds <= 0:
        raise ValueError("step_seconds must be positive")
    if not (volatility >= 0 and math.isfinite(volatility)):
        raise ValueError("volatility must be a finite number >= 0")


def _check_series(items: Sequence[PricePoint] | Sequence[OhlcBar], min_gap: int) -> None:
    if any(b.t - a.t < min_gap for a, b in pairwise(items)):
        raise ValueError(f"times must increase by at least {min_gap} s")
    for p in items:
        if isinstance(p, PricePoint):
            if p.price <= 0:
                raise ValueError("prices must be positive")
        elif not 0 < p.low <= min(p.open, p.close) <= max(p.open, p.close) <= p.high:
            raise ValueError("every bar needs 0 < low <= open, close <= high")


def _window_bounds(start_s: int | None, end_s: int | None) -> tuple[float, float]:
    return (-math.inf if start_s is None else start_s, math.inf if end_s is None else end_s)


def _window(points: tuple[PricePoint, ...], lo: float, hi: float) -> tuple[PricePoint, ...]:
    if lo == -math.inf and hi == math.inf:
        return points
    return tuple(p for p in points if lo <= p.t < hi)


def _bridge_logs(rng: random.Random, seg_t: list[int], t_b: int, x_a: float, x_b: float,
                 sigma: float) -> list[float]:
    """Log-prices of a Brownian bridge at seg_t (seg_t[0] = t_a, where it equals x_a)."""
    t_a = seg_t[0]
    span = t_b - t_a
    gauss, sqrt = rng.gauss, math.sqrt
    w = 0.0
    walk = [0.0]
    append = walk.append
    last_dt, sd = 0, 0.0
    for t_prev, t_next in pairwise(seg_t):
        if t_next - t_prev != last_dt:  # the grid is regular: one sqrt per segment, not per step
            last_dt = t_next - t_prev
            sd = sigma * sqrt(last_dt)
        w += sd * gauss(0.0, 1.0)
        append(w)
    w_end = w + sigma * math.sqrt(t_b - seg_t[-1]) * gauss(0.0, 1.0)
    slope = (x_b - x_a - w_end) / span
    return [x_a + slope * (t - t_a) + wt for t, wt in zip(seg_t, walk, strict=True)]


def _reflect(x: float, lo: float, hi: float) -> float:
    """Fold x back into [lo, hi] like a ball between two walls (keeps the wiggle, no flat tops)."""
    width = hi - lo
    if width <= 0:
        return lo
    y = (x - lo) % (2 * width)
    return lo + (y if y <= width else 2 * width - y)


def _to_points(times: Sequence[int], logs: Sequence[float], anchors: dict[int, Decimal],
               tick: Decimal, limits: Sequence[tuple[int, int]] | None = None,
               ) -> tuple[PricePoint, ...]:
    """Turn log-prices into tick-rounded Decimal points; anchors keep their exact prices.

    `limits[i]` = (lowest, highest) number of ticks allowed for point i, so that rounding cannot
    poke above a bar's high or below its low. Without limits a price is at least one tick.
    """
    tick_f = float(tick)
    exp = math.exp
    out: list[PricePoint] = []
    append = out.append
    if limits is None:
        for t, x in zip(times, logs, strict=True):
            px = anchors.get(t)
            if px is None:
                px = Decimal(max(round(exp(x) / tick_f), 1)) * tick
            append(PricePoint(t, px))
    else:
        for t, x, (n_lo, n_hi) in zip(times, logs, limits, strict=True):
            px = anchors.get(t)
            if px is None:
                px = Decimal(min(max(round(exp(x) / tick_f), n_lo), n_hi)) * tick
            append(PricePoint(t, px))
    return tuple(out)


def _tick_limits(low: Decimal, high: Decimal, tick: Decimal) -> tuple[int, int]:
    """Whole ticks inside [low, high] (at least one tick, and never an empty range)."""
    n_lo = max(1, math.ceil(low / tick))
    return n_lo, max(n_lo, math.floor(high / tick))
