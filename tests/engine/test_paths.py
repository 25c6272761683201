"""Price paths: the synthetic walk, the seeded bridges and the time lookups (exchange_edu.engine.paths)."""

import math
import statistics
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_edu.engine.paths import (
    SECONDS_PER_YEAR,
    FundingPoint,
    OhlcBar,
    PathCursor,
    PricePoint,
    SyntheticParams,
    bridge,
    bridge_ohlc,
    bridge_ohlc_window,
    bridge_window,
    funding_at,
    funding_between,
    point_at,
    price_at,
    synthetic_path,
    synthetic_walk,
)


def pts(*pairs):
    return tuple(PricePoint(t, Decimal(p)) for t, p in pairs)


HOURLY = pts((0, "8759.51"), (3600, "8870.41"), (7200, "8801.10"), (18000, "7934.57"),
             (21600, "4841.67"), (25200, "5622.74"))
IRREGULAR = pts((0, "100"), (1000, "101.5"), (1001, "99"), (4630, "250.25"))


# --- bridge ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "points", "step"), [
    ("hourly index filled at one-minute steps", HOURLY, 60),
    ("hourly index filled at 7 s steps, which do not divide the hour", HOURLY, 7),
    ("gaps of 1 s, 1000 s and 3629 s at 100 s steps", IRREGULAR, 100),
    ("a single point is its own path", pts((5, "42")), 60),
])
def test_bridge_hits_every_known_point_exactly(case, points, step):
    path = bridge(points, step_seconds=step, seed=7, volatility=0.8)

    by_t = {p.t: p.price for p in path}
    assert all(by_t[p.t] == p.price for p in points), case
    assert path[0] == points[0]
    assert path[-1] == points[-1]


def test_bridge_steps_on_a_grid_from_each_known_point():
    path = bridge(IRREGULAR, step_seconds=100, seed=1, volatility=0.8)

    times = [p.t for p in path]
    # 0..900 by 100, then 1000, 1001, 1101 .. 4601, then 4630
    assert times == [*range(0, 1000, 100), 1000, *range(1001, 4630, 100), 4630]


def test_bridge_is_deterministic_for_a_seed_and_differs_for_another():
    first = bridge(HOURLY, step_seconds=60, seed=42, volatility=0.8)
    again = bridge(HOURLY, step_seconds=60, seed=42, volatility=0.8)
    other = bridge(HOURLY, step_seconds=60, seed=43, volatility=0.8)

    assert first == again
    assert first != other
    assert [p.t for p in first] == [p.t for p in other]


def test_bridge_is_not_a_straight_line_between_known_points():
    a, b = pts((0, "10000"), (3600, "10100"))
    path = bridge((a, b), step_seconds=60, seed=3, volatility=0.8)

    def linear(t):
        return a.price + (b.price - a.price) * Decimal(t) / Decimal(3600)

    deviations = [abs(p.price - linear(p.t)) for p in path[1:-1]]
    # 80%/year over an hour: midpoint std = 0.8 x sqrt(3600 / 31,536,000) / 2 = 0.43%, ~43 USD
    assert max(deviations) > Decimal("5")
    assert sum(1 for d in deviations if d > Decimal("0.01")) > len(deviations) // 2


@pytest.mark.parametrize(("case", "gap_s", "volatility"), [
    ("one hour at 80%/year", 3600, 0.8),
    ("one day at 80%/year: wider by sqrt(24)", 86_400, 0.8),
    ("one hour at 240%/year: three times wider", 3600, 2.4),
])
def test_bridge_wander_scales_with_gap_length_and_volatility(case, gap_s, volatility):
    ends = pts((0, "10000"), (gap_s, "10000"))
    mid = gap_s // 2

    logs = [math.log(price_at(bridge(ends, step_seconds=gap_s // 8, seed=s,
                                     volatility=volatility), mid) / Decimal(10000))
            for s in range(300)]

    # Brownian bridge: Var B(T/2) = sigma^2 x T / 4, sigma per sqrt(second)
    expected = volatility * math.sqrt(gap_s / SECONDS_PER_YEAR) / 2
    assert statistics.pstdev(logs) == pytest.approx(expected, rel=0.2), case


def test_bridge_stays_positive_through_a_collapse_with_huge_volatility():
    path = bridge(pts((0, "50000"), (86_400, "0.02"), (172_800, "0.01")), step_seconds=600,
                  seed=5, volatility=20.0)

    assert min(p.price for p in path) > 0


@pytest.mark.parametrize(("case", "start_s", "end_s"), [
    ("a window inside one gap", 100, 400),
    ("a window across several gaps", 3000, 20000),
    ("a window starting on a known point", 3600, 7200),
    ("open start", None, 5000),
    ("open end, including the last known point", 20000, None),
    ("the whole path", None, None),
    ("an empty window", 500, 500),
])
def test_a_window_equals_the_same_slice_of_the_full_bridge(case, start_s, end_s):
    full = bridge(HOURLY, step_seconds=60, seed=9, volatility=1.1)
    lo = -math.inf if start_s is None else start_s
    hi = math.inf if end_s is None else end_s

    window = bridge_window(HOURLY, step_seconds=60, seed=9, volatility=1.1, start_s=start_s,
                           end_s=end_s)

    assert window == tuple(p for p in full if lo <= p.t < hi), case


@pytest.mark.parametrize(("case", "points", "kwargs"), [
    ("no points", (), {}),
    ("times going back", pts((10, "1"), (5, "2")), {}),
    ("two points at the same time", pts((10, "1"), (10, "2")), {}),
    ("a zero price", pts((0, "0"), (60, "2")), {}),
    ("a zero step", pts((0, "1"), (60, "2")), {"step_seconds": 0}),
    ("a negative volatility", pts((0, "1"), (60, "2")), {"volatility": -0.1}),
])
def test_bridge_refuses_input_it_cannot_honour(case, points, kwargs):
    args = {"step_seconds": 10, "seed": 1, "volatility": 0.5} | kwargs
    with pytest.raises(ValueError):
        bridge(points, **args)


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"),
                                places=2), min_size=2, max_size=5),
    gaps=st.lists(st.integers(min_value=1, max_value=100_000), min_size=4, max_size=4),
    step=st.integers(min_value=1, max_value=20_000),
    volatility=st.floats(min_value=0.0, max_value=5.0),
    seed=st.integers(min_value=-(2**63), max_value=2**63),
)
def test_property_bridge_keeps_known_points_and_stays_positive(prices, gaps, step, volatility,
                                                               seed):
    times = [0]
    for gap in gaps[:len(prices) - 1]:
        times.append(times[-1] + gap)
    points = tuple(PricePoint(t, p) for t, p in zip(times, prices, strict=True))
    step = max(step, times[-1] // 300)  # at most ~300 steps a path, so 200 examples stay fast

    path = bridge(points, step_seconds=step, seed=seed, volatility=volatility)

    by_t = {p.t: p.price for p in path}
    assert all(by_t[p.t] == p.price for p in points)
    assert all(p.price > 0 for p in path)
    assert all(a.t < b.t for a, b in pairwise(path))


# --- OHLC bridge -------------------------------------------------------------------------------


def bar(t, o, h, lo, c):
    return OhlcBar(t, Decimal(o), Decimal(h), Decimal(lo), Decimal(c))


MINUTES = (
    bar(0, "19650.02", "19650.02", "19505.0", "19516.96"),
    bar(60, "19516.93", "19597.16", "19516.91", "19567.63"),
    bar(120, "19567.63", "19891.99", "19540.00", "19800.00"),
    bar(300, "19790.00", "19810.00", "19010.00", "19100.00"),  # two minutes missing before it
)


def test_ohlc_bridge_visits_open_high_low_and_close_and_stays_inside_each_candle():
    path = bridge_ohlc(MINUTES, bar_seconds=60, step_seconds=5, seed=11, volatility=1.0)

    for b in MINUTES:
        inside = [p.price for p in path if b.t <= p.t < b.t + 60]
        assert inside[0] == b.open  # at the bar's first step
        assert inside[-1] == b.close  # at its last step (t + 55)
        assert max(inside) == b.high
        assert min(inside) == b.low
    assert max(p.price for p in path) == Decimal("19891.99")


def test_ohlc_bridge_fills_missing_bars_at_every_step():
    path = bridge_ohlc(MINUTES, bar_seconds=60, step_seconds=5, seed=11, volatility=1.0)

    assert [p.t for p in path] == list(range(0, 360, 5))
    gap = [p.price for p in path if 175 < p.t < 300]  # from 19,800.00 (t=175) to 19,790.00
    assert len(set(gap)) > 10


def test_ohlc_bridge_orders_high_and_low_by_seed():
    bars = tuple(bar(60 * k, "100", "101", "99", "100") for k in range(40))
    orders = set()
    for seed in (1, 2):
        path = bridge_ohlc(bars, bar_seconds=60, step_seconds=5, seed=seed, volatility=0.5)
        for b in bars:
            inside = [p for p in path if b.t <= p.t < b.t + 60]
            t_high = next(p.t for p in inside if p.price == b.high)
            t_low = next(p.t for p in inside if p.price == b.low)
            orders.add("high first" if t_high < t_low else "low first")
    assert orders == {"high first", "low first"}
    assert bridge_ohlc(bars, bar_seconds=60, step_seconds=5, seed=1, volatility=0.5) == \
        bridge_ohlc(bars, bar_seconds=60, step_seconds=5, seed=1, volatility=0.5)


@pytest.mark.parametrize(("case", "start_s", "end_s"), [
    ("inside one candle", 70, 100),
    ("across the missing minutes", 150, 320),
    ("open ends", None, None),
    ("from a candle's close step", 55, 65),
])
def test_an_ohlc_window_equals_the_same_slice_of_the_full_path(case, start_s, end_s):
    full = bridge_ohlc(MINUTES, bar_seconds=60, step_seconds=5, seed=4, volatility=1.0)
    lo = -math.inf if start_s is None else start_s
    hi = math.inf if end_s is None else end_s

    window = bridge_ohlc_window(MINUTES, bar_seconds=60, step_seconds=5, seed=4, volatility=1.0,
                                start_s=start_s, end_s=end_s)

    assert window == tuple(p for p in full if lo <= p.t < hi), case


@pytest.mark.parametrize(("case", "bars", "step"), [
    ("a step too coarse to show four prices per bar", MINUTES, 20),
    ("a low above the open", (bar(0, "100", "101", "100.5", "100.7"),), 5),
    ("a high below the close", (bar(0, "100", "100.5", "99", "101"),), 5),
])
def test_ohlc_bridge_refuses_input_it_cannot_honour(case, bars, step):
    with pytest.raises(ValueError):
        bridge_ohlc(bars, bar_seconds=60, step_seconds=step, seed=1, volatility=1.0)


# --- synthetic walk ----------------------------------------------------------------------------

DAY_OF_MINUTES = 1440


def test_synthetic_path_is_deterministic_for_a_seed():
    params = SyntheticParams()

    first = synthetic_path(params, seed=2024, steps=DAY_OF_MINUTES)

    assert first == synthetic_path(params, seed=2024, steps=DAY_OF_MINUTES)
    assert first != synthetic_path(params, seed=2025, steps=DAY_OF_MINUTES)
    assert len(first) == DAY_OF_MINUTES + 1
    assert first[0] == PricePoint(0, Decimal("10000"))
    assert [p.t for p in first[:3]] == [0, 60, 120]


@pytest.mark.parametrize(("case", "tick"), [("cents", "0.01"), ("half dollars", "0.5")])
def test_synthetic_prices_are_positive_and_on_the_tick(case, tick):
    params = SyntheticParams(start_price=Decimal("5"), annual_volatility=3.0,
                             tick=Decimal(tick), jumps_per_day=20, jump_mean_log=-0.3)

    path = synthetic_path(params, seed=1, steps=5000)

    assert all(p.price > 0 for p in path), case
    assert all(p.price % Decimal(tick) == 0 for p in path), case


def test_synthetic_walk_switches_regimes_and_volatile_spells_move_more():
    # 30 days of minutes: calm spells average 2 days, volatile ones 6 hours
    walk = synthetic_walk(SyntheticParams(jumps_per_day=0), seed=8, steps=30 * DAY_OF_MINUTES)
    logs = [math.log(p.price) for p in walk.points]
    returns = [b - a for a, b in pairwise(logs)]
    calm = [r for r, v in zip(returns, walk.volatile, strict=True) if not v]
    volatile = [r for r, v in zip(returns, walk.volatile, strict=True) if v]
    switches = sum(1 for a, b in pairwise(walk.volatile) if a != b)

    assert switches >= 4
    assert 0.05 < len(volatile) / len(returns) < 0.3  # expected 6 h / (48 h + 6 h) = 11%
    # volatile_multiplier = 3: the volatile spells' std is about three times the calm one
    assert statistics.pstdev(volatile) / statistics.pstdev(calm) == pytest.approx(3, rel=0.15)
    # calm: 60%/year x sqrt(60 s / year) = 0.083% per minute
    assert statistics.pstdev(calm) == pytest.approx(0.6 * math.sqrt(60 / SECONDS_PER_YEAR),
                                                    rel=0.1)


def test_synthetic_walk_jumps_about_as_often_as_asked_and_mostly_down():
    params = SyntheticParams(jumps_per_day=2, jump_mean_log=-0.05, jump_std_log=0.02)
    walk = synthetic_walk(params, seed=12, steps=30 * DAY_OF_MINUTES)
    moves = [math.log(walk.points[i + 1].price / walk.points[i].price) for i in walk.jump_steps]

    assert 40 <= len(walk.jump_steps) <= 80  # 2 a day for 30 days = 60 expected
    assert sum(1 for m in moves if m < 0) > 0.8 * len(moves)
    assert statistics.mean(moves) == pytest.approx(-0.05, abs=0.01)


def test_synthetic_switch_probabilities_follow_the_mean_spell_lengths():
    params = SyntheticParams(step_seconds=3600, calm_mean_seconds=86_400,
                             volatile_mean_seconds=3600)

    to_volatile, to_calm = params.switch_probabilities

    assert to_volatile == pytest.approx(1 - math.exp(-1 / 24))  # 4.1% per hourly step
    assert to_calm == pytest.approx(1 - math.exp(-1))  # 63%


@pytest.mark.parametrize(("case", "kwargs"), [
    ("a zero start price", {"start_price": Decimal("0")}),
    ("a negative volatility", {"annual_volatility": -0.1}),
    ("a zero tick", {"tick": Decimal("0")}),
    ("more than one jump per step", {"jumps_per_day": 2000}),
])
def test_synthetic_params_refuse_nonsense(case, kwargs):
    with pytest.raises(ValueError):
        SyntheticParams(**kwargs)


# --- lookups -----------------------------------------------------------------------------------

LOOKUP = pts((0, "100"), (60, "101"), (120, "102"))


@pytest.mark.parametrize(("case", "t", "expected"), [
    ("exactly on the first point", 0, "100"),
    ("between points: the latest one before", 59, "100"),
    ("exactly on a later point", 60, "101"),
    ("after the end: the last point", 10_000, "102"),
])
def test_price_at_returns_the_latest_point_at_or_before_t(case, t, expected):
    assert price_at(LOOKUP, t) == Decimal(expected), case
    assert PathCursor(LOOKUP).price_at(t) == Decimal(expected), case


def test_price_at_refuses_times_before_the_path():
    with pytest.raises(ValueError, match="before the path starts"):
        price_at(LOOKUP, -1)
    with pytest.raises(ValueError, match="before the path starts"):
        PathCursor(LOOKUP).price_at(-1)


def test_a_cursor_follows_a_clock_forward_and_back():
    path = bridge(HOURLY, step_seconds=60, seed=1, volatility=0.8)
    cursor = PathCursor(path)

    for t in [*range(0, 25_300, 17), 30, 7000, 7000, 25_199, 3]:
        assert cursor.point_at(t) == point_at(path, t)


FUNDING = (FundingPoint(0, Decimal("0.0001"), 8), FundingPoint(28_800, Decimal("-0.00375"), 8),
           FundingPoint(57_600, Decimal("0.0002"), 8))


@pytest.mark.parametrize(("case", "t", "expected"), [
    ("before the first funding", -1, None),
    ("at a funding time", 28_800, Decimal("-0.00375")),
    ("between funding times: the last one", 50_000, Decimal("-0.00375")),
])
def test_funding_at_returns_the_latest_funding_at_or_before_t(case, t, expected):
    found = funding_at(FUNDING, t)
    assert (found.rate if found else None) == expected, case


def test_funding_between_lists_the_fundings_a_clock_step_passes():
    # the clock moves from 0 (exclusive) to 57,600 (inclusive): two fundings are due
    assert funding_between(FUNDING, 0, 57_600) == FUNDING[1:]
    assert funding_between(FUNDING, 28_800, 28_801) == ()
