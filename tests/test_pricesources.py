"""Price sources: the shipped CSVs loaded, bridged and listed (exchange_edu.pricesources)."""

import math
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from exchange_edu import pricesources
from exchange_edu.engine.paths import price_at
from exchange_edu.pricesources import (
    SOURCES,
    UnknownSource,
    build_path,
    build_window,
    format_source_list,
    get_source,
    list_sources,
    load_bars,
    load_funding,
    load_points,
    source_datetime,
    source_time,
)

HISTORY = [s.name for s in list_sources() if s.kind != "synthetic"]


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("name", "rows"), [
    ("history:btc-daily", 4_383),
    ("history:btc-2017-12-17", 1_440),
    ("history:btc-2020-03", 384),
    ("history:btc-2019-2021", 16_008),
    ("history:eth-2016-2017", 551),
])
def test_every_history_source_loads_all_rows_of_its_file(name, rows):
    points = load_points(name)
    spec = get_source(name)

    assert len(points) == rows  # SOURCES.md row counts
    assert points[0].t == 0
    assert source_datetime(name, 0) == spec.start
    assert source_datetime(name, points[-1].t) == spec.end
    assert all(a.t < b.t for a, b in pairwise(points))
    assert all(p.price > 0 for p in points)


def test_the_registry_names_and_describes_every_source():
    assert set(SOURCES) == {"synthetic", "history:btc-2020-03", "history:btc-2017-12-17",
                            "history:btc-2019-2021", "history:btc-daily",
                            "history:eth-2016-2017"}
    for spec in list_sources():
        assert spec.title
        assert spec.description.endswith(".")
        assert spec.asset in {"BTC", "ETH"}
        assert spec.attribution
        assert spec.licence
    assert {s.name: s.resolution_seconds for s in list_sources()} == {
        "synthetic": None, "history:btc-2020-03": 3600, "history:btc-2017-12-17": 60,
        "history:btc-2019-2021": 3600, "history:btc-daily": 86_400,
        "history:eth-2016-2017": 86_400}


@pytest.mark.parametrize(("case", "name", "when", "price"), [
    ("312: the 2020-03-12 Bitstamp close, placed at the midnight ending that day",
     "history:btc-daily", "2020-03-13T00:00", "4841.67"),
    ("the 2017 maximum close on 2017-12-16", "history:btc-daily", "2017-12-17T00:00", "19187.78"),
    ("the Deribit index low of the 312 crash", "history:btc-2020-03", "2020-03-13T02:00",
     "4198.69"),
    ("the 2017-12-17 open", "history:btc-2017-12-17", "2017-12-17T00:00", "19650.02"),
])
def test_plausibility_values_from_sources_md(case, name, when, price):
    t = source_time(name, utc(when))

    assert price_at(load_points(name), t) == Decimal(price), case


def test_the_minute_bars_hold_the_2017_high_and_the_bridged_path_reaches_it():
    bars = load_bars("history:btc-2017-12-17")
    path = build_path("history:btc-2017-12-17", seed=1, step_seconds=15)

    assert max(b.high for b in bars) == Decimal("19891.99")
    assert max(p.price for p in path) == Decimal("19891.99")  # 12:36 UTC
    assert min(p.price for p in path) == Decimal("19010.00")
    t_high = next(p.t for p in path if p.price == Decimal("19891.99"))
    assert source_datetime("history:btc-2017-12-17", t_high).strftime("%H:%M") == "12:36"


def test_eth_daily_bars_show_the_dao_hack_low_and_keep_their_gaps():
    bars = load_bars("history:eth-2016-2017")

    assert min(b.low for b in bars) < Decimal("10.2")  # June 2016, low 10.17 per SOURCES.md
    days = [b.t // 86_400 for b in bars]
    missing = sum(b - a - 1 for a, b in pairwise(days))
    assert missing == 13  # 2016-08-03..06 and 2017-10-02..10


def test_btc_2020_03_comes_with_bitmex_funding_for_its_window():
    funding = load_funding("history:btc-2020-03")
    name = "history:btc-2020-03"
    at_0400 = [f for f in funding if f.t == source_time(name, utc("2020-03-13T04:00"))]

    assert len(funding) == 16 * 3  # 04:00, 12:00, 20:00 for 16 days
    assert at_0400[0].rate == Decimal("-0.00375")  # the BitMEX floor after 312
    assert at_0400[0].interval_hours == 8
    assert all(0 <= f.t <= get_source(name).duration_seconds for f in funding)


@pytest.mark.parametrize(("name", "rows", "hours"), [
    ("history:btc-2019-2021", 16_008, 8),
    ("history:btc-daily", 0, None),
    ("history:btc-2017-12-17", 0, None),
    ("history:eth-2016-2017", 0, None),
    ("synthetic", 0, None),
])
def test_each_source_names_its_funding_series(name, rows, hours):
    funding = load_funding(name)

    assert len(funding) == rows
    assert {f.interval_hours for f in funding} == ({hours} if hours else set())


def test_the_whole_bitmex_file_has_its_documented_row_count():
    rows = pricesources._read(pricesources.BITMEX_FUNDING_FILE)
    assert len(rows) == 4_866


def test_a_bridged_history_path_hits_every_data_point():
    name = "history:btc-2020-03"
    path = build_path(name, seed=3, step_seconds=60)
    by_t = {p.t: p.price for p in path}

    assert len(path) == 383 * 60 + 1
    assert all(by_t[p.t] == p.price for p in load_points(name))
    assert build_path(name, seed=3, step_seconds=60) == path
    assert build_path(name, seed=4, step_seconds=60) != path


@pytest.mark.parametrize(("case", "name", "step", "start_s", "end_s"), [
    ("a day of the 312 window at minutes", "history:btc-2020-03", 60, 86_400 * 7, 86_400 * 9),
    ("eth across the August 2016 halt, hourly", "history:eth-2016-2017", 3600,
     86_400 * 120, 86_400 * 130),
    ("the end of the minute day", "history:btc-2017-12-17", 15, 86_000, None),
])
def test_a_window_of_a_source_equals_the_slice_of_its_full_path(case, name, step, start_s,
                                                                  end_s):
    full = build_path(name, seed=5, step_seconds=step)
    hi = math.inf if end_s is None else end_s

    window = build_window(name, seed=5, step_seconds=step, start_s=start_s, end_s=end_s)

    assert window == tuple(p for p in full if start_s <= p.t < hi), case
    assert window


def test_the_three_hour_hole_of_2020_08_27_is_bridged_not_drawn_straight():
    name = "history:btc-2019-2021"
    points = load_points(name)
    hole = next((a, b) for a, b in pairwise(points) if b.t - a.t > 3600)
    assert source_datetime(name, hole[0].t).date().isoformat() == "2020-08-27"

    window = build_window(name, seed=1, step_seconds=60, start_s=hole[0].t, end_s=hole[1].t + 1)

    assert [p.t for p in window] == list(range(hole[0].t, hole[1].t + 1, 60))
    slope = (hole[1].price - hole[0].price) / (hole[1].t - hole[0].t)
    off_line = [p for p in window if abs(p.price - hole[0].price - slope * (p.t - hole[0].t)) > 1]
    assert len(off_line) > len(window) // 2


def test_build_path_takes_an_offset_and_a_step_count():
    name = "history:btc-daily"
    t = source_time(name, utc("2020-03-10T00:00"))

    path = build_path(name, seed=1, step_seconds=3600, start_offset_s=t, steps=24 * 4)

    assert len(path) == 96
    assert path[0].t == t
    assert path[-1].t == t + 95 * 3600
    assert price_at(path, source_time(name, utc("2020-03-13T00:00"))) == Decimal("4841.67")


def test_synthetic_source_starts_at_ten_thousand_and_replays_for_a_seed():
    path = build_path("synthetic", seed=77, step_seconds=60, steps=600)

    assert len(path) == 600
    assert path[0].price == Decimal("10000")
    assert path == build_path("synthetic", seed=77, step_seconds=60, steps=600)
    assert build_path("synthetic", seed=77, step_seconds=60, start_offset_s=6000, steps=10) == \
        path[100:110]


def test_minute_bars_need_a_step_fine_enough_for_four_prices_per_bar():
    assert get_source("history:btc-2017-12-17").max_step_seconds == 15
    with pytest.raises(ValueError, match="too coarse"):
        build_path("history:btc-2017-12-17", seed=1, step_seconds=60)


def test_an_unknown_source_name_lists_the_valid_ones():
    with pytest.raises(UnknownSource) as caught:
        get_source("history:btc-2022-11")

    assert isinstance(caught.value, ValueError)
    assert all(name in str(caught.value) for name in SOURCES)
    with pytest.raises(UnknownSource):
        build_path("nope", seed=1, step_seconds=60)


def test_list_sources_prints_every_source_with_its_attribution(capsys):
    assert pricesources.main(["--list-sources"]) == 0
    out = capsys.readouterr().out

    assert out.strip() == format_source_list()
    for spec in list_sources():
        assert spec.name in out
        for data in spec.data:
            assert data.file in out
            assert data.attribution in out
            assert data.licence in out
    assert "Zielak (mczielinski), Bitcoin Historical Data, Kaggle. Licence: CC BY-SA 4.0" in out


def test_price_sources_import_no_django_and_read_only_the_package_data():
    code = ("import sys, exchange_edu.pricesources as p; p.load_points('history:btc-daily'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'celery', 'ninja')]; "
            "assert not bad, bad; print(p.DATA_DIR)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[1])

    data_dir = result.stdout.strip()
    assert data_dir.endswith("exchange_edu/data")
    assert "shared" not in data_dir
