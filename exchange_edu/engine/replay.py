"""Replay: one price path and one position through several RuleSets, side by side.

Design note
-----------
The capstone comparison: "what would the same long have done under v0, v1, ...?". For each
preset a fresh exchange is built, the learner opens the position against a deep-pocketed cross-
margined counterparty, and every (time, index) point of the path is one `apply_tick` followed by
`apply_result`. Where the rules read the LAST price (v0 marks and liquidates on it), two crowd
accounts print a one-contract trade at the index each step, so "last" follows the market as it
would on a live exchange. Dated presets roll the position into the next weekly contract after each
delivery (the learner re-opens the same size at the delivery price if equity allows). The report
keeps one row per step (mark, equity in the settlement asset and in USD, cumulative funding) and
the notable events (liquidation, ADL, clawback, delivery). Synthetic paths and CSV history belong
to the sandbox; this module accepts any sequence of (sim seconds, Decimal index).

    equity = wallet - sum(isolated margins) + sum(position collateral + uPnL(mark))
           = wallet + sum(uPnL(mark) - pending funding)          (settlement asset)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from exchange_edu.engine.book import Fill, Order, OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import Event, EventKind
from exchange_edu.engine.genesis import DEFAULT_EPOCH, new_exchange, set_account_settings
from exchange_edu.engine.margin import pending_funding, unrealized_pnl
from exchange_edu.engine.numbers import ONE, ZERO, in_engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.subrules import QUOTE_ASSETS
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import EngineState, MarginMode, MarketStatus

LEARNER = "learner"
COUNTERPARTY = "counterparty"
CROWD = ("sys:crowd_a", "sys:crowd_b")  # print a trade at the index each step where "last" matters
NOTABLE = {EventKind.LIQUIDATION, EventKind.ADL, EventKind.CLAWBACK, EventKind.DELIVERY,
           EventKind.LOSS_WRITTEN_OFF}


@dataclass(frozen=True, slots=True)
class ReplayPosition:
    """The learner's position: side, size in USD of notional, leverage, margin mode, deposit."""

    is_long: bool
    notional_usd: Decimal
    leverage: Decimal
    deposit: Decimal  # settlement asset
    margin_mode: MarginMode = MarginMode.ISOLATED
    # USD-settled presets (v2, v3): None = the coin deposit's value at the first price of the path
    deposit_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReplayRow:
    time: int
    index: Decimal
    mark: Decimal
    equity: Decimal  # settlement asset
    equity_usd: Decimal
    funding_paid: Decimal  # cumulative, settlement asset (pending included)
    has_position: bool


@dataclass(frozen=True, slots=True)
class PresetRun:
    name: str
    rows: tuple[ReplayRow, ...]
    events: tuple[Event, ...]
    liquidated_at: int | None
    final_equity: Decimal
    final_equity_usd: Decimal
    notes: tuple[str, ...] = field(default_factory=tuple)


@in_engine_context
def replay(path: Sequence[tuple[int, Decimal]], presets: Iterable[RuleSet], position: ReplayPosition, *,
           epoch=DEFAULT_EPOCH, keep_rows: bool = True) -> dict[str, PresetRun]:
    """Run `path` through each preset with the same starting position; keyed by preset name."""
    return {rules.name: _run(path, rules, position, epoch, keep_rows) for rules in presets}


def _contracts(rules: RuleSet, position: ReplayPosition, price: Decimal) -> Decimal:
    size = rules.contract.contract_size
    if rules.contract.kind.value == "inverse":
        return max(Decimal(1), (position.notional_usd / size).to_integral_value())
    return max(Decimal(1), (position.notional_usd / price / size).to_integral_value())


def _tick_price(state: EngineState, market: str, price: Decimal) -> Decimal:
    tick = state.markets[market].tick_size
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * tick


def _open(state: EngineState, rules: RuleSet, market: str, contracts: Decimal, position: ReplayPosition,
          price: Decimal) -> tuple[EngineState, str | None]:
    state = set_account_settings(state, LEARNER, market, leverage=position.leverage, margin_mode=position.margin_mode)
    for acct in (COUNTERPARTY, *CROWD):
        state = set_account_settings(state, acct, market, leverage=rules.margin.default_leverage,
                                     margin_mode=MarginMode.CROSS)
    price = _tick_price(state, market, price)
    learner_side = Side.BUY if position.is_long else Side.SELL
    if rules.counterparty == "pool":  # DeFi pool: the LPs' pool is the counterparty, no maker needed
        r = place_order(state, rules, Order(0, LEARNER, market, learner_side, OrderType.MARKET, contracts, None),
                        state.now)
        return (state if r.rejected else apply_result(state, r)), r.rejected
    maker = Order(0, COUNTERPARTY, market, learner_side.opposite, OrderType.LIMIT, contracts, price)
    r = place_order(state, rules, maker, state.now)
    if r.rejected:
        return state, r.rejected
    state = apply_result(state, r)
    r = place_order(state, rules, Order(0, LEARNER, market, learner_side, OrderType.MARKET, contracts, None),
                    state.now)
    state = apply_result(state, r)
    if r.rejected:  # take the counterparty's order back
        state = apply_result(state, apply_tick(state, rules, TickInput(state.tick_seq + 1, state.now, {},
                                                                       cancels=((market, maker.order_id),))))
    return state, r.rejected


def _nearest_market(state: EngineState) -> str:
    markets = state.markets
    best, best_key = None, None
    for m, ms in state.market_states.items():
        if ms.status is MarketStatus.OPEN:
            key = (markets[m].expiry_time or 0, m)
            if best_key is None or key < best_key:
                best, best_key = m, key
    if best is None:
        raise ValueError("no open market")
    return best


def _run(path: Sequence[tuple[int, Decimal]], rules: RuleSet, position: ReplayPosition, epoch,
         keep_rows: bool) -> PresetRun:
    t0, p0 = path[0]
    contracts = _contracts(rules, position, p0)
    crowd = rules.pricing.mark_method == "last" or rules.liquidation.trigger_price == "last"
    learner_deposit = position.deposit
    if rules.contract.kind.value != "inverse" and rules.contract.settlement_asset in QUOTE_ASSETS:
        learner_deposit = position.deposit_usd if position.deposit_usd is not None else position.deposit * p0
    deposits = {LEARNER: learner_deposit, COUNTERPARTY: Decimal(10) ** 9}
    if crowd:
        deposits.update({c: Decimal(10) ** 6 for c in CROWD})
    state = new_exchange(rules, index_price=p0, epoch=epoch, now=t0, deposits=deposits)
    market = _nearest_market(state)
    state, rejected = _open(state, rules, market, contracts, position, p0)
    notes = [f"opening rejected: {rejected}"] if rejected else []
    rows: list[ReplayRow] = []
    events: list[Event] = []
    liquidated_at = None
    funding_settled = ZERO
    underlying = rules.contract.underlying
    seq = state.tick_seq
    for step, (t, index) in enumerate(path[1:]):
        seq += 1
        orders: tuple[Order, ...] = ()
        crosses: tuple[Fill, ...] = ()
        if crowd:
            m = _nearest_market(state)
            price = _tick_price(state, m, index)
            maker, taker = CROWD if step % 2 == 0 else CROWD[::-1]
            book, triggers = state.books.get(m), state.triggers.get(m)
            if book is not None and not len(book) and (triggers is None or not len(triggers)):
                # nothing rests or waits: the two orders would only meet each other, so print
                # their fill directly (same positions, PnL and last price; no book round trip)
                crosses = (Fill(m, price, ONE, 0, 0, maker, taker, Side.SELL, 0),)
            else:
                orders = (Order(0, maker, m, Side.BUY, OrderType.LIMIT, ONE, price),
                          Order(0, taker, m, Side.SELL, OrderType.MARKET, ONE, None))
        result = apply_tick(state, rules, TickInput(seq, t, {underlying: index}, orders, crosses=crosses))
        state = apply_result(state, result)
        delivered = False
        for ev in result.delta.events:
            if ev.kind is EventKind.FUNDING_SETTLED and ev.account == LEARNER:
                funding_settled += ev.numbers["funding_paid"]
            if ev.kind in NOTABLE and (ev.account in (LEARNER, None)):
                events.append(ev)
                if ev.kind is EventKind.LIQUIDATION and liquidated_at is None:
                    liquidated_at = t
                delivered |= ev.kind is EventKind.DELIVERY
        if delivered and liquidated_at is None and not any(
                p.account_id == LEARNER for p in state.positions.values()):
            market = _nearest_market(state)
            state, rejected = _open(state, rules, market, contracts, position,
                                    state.market_states[market].index_price)
            seq = state.tick_seq
            if rejected:
                notes.append(f"roll at {t} rejected: {rejected}")
        if keep_rows:
            rows.append(_row(state, t, index, funding_settled))
    last = _row(state, path[-1][0], path[-1][1], funding_settled)
    return PresetRun(rules.name, tuple(rows), tuple(events), liquidated_at, last.equity, last.equity_usd,
                     tuple(notes))


def _row(state: EngineState, t: int, index: Decimal, funding_settled: Decimal) -> ReplayRow:
    acct = state.account(LEARNER)
    equity = ZERO
    pending = ZERO
    mark = index
    has_position = False
    asset = None
    for (a, m), p in state.positions.items():
        if a != LEARNER:
            continue
        ms = state.market_states[m]
        market = state.markets[m]
        asset = market.settlement_asset
        f = pending_funding(p, ms.index_for(p.size))
        equity += unrealized_pnl(market, p, ms.mark_price) - f
        pending += f
        mark = ms.mark_price
        has_position = has_position or bool(p.size)
    if asset is None:
        asset = next(iter(state.markets.values())).settlement_asset
    equity += acct.balance(asset)
    usd = equity * index if next(iter(state.markets.values())).is_inverse else equity
    return ReplayRow(t, index, mark, equity, usd, funding_settled + pending, has_position)
