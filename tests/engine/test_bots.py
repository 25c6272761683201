"""Bots: a seeded crowd that quotes, trades, holds, closes and gets liquidated.

The simulated runs drive the real `apply_tick` with the crowd's orders over a calm walk, a 30%
crash and a flat tail; each preset's run is computed once and read by several tests.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_edu.engine import bots
from exchange_edu.engine.book import Order, OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.expiry import next_settlement_time
from exchange_edu.engine.genesis import deposit, new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.margin import margin_summary
from exchange_edu.engine.rules import V0, V1, ContractRules, RiskLimitSteps
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import ContractKind, EngineState, ExpiryKind, MarginMode, Market, MarketStatus

D = Decimal
SEED = 7
# A linear USDC perpetual built from v1 (v2/v3 are someone else's): risk steps in USDC, not XBT.
LINEAR = replace(V1, name="linear_test",
                 contract=ContractRules(kind=ContractKind.LINEAR, contract_size=D("0.001"), settlement_asset="USDC",
                                        tick_size=D("0.5"), expiries=(ExpiryKind.PERPETUAL,)),
                 margin=replace(V1.margin, risk=RiskLimitSteps(base_limit=D(2_000_000), step=D(1_500_000))))
PRESETS = {"v0": (V0, D(400)), "v1": (V1, D(10000)), "linear": (LINEAR, D(10000))}


def crash_path(p0: Decimal, *, ticks: int = 300, crash_at: int = 200, depth: str = "0.30", over: int = 20,
               seed: int = 1) -> list[Decimal]:
    """A calm walk (+-2 bp a tick), then `depth` lost linearly over `over` ticks, then calm again."""
    rng = random.Random(seed)
    price, out = p0, []
    step = p0 * D(depth) / over
    for i in range(ticks):
        if crash_at <= i < crash_at + over:
            price -= step
        else:
            price *= 1 + D(rng.randint(-2, 2)) / 10000
        out.append(price.quantize(D("0.01")))
    return out


def start(rules, p0: Decimal, *, count: int = 20, seed: int = SEED, now: int = 0):
    crowd = bots.default_crowd(rules, count=count, seed=seed, index_price=p0)
    asset = rules.contract.settlement_asset
    deposits = {a: amounts[asset] for a, amounts in bots.bot_deposits(rules, crowd).items()}
    state = new_exchange(rules, index_price=p0, deposits=deposits, now=now)
    return bots.with_bot_settings(state, rules, crowd), crowd


def step(state: EngineState, rules, crowd, price: Decimal, *, seed: int = SEED, dt: int = 60):
    seq = state.tick_seq + 1
    orders, cancels = bots.orders_for_tick(state, rules, crowd, seed=seed, tick_seq=seq)
    underlyings = {m.underlying for m in state.markets.values()}
    result = apply_tick(state, rules, TickInput(seq, state.now + dt, dict.fromkeys(underlyings, price),
                                                orders, cancels))
    state = bots.with_bot_settings(apply_result(state, result), rules, crowd)
    return state, result, orders


def nearest(state: EngineState) -> str:
    return bots._open_markets(state)[0]


@dataclass
class Run:
    rules: object
    crowd: tuple
    states: list = field(default_factory=list)  # state after each tick
    events: list = field(default_factory=list)  # (tick, event)
    orders: list = field(default_factory=list)  # (tick, orders submitted)
    tick_totals: list = field(default_factory=list)  # totals_by_asset of each tick's entries


@cache
def simulate(preset: str) -> Run:
    rules, p0 = PRESETS[preset]
    state, crowd = start(rules, p0)
    run = Run(rules, crowd)
    for i, price in enumerate(crash_path(p0)):
        state, result, orders = step(state, rules, crowd, price)
        run.states.append(state)
        run.events.extend((i, e) for e in result.events)
        run.orders.append((i, orders))
        run.tick_totals.append(totals_by_asset(result.entries))
    return run


# -- the crowd ------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "allowed"), [("v0", {D(10), D(20)}), ("v1", None), ("linear", None)])
def test_the_default_crowd_is_two_makers_and_traders_of_every_temperament_at_allowed_leverages(preset, allowed):
    rules, p0 = PRESETS[preset]
    crowd = bots.default_crowd(rules, count=20, seed=SEED, index_price=p0)
    makers = [b for b in crowd if b.kind == "market_maker"]
    traders = [b for b in crowd if b.kind == "trader"]
    assert [b.account_id for b in makers] == ["bot:mm-1", "bot:mm-2"]
    assert len(traders) == 20
    assert {b.temperament for b in traders} == {"trend", "contrarian", "noise", "degen"}
    assert len({b.account_id for b in crowd}) == 22
    assert all(b.account_id.startswith("bot:") for b in crowd)
    assert "bot:trend-3" in {b.account_id for b in crowd}
    assert all(rules.margin.risk.allows_leverage(b.leverage) for b in crowd)
    if allowed is not None:
        assert {b.leverage for b in traders} <= allowed
    # degens run the highest leverage of the crowd; makers are cross-margined
    assert max(b.leverage for b in traders if b.temperament == "degen") == max(b.leverage for b in traders)
    assert all(b.margin_mode is MarginMode.CROSS for b in makers)
    assert all(isinstance(b.size_contracts, Decimal) and b.size_contracts >= 1 for b in crowd)


def test_a_crowd_is_a_function_of_its_seed():
    assert bots.default_crowd(V1, count=12, seed=3) == bots.default_crowd(V1, count=12, seed=3)
    assert bots.default_crowd(V1, count=12, seed=3) != bots.default_crowd(V1, count=12, seed=4)


@pytest.mark.parametrize("count", [0, 1, 3, 4, 7, 20, 50])
def test_any_crowd_size_gets_that_many_traders(count):
    crowd = bots.default_crowd(V1, count=count, seed=1)
    assert sum(1 for b in crowd if b.kind == "trader") == count


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_deposits_are_in_the_settlement_asset_and_makers_hold_the_most(preset):
    rules, p0 = PRESETS[preset]
    crowd = bots.default_crowd(rules, count=20, seed=SEED, index_price=p0)
    deposits = bots.bot_deposits(rules, crowd)
    assert set(deposits) == {b.account_id for b in crowd}
    asset = rules.contract.settlement_asset
    assert all(set(d) == {asset} and d[asset] > 0 for d in deposits.values())
    richest_trader = max(deposits[b.account_id][asset] for b in crowd if b.kind == "trader")
    assert all(deposits[b.account_id][asset] > 10 * richest_trader for b in crowd if b.kind == "market_maker")


# -- determinism ----------------------------------------------------------------------------


def _orders_over(seed: int, ticks: int = 40):
    run = simulate("v1")
    return [bots.orders_for_tick(s, V1, run.crowd, seed=seed, tick_seq=i + 2) for i, s in enumerate(run.states[:ticks])]


def test_the_same_state_seed_and_tick_give_the_same_orders_and_another_seed_other_orders():
    first, again, other = _orders_over(SEED), _orders_over(SEED), _orders_over(SEED + 1)
    assert first == again
    assert first != other
    # the makers do not roll dice: only traders' orders depend on the seed
    makers = [[o for o in orders if o.account_id.startswith("bot:mm")] for orders, _ in first]
    assert makers == [[o for o in orders if o.account_id.startswith("bot:mm")] for orders, _ in other]


def test_orders_do_not_depend_on_the_order_of_the_state_dicts():
    run = simulate("v0")
    state = run.states[100]
    shuffled = replace(state, markets=dict(reversed(state.markets.items())),
                       market_states=dict(reversed(state.market_states.items())),
                       books=dict(reversed(state.books.items())))
    assert bots.orders_for_tick(state, V0, run.crowd, seed=1, tick_seq=102) == \
        bots.orders_for_tick(shuffled, V0, run.crowd, seed=1, tick_seq=102)


def test_crowd_orders_is_the_default_crowd_in_the_sandboxs_bots_shape():
    state, _ = start(V1, D(10000), seed=5)
    crowd = bots.default_crowd(V1, seed=5)
    assert bots.crowd_orders(state, V1, 5, 1) == bots.orders_for_tick(state, V1, crowd, seed=5, tick_seq=1)


# -- market makers --------------------------------------------------------------------------

MM = bots.default_crowd(V1, count=0, seed=1)[0]
PERP = Market("BTCUSD", "BTC", ContractKind.INVERSE, D(1), "BTC", tick_size=D("0.5"))


def _centre(quotes) -> Decimal:
    bid = max(p for (s, p) in quotes if s is Side.BUY)
    ask = min(p for (s, p) in quotes if s is Side.SELL)
    return (bid + ask) / 2


def _side_total(quotes, side) -> Decimal:
    return sum((q for (s, _), q in quotes.items() if s is side), D(0))


@pytest.mark.parametrize(("inventory", "centre_vs_fair", "thinner_side"), [
    ("0", "at fair", None),
    ("200000", "below: a long maker sells cheaper and bids lower", Side.BUY),
    ("-200000", "above: a short maker bids higher and offers dearer", Side.SELL),
    ("5000000", "below, by the full skew", Side.BUY),
])
def test_maker_quotes_lean_against_inventory(inventory, centre_vs_fair, thinner_side):
    fair = D(10000)
    quotes = bots.maker_quotes(V1, PERP, MM, fair, D(inventory), budget=D(1000))
    centre = _centre(quotes)
    if centre_vs_fair == "at fair":
        assert abs(centre - fair) <= fair * MM.half_spread / 2  # the centre is fair rounded to its grid
        assert _side_total(quotes, Side.BUY) == _side_total(quotes, Side.SELL)
    elif centre_vs_fair.startswith("below"):
        assert centre < fair
    else:
        assert centre > fair
    if centre_vs_fair.endswith("full skew"):  # 0.2% below fair, and bids at a tenth of their size
        assert abs(centre - fair * (1 - MM.skew)) <= fair * MM.half_spread
        assert _side_total(quotes, Side.BUY) * 5 < _side_total(quotes, Side.SELL)
    if thinner_side is not None:
        assert _side_total(quotes, thinner_side) < _side_total(quotes, thinner_side.opposite)


def test_deeper_levels_are_larger_so_a_market_order_walks_a_few_levels():
    quotes = bots.maker_quotes(V1, PERP, MM, D(10000), D(0), budget=D(1000))
    asks = sorted((p, q) for (s, p), q in quotes.items() if s is Side.SELL)
    assert len(asks) == MM.levels
    assert [q for _, q in asks] == sorted(q for _, q in asks)
    assert asks[0][1] == MM.size_contracts  # 20,000 contracts of $1 at the best level
    # the farthest level is half_spread + 9 steps = 0.58% from fair: the whole side is within 1%
    assert asks[-1][0] < D(10000) * D("1.006")


def test_quotes_shrink_to_fit_the_margin_budget():
    # budget 1 XBT at 10x: each side may be worth at most 10 XBT
    quotes = bots.maker_quotes(V1, PERP, MM, D(10000), D(0), budget=D(1))
    for side in Side:
        value = sum((PERP.value(q, p) for (s, p), q in quotes.items() if s is side), D(0))
        assert 0 < value <= 10
    assert bots.maker_quotes(V1, PERP, MM, D(10000), D(0), budget=D(0)) == {}


def test_quotes_respect_the_risk_limit():
    # v1 at 10x allows imr 10%: 0.01 + 0.005 x steps <= 0.1 -> value <= 200 + 18 x 150 = 2,900 XBT
    huge = replace(MM, notional_usd=D(0), size_contracts=D(10_000_000))  # 1,000 XBT on level 0
    quotes = bots.maker_quotes(V1, PERP, huge, D(10000), D(-25_000_000), budget=D(10**9))
    for (side, price), qty in quotes.items():
        assert bots.fits_risk_limit(V1, PERP, MM.leverage, D(-25_000_000), side.sign * qty, price)


@settings(max_examples=150, deadline=None)
@given(fair=st.decimals(min_value=D(50), max_value=D(200000), places=2),
       tick=st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D(1), D(5)]),
       inventory=st.integers(min_value=-3_000_000, max_value=3_000_000),
       budget=st.decimals(min_value=D("0.001"), max_value=D(1000), places=3))
def test_maker_quotes_are_on_the_tick_grid_and_never_cross_themselves(fair, tick, inventory, budget):
    market = replace(PERP, tick_size=tick)
    quotes = bots.maker_quotes(V1, market, MM, fair, D(inventory), budget)
    bids = [p for (s, p) in quotes if s is Side.BUY]
    asks = [p for (s, p) in quotes if s is Side.SELL]
    if bids and asks:
        assert max(bids) < min(asks)
    for (_, price), qty in quotes.items():
        assert isinstance(price, Decimal)
        assert isinstance(qty, Decimal)
        assert price > 0
        assert price % tick == 0
        assert qty >= 1
        assert qty == qty.to_integral_value()
    assert len(set(bids)) == len(bids)
    assert len(set(asks)) == len(asks)


# -- simulated runs -------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_the_book_stays_two_sided_and_the_crowd_keeps_trading(preset):
    run = simulate(preset)
    two_sided = sum(1 for s in run.states if s.books[nearest(s)].spread() is not None)
    assert two_sided >= 0.95 * len(run.states)
    fill_ticks = sorted({i for i, e in run.events if e.kind is EventKind.FILL})
    assert len(fill_ticks) >= len(run.states) / 3  # trades in at least every third tick on average
    assert max(b - a for a, b in itertools.pairwise(fill_ticks)) <= 15
    assert sum(1 for s in run.states if s.market_states[nearest(s)].open_interest > 0) >= 0.9 * len(run.states)
    submitted = sum(len(orders) for _, orders in run.orders)
    rejected = sum(1 for _, e in run.events if e.kind is EventKind.ORDER_REJECTED)
    assert rejected <= 0.02 * submitted


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_traders_open_hold_and_close(preset):
    run = simulate(preset)
    closes = [o for _, orders in run.orders for o in orders if o.reduce_only]
    opens = [o for _, orders in run.orders for o in orders if not o.account_id.startswith("bot:mm")
             and not o.reduce_only]
    assert closes
    assert opens
    assert {o.order_type for o in opens} == {OrderType.MARKET, OrderType.LIMIT}
    # a position is held for a while: most traders hold one in a typical mid-run tick
    state = run.states[150]
    holders = [b for b in run.crowd if b.kind == "trader" and any(
        (p := state.position(b.account_id, m)) is not None and p.size for m in state.live_market_ids())]
    assert len(holders) >= len(run.crowd) // 3


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_every_tick_balances_and_so_do_all_accounts_together(preset):
    run = simulate(preset)
    assert all(v == 0 for totals in run.tick_totals for v in totals.values())
    final = run.states[-1]
    assets = {a for acct in final.accounts.values() for a in acct.balances}
    for asset in assets:
        assert sum((acct.balance(asset) for acct in final.accounts.values()), D(0)) == 0


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_a_30_percent_crash_liquidates_degens_and_the_makers_survive(preset):
    run = simulate(preset)
    liquidated = {e.account for i, e in run.events if e.kind is EventKind.LIQUIDATION and 200 <= i < 230}
    assert any(a.startswith("bot:degen") for a in liquidated)
    assert not any(e.account.startswith("bot:mm") for _, e in run.events
                   if e.kind in (EventKind.LIQUIDATION, EventKind.ADL))
    final = run.states[-1]
    for spec in run.crowd[:2]:
        summary = margin_summary(final, run.rules, spec.account_id, run.rules.contract.settlement_asset)
        assert summary.cross_equity > spec.deposit / 2


@pytest.mark.parametrize("preset", ["v0", "v1", "linear"])
def test_bots_submit_decimals_and_makers_never_cross_their_own_quotes(preset):
    run = simulate(preset)
    for _, orders in run.orders:
        for o in orders:
            assert type(o.quantity) is Decimal
            assert o.quantity == o.quantity.to_integral_value()
            assert o.price is None or type(o.price) is Decimal
            assert o.order_id == 0
            assert o.seq == 0
    for state in run.states[::10]:
        for m in state.live_market_ids():
            for spec in run.crowd[:2]:
                mine = state.books[m].orders_of(spec.account_id)
                bids = [o.price for o in mine if o.side is Side.BUY]
                asks = [o.price for o in mine if o.side is Side.SELL]
                if bids and asks:
                    assert max(bids) < min(asks)


@pytest.mark.parametrize(("preset", "share"), [("v0", "0.01"), ("v0", "0.05"), ("v1", "0.01"), ("v1", "0.05"),
                                               ("linear", "0.03")])
def test_a_learner_market_order_walks_a_few_levels_with_sane_slippage(preset, share):
    run = simulate(preset)
    rules = run.rules
    state = run.states[150]  # calm, before the crash
    m = nearest(state)
    book = state.books[m]
    _, asks = book.depth(1000)
    qty = max(D(1), (sum(q for _, q in asks) * D(share)).to_integral_value())
    state = deposit(state, "learner", rules.contract.settlement_asset, D(10**7))
    result = place_order(state, rules, Order(0, "learner", m, Side.BUY, OrderType.MARKET, qty, None), state.now)
    assert result.rejected is None
    assert sum(f.quantity for f in result.fills) == qty
    inverse = state.markets[m].is_inverse
    average = (qty / sum(f.quantity / f.price for f in result.fills) if inverse
               else sum(f.quantity * f.price for f in result.fills) / qty)
    slippage = (average - book.mid()) / book.mid()
    assert D(0) < slippage < D("0.01")  # visible, but under 1%
    levels = len({f.price for f in result.fills})
    assert levels >= (2 if D(share) >= D("0.03") else 1)


# -- dated markets --------------------------------------------------------------------------


def test_v0_bots_leave_the_delivered_weekly_and_quote_the_new_listing():
    friday = next_settlement_time(new_exchange(V0, index_price=D(400)).epoch, 0, V0)
    state, crowd = start(V0, D(400), count=8, now=friday - 40 * 60)
    weekly, listed = nearest(state), set(state.markets)
    delivered_at = None
    for i in range(60):
        state, _, orders = step(state, V0, crowd, D(400) + i % 3)
        if delivered_at is not None:
            assert not [o for o in orders if o.market == weekly]  # only open markets are traded
        if delivered_at is None and state.market_states[weekly].status is MarketStatus.EXPIRED:
            delivered_at = i
    assert delivered_at is not None
    assert not state.books[weekly].orders_of("bot:mm-1")
    assert state.markets[nearest(state)].expiry_kind is ExpiryKind.WEEKLY
    new = set(state.markets) - listed
    assert new
    for m in new | {nearest(state)}:
        assert state.books[m].spread() is not None
        assert all(bots._settings_ok(state, V0, b, m) for b in crowd)


def test_a_bot_without_its_settings_in_a_market_stays_out_of_it():
    state, crowd = start(V1, D(10000))
    bare = new_exchange(V1, index_price=D(10000), deposits={b.account_id: b.deposit for b in crowd})
    assert bots.orders_for_tick(bare, V1, crowd, seed=1, tick_seq=1) == ((), ())  # v1 default is 100x isolated
    orders, _ = bots.orders_for_tick(state, V1, crowd, seed=1, tick_seq=1)
    assert {o.account_id for o in orders} >= {"bot:mm-1", "bot:mm-2"}
    assert bots.with_bot_settings(state, V1, crowd) is state


def test_top_ups_refill_flat_traders_who_lost_most_of_their_deposit():
    run = simulate("v1")
    state = run.states[-1]
    by_id = {b.account_id: b for b in run.crowd}
    flat = [b for b in run.crowd[2:] if not any(p.size for (a, _), p in state.positions.items() if a == b.account_id)]
    holding = [b for b in run.crowd[2:] if b not in flat]
    assert flat
    assert holding
    broke = {b.account_id: b.deposit / 3 for b in (flat[0], holding[0], run.crowd[0])}
    accounts = {**state.accounts, **{a: replace(state.account(a), balances={"BTC": amount})
                                     for a, amount in broke.items()}}
    top_ups = bots.bot_top_ups(replace(state, accounts=accounts), V1, run.crowd)
    # the flat trader is refilled to its starting deposit; one holding a position and a maker are not
    assert top_ups[flat[0].account_id] == {"BTC": flat[0].deposit - broke[flat[0].account_id]}
    assert holding[0].account_id not in top_ups
    assert "bot:mm-1" not in top_ups
    assert all(by_id[a].kind == "trader" for a in top_ups)
