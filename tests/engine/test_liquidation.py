
import pytest

from exchange_edu.engine.liquidation import (
    LiquidationIndex,
    check_position,
    inverse_isolated_liquidation_price,
    keep_ratio_liquidation_price,
    position_prices,
)
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.rules import V0, V1

from .helpers import D, open_pair


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def test_e11_on_a_real_position_matches_the_closed_form():
    s, m = open_pair(V1, price=10000, contracts=10000, long_lev=100)
    prices = position_prices(s, V1, s.position("alice", m))
    assert prices.bankruptcy.quantize(D("0.01")) == D("9900.99")
    assert prices.liquidation.quantize(D("0.01")) == D("9950.25")


def test_mark_value_convention_is_slightly_closer_for_a_100x_long():
    entry_value = inverse_isolated_liquidation_price(D(10000), D(100), D("0.005"), is_long=True)
    mark_value = inverse_isolated_liquidation_price(D(10000), D(100), D("0.005"), is_long=True, basis="mark_value")
    # OKX: (1 + MMR) / (1/E + M/Q) = 1.005 x 10,000 / 1.01 = 9,950.495
    assert mark_value.quantize(D("0.001")) == D("9950.495")
    assert mark_value > entry_value


@pytest.mark.parametrize(("name", "lev", "keep"), [("10x keeps 10%", D(10), D("0.1")),
                                                   ("20x keeps 20%", D(20), D("0.2"))])
def test_v0_keep_ratio_is_the_entry_value_convention_with_mmr_k_over_l(name, lev, keep):
    a = keep_ratio_liquidation_price(D(400), lev, keep, is_long=True)
    b = inverse_isolated_liquidation_price(D(400), lev, keep / lev, is_long=True)
    assert abs(a - b) < D("1e-20")


def test_v0_position_prices_and_a_check_that_explains_itself():
    s, m = open_pair(V0, price=400, contracts=100, long_lev=20, deposits={"alice": D(2), "maker": D(100)})
    pos = s.position("alice", m)
    prices = position_prices(s, V0, pos)
    # 1/LP = (1 + 0.8/20)/400 -> LP = 384.615...
    assert prices.liquidation.quantize(D("0.001")) == D("384.615")
    ok = check_position(s, V0, pos, D(390))
    bad = check_position(s, V0, pos, D(384))
    assert not ok.is_liquidatable
    assert bad.is_liquidatable
    assert "equity" in bad.reason
    assert bad.inputs()["liquidation_price"] == prices.liquidation


def test_index_bisects_to_the_crossed_positions_only():
    idx = LiquidationIndex.build({"a": ("long", D(9000)), "b": ("long", D(9500)), "c": ("short", D(11000)),
                                  "d": ("short", D(10500)), "x": ("always", None)})
    assert sorted(idx.candidates(D(9600))) == ["x"]
    assert sorted(idx.candidates(D(9500))) == ["b", "x"]
    assert sorted(idx.candidates(D(10600))) == ["d", "x"]
    moved = idx.updated({"b": ("long", D(8000)), "d": None})
    assert sorted(moved.candidates(D(9500))) == ["x"]
    assert len(moved) == 4
    assert idx.candidates(D(9500)) == ["b", "x"]  # the old index is untouched
