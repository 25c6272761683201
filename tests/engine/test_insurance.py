from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_edu.engine.insurance import adl_lights, adl_queue, plan_clawback
from exchange_edu.engine.numbers import engine_context, to_units
from exchange_edu.engine.rules import V1
from exchange_edu.engine.types import MarginMode, Position, evolve

from .helpers import D, open_pair


def test_clawback_is_capped_at_100_percent_and_the_rest_written_off():
    plan = plan_clawback(D(100), D(10), {"a": D(30), "b": D(20), "loser": D(-5)}, "BTC")
    assert plan.rate == 1
    assert plan.amounts == {"a": D(30), "b": D(20)}
    assert plan.written_off == D(40)


@settings(max_examples=200, deadline=None)
@given(loss=st.integers(0, 10**10), fund=st.integers(0, 10**10),
       profits=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(-10**9, 10**9), max_size=8))
def test_clawbacks_sum_to_the_shortfall_exactly(loss, fund, profits):
    unit = D("1e-8")
    with engine_context():
        plan = plan_clawback(loss * unit, fund * unit, {k: v * unit for k, v in profits.items()}, "BTC")
    total = sum(plan.amounts.values(), D(0))
    assert total + plan.written_off == plan.shortfall == max(0, loss - fund) * unit
    for account, amount in plan.amounts.items():
        assert 0 < amount <= profits[account] * unit
        to_units(amount, "BTC")


def _with_shorts(sizes_entries):
    s, m = open_pair(V1, price=10000, contracts=1000, long_lev=10, short_lev=10)
    positions = dict(s.positions)
    for name, size, entry, margin in sizes_entries:
        positions[(name, m)] = Position(name, m, D(size), D(entry), MarginMode.ISOLATED, D(10), D(margin))
    ms = evolve(s.market_states[m], mark_price=D(9000))
    return evolve(s, positions=positions, market_states={**s.market_states, m: ms}), m


def test_adl_ranks_profitable_high_leverage_shorts_first_and_lights_their_quintile():
    # mark 9,000: shorts from 10,000 are in profit; the one with the thinnest margin ranks first
    s, m = _with_shorts([("big_lev", -1000, 10000, "0.002"), ("low_lev", -1000, 10000, "0.5"),
                         ("loser", -1000, 8500, "0.1")])
    with engine_context():
        queue = adl_queue(s, m, longs=False)
        lights = adl_lights(s, m)
    names = [r.account_id for r in queue]
    assert names[0] == "big_lev"
    assert names[-1] == "loser"
    assert lights["big_lev"] == 5
    assert lights["loser"] < lights["big_lev"]
    assert Decimal(0) < queue[0].pnl_pct
