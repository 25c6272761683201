"""Step: `apply_tick`, the one orchestrator, with its fixed order of stages.

Design note
-----------
A tick takes the state (read-only), the rules and a TickInput (sequence number, sim time in
seconds, index price per underlying, the bots' orders and cancels, a seed) and returns a
TickResult: the delta of what changed plus the journal entries and events. The stages run in this
order, always:

 1. index      new index price per market; v0 delivery samples (last hour before settlement);
               MOVE contracts: first / last hour samples of the coin's index, index = fair value
 2. triggers   stop-market / take-profit orders whose trigger (mark, last or index) was reached
               become market orders (previous mark and last, new index)
 3. matching   cancels, then the tick's orders in the given order (margin-checked like learners')
 4. mark       by `rules.pricing.mark_method` (v0 last traded, v1 fair price)
 5. funding    premium sample when due; at a funding time the index grows by the fixed rate,
               the next rate is set, and the market's liquidation index is re-keyed
 6. interest   v3 lending: at an accrual time PnL is realized (or earns / pays interest when
               realization is virtual), pool indices grow, the fee share goes to the exchange
 7. liquidations  only positions whose trigger price was crossed (sorted index, bisect) or that
               changed in this tick are checked; failures are taken over at bankruptcy prices.
               Unified accounts (v2+): the account index names the accounts to check; then
               tiers on the book, backstop, takeover (see `backstop`)
 8. insurance / ADL  the engine works its inventory; surplus to the fund; deficits by waterfall
               (DeFi pool: ADL of the best winners when their PnL is too large for the pool)
 9. expiry     at a settlement time: delivery / settlement, clawback, roll-over; expired MOVE
               contracts delivered at |end TWAP - start TWAP|, the next MOVEs listed

Idempotency: a TickInput whose tick_seq is not greater than state.tick_seq is not applied; the
result says `skipped=True` (Celery may deliver a tick twice). Randomness, where a mechanic needs
it, comes from `random.Random` seeded by `tick_input.seed` (`work.seed`) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange_edu.engine.book import Fill, Order
from exchange_edu.engine.delta import Delta, finish
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.expiry import (
    maybe_sample_delivery,
    next_settlement_time,
    roll_calendar,
    settle_market,
)
from exchange_edu.engine.funding import maybe_pay_funding, maybe_sample_premium, sweep_funding_dust
from exchange_edu.engine.insurance import (
    reset_period_pnl,
    settle_losses_with_clawback,
    work_inventory,
)
from exchange_edu.engine.liquidation import (
    LiquidationCheck,
    LiquidationIndex,
    build_index,
    check_position,
    take_over,
    trigger_price_of,
)
from exchange_edu.engine.numbers import in_engine_context
from exchange_edu.engine.pricing import compute_mark
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.trading import apply_fill, submit_order
from exchange_edu.engine.types import SYS_LIQUIDATION, EngineState, MarketStatus, evolve, is_system
from exchange_edu.engine.work import Work


@dataclass(frozen=True, slots=True)
class TickInput:
    tick_seq: int
    now: int  # sim seconds since the sandbox epoch
    index_prices: dict[str, Decimal]  # underlying ("BTC") -> index price
    orders: tuple[Order, ...] = ()
    cancels: tuple[tuple[str, int], ...] = ()  # (market, order_id)
    seed: int = 0
    # pre-matched trades (replay's crowd prints a trade at the index): applied after the orders
    # like a book fill (positions, PnL, fees, last price) but without the book or margin checks
    crosses: tuple[Fill, ...] = ()


@dataclass(frozen=True, slots=True)
class TickResult:
    tick_seq: int
    skipped: bool
    delta: Delta
    liquidations: tuple[LiquidationCheck, ...] = field(default_factory=tuple)

    @property
    def entries(self) -> tuple[Any, ...]:
        return self.delta.entries

    @property
    def events(self) -> tuple[Any, ...]:
        return self.delta.events


@in_engine_context
def apply_tick(state: EngineState, rules: RuleSet, tick: TickInput) -> TickResult:
    """Advance the exchange by one tick; see the module note for the stage order."""
    if tick.tick_seq <= state.tick_seq:
        return TickResult(tick.tick_seq, True, Delta(state.tick_seq, state.now,
                                                     next_order_id=state.next_order_id,
                                                     next_order_seq=state.next_order_seq))
    work = Work(state, rules, tick.now)
    work.seed = tick.seed
    open_markets = [m for m in state.markets if state.market_states[m].status is MarketStatus.OPEN]  # = work's
    moves = [m for m in open_markets if work.market(m).is_move]
    dated = [m for m in open_markets if work.market(m).is_dated and m not in moves]
    settle_at = next_settlement_time(state.epoch, state.now, rules) if dated else None

    # 1. index (+ v0 delivery samples in the last window before the settlement time)
    for m in open_markets:
        if m in moves:
            continue
        index = tick.index_prices.get(work.market(m).underlying)
        if index is not None:
            work.set_market_state(evolve(work.market_state(m), index_price=index))
        if settle_at is not None and m in dated:
            maybe_sample_delivery(work, rules, m, settle_at)
    if moves:  # MOVE: first / last hour samples of the coin's index; index = fair value
        from exchange_edu.engine.move import update_moves

        update_moves(work, rules, tick.index_prices)

    # 2. triggers (fired stops become market orders, margin-checked again)
    for m in open_markets:
        tb = work.trigger_book(m)
        if tb is None or not len(tb):
            continue
        ms = work.market_state(m)
        fired = work.triggers_for_write(m).pop_triggered(mark=ms.mark_price, last=ms.last_price,
                                                         index=ms.index_price)
        for order in fired:
            work.emit(EventKind.ORDER_TRIGGERED, market=m, account=order.account_id,
                      numbers={"order_id": order.order_id, "trigger_price": order.trigger_price},
                      inputs={"trigger_on": order.trigger_on.value})
            submit_order(work, rules, order)

    # 3. matching
    for market_id, order_id in tick.cancels:
        book = work.book(market_id)
        if book is not None and book.get(order_id) is not None:
            work.book_for_write(market_id).cancel(order_id)
        elif work.trigger_book(market_id) is not None and work.trigger_book(market_id).get(order_id):
            work.triggers_for_write(market_id).cancel(order_id)
    for order in tick.orders:
        submit_order(work, rules, order)
    for fill in tick.crosses:
        apply_fill(work, rules, fill)

    # 4. mark
    for m in open_markets:
        ms = work.market_state(m)
        mark, _, _ = compute_mark(rules, work.market(m), ms, ms.index_price, tick.now, work.book(m))
        if mark != ms.mark_price:
            work.set_market_state(evolve(ms, mark_price=mark))

    # 5. funding (premium sample when due; pay at the funding time; re-key that market)
    for m in open_markets:
        maybe_sample_premium(work, rules, m)
        if maybe_pay_funding(work, rules, m):
            work.rekey_markets.add(m)
    for asset in sorted({work.market(m).settlement_asset for m in work.rekey_markets}):
        sweep_funding_dust(work, asset)

    # 6. interest (v3): at an accrual time realize PnL (or pay interest on it), grow the indices
    funded = bool(work.rekey_markets)
    accrued = False
    if rules.interest != "none":
        from exchange_edu.engine.realization import maybe_accrue

        accrued = maybe_accrue(work, rules)

    # 7. liquidations (unified accounts: one account-level index, tiers, backstop)
    checks = []
    if rules.margin.account_model == "unified":
        from exchange_edu.engine.backstop import liquidate_accounts

        checks.extend(liquidate_accounts(work, rules, state, rebuild=funded or accrued))
    else:
        for m in open_markets:
            checks.extend(_liquidate_market(work, rules, state, m))

    # 8. insurance fund / ADL (DeFi pool: ADL when the traders' PnL is too large for the pool)
    if rules.counterparty == "pool":
        from exchange_edu.engine.pool import maybe_adl

        for m in open_markets:
            maybe_adl(work, rules, m)
    for m in open_markets:
        inv = work.position(SYS_LIQUIDATION, m)
        if (inv is not None and inv.size) or work.account(SYS_LIQUIDATION).balance(work.market(m).settlement_asset):
            work_inventory(work, rules, m)

    # 9. expiry, delivery, weekly settlement, clawback, roll-over
    if settle_at is not None and tick.now >= settle_at:
        assets = set()
        for m in dated:
            market = work.market(m)
            assets.add(market.settlement_asset)
            assert market.expiry_time is not None
            if market.expiry_time <= settle_at:
                settle_market(work, rules, m, deliver=True)
            elif rules.settlement.weekly_settlement:
                settle_market(work, rules, m, deliver=False)
        for asset in sorted(assets):
            if "clawback" in rules.loss_waterfall:
                settle_losses_with_clawback(work, rules, asset)
            reset_period_pnl(work, asset)
        roll_calendar(work, rules, state.epoch)
    if moves or rules.contract.move_contracts:
        from exchange_edu.engine.move import list_moves, settle_moves

        settle_moves(work, rules, tick.index_prices)
        if rules.contract.move_contracts:
            list_moves(work, rules, state.epoch, tick.index_prices)

    return TickResult(tick.tick_seq, False, finish(work, tick.tick_seq), tuple(checks))


def _liquidate_market(work: Work, rules: RuleSet, state: EngineState, m: str) -> list[LiquidationCheck]:
    price = trigger_price_of(work, rules, m)
    if m in work.rekey_markets:
        index = build_index(work, rules, m)
    else:
        index = state.liquidation_index.get(m) or LiquidationIndex()
    candidates = index.candidates(price)
    # positions changed in this tick have stale keys: check them directly
    seen = set(candidates)
    for (account_id, market_id) in list(work.positions):
        if market_id == m and account_id not in seen:
            candidates.append(account_id)
            seen.add(account_id)
    out = []
    for account_id in candidates:
        if is_system(account_id):
            continue
        pos = work.position(account_id, m)
        if pos is None or not pos.size:
            continue
        check = check_position(work, rules, pos, price)
        if check.is_liquidatable and rules.counterparty == "pool":  # closed against the LPs' pool
            from exchange_edu.engine.pool import liquidate_against_pool

            liquidate_against_pool(work, rules, pos, check)
            out.append(check)
        elif check.is_liquidatable:
            take_over(work, rules, pos, check)
            out.append(check)
    return out
