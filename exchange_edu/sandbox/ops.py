"""Engine operations the services need, as small wrappers: no Django here, only the engine.

Each returns an engine Delta (or a result carrying one) that `mappers.persist_delta` and
`services.ledger_post` write. Wrapping keeps the services free of engine internals (Work,
journal construction) and puts the pieces the engine does not offer yet in one place:
deposits / withdrawals / drains as deltas, closing an account for a reset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from exchange_edu.engine.book import BookError, Order, OrderType, Side
from exchange_edu.engine.delta import Delta, apply_result, finish
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import DEFAULT_EPOCH, deposit, new_exchange, set_account_settings
from exchange_edu.engine.ledger import JournalEntry, transfer
from exchange_edu.engine.margin import margin_summary
from exchange_edu.engine.numbers import ZERO, Rounding, clamp, engine_context, quantize
from exchange_edu.engine.pool import lp_deposit
from exchange_edu.engine.rules import RuleSet, funding_cap
from exchange_edu.engine.step import TickInput, TickResult, apply_tick
from exchange_edu.engine.trading import OrderResult, cancel_account_orders, place_order, trade
from exchange_edu.engine.types import (
    SYS_EXTERNAL,
    SYS_INSURANCE,
    SYS_LIQUIDATION,
    SYS_POOL_LP,
    SYSTEM_ACCOUNTS,
    ContractKind,
    EngineState,
    MarginMode,
)
from exchange_edu.engine.work import Work

BotsFn = Callable[[EngineState, RuleSet, int, int], tuple[Sequence[Order], Sequence[tuple[str, int]]]]

UNIFIED_FAUCET = {"USDC": Decimal(10000), "BTC": Decimal("0.5"), "ETH": Decimal(5)}


class OpError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def genesis(rules: RuleSet, index_price: Decimal,
            epoch: datetime | None = None) -> tuple[EngineState, list[JournalEntry]]:
    """A fresh exchange and the journal entries behind its balances (the fund's seed)."""
    asset = rules.contract.settlement_asset
    seed = rules.pool.seed_liquidity if rules.counterparty == "pool" else ZERO
    # the pool's seed deposit is journalled here, so genesis builds the exchange without it
    bare = replace(rules, pool=replace(rules.pool, seed_liquidity=ZERO)) if seed else rules
    state = new_exchange(bare, index_price=index_price, epoch=epoch or DEFAULT_EPOCH)
    entries = []
    if rules.insurance_seed:
        e = transfer("deposit", asset, rules.insurance_seed, from_account=SYS_EXTERNAL,
                     to_account=SYS_INSURANCE, rounding=Rounding.DOWN, memo="insurance fund seed")
        if e is not None:
            entries.append(e)
    if seed:
        funded = transfer("deposit", asset, seed, from_account=SYS_EXTERNAL, to_account=SYS_POOL_LP,
                          rounding=Rounding.DOWN, memo="the pool's seed liquidity")
        state = deposit(state, SYS_POOL_LP, asset, seed)
        result = lp_deposit(state, rules, SYS_POOL_LP, seed, state.now)
        if not result.accepted or funded is None:
            raise OpError("pool", f"the pool's seed deposit failed: {result.rejected}")
        state = apply_result(state, result.delta)
        entries.extend([funded, *result.delta.entries])
    return state, entries


def not_runnable_reason(rules: RuleSet) -> str | None:
    """Why the engine cannot run these rules yet (a mechanic not implemented), or None.

    Probed with one tick on a fresh exchange, so a sandbox never fails on its first beat."""
    try:
        state, _ = genesis(rules, Decimal(10000))
        tick(state, rules, tick_seq=1, now=60, index_prices={u: Decimal(10000) for u in underlyings(state)})
    except NotImplementedError as exc:
        return str(exc) or "not implemented"
    return None


def system_account_ids() -> tuple[str, ...]:
    return SYSTEM_ACCOUNTS


def faucet(rules: RuleSet) -> dict[str, Decimal]:
    """Paper money for a new account: 1 coin on coin-margined presets, a unified wallet otherwise."""
    if rules.contract.kind is ContractKind.INVERSE:
        return {rules.contract.settlement_asset: Decimal(1)}
    return dict(UNIFIED_FAUCET)


def transfers_delta(state: EngineState, rules: RuleSet,
                    moves: Sequence[tuple[str, str, Decimal, str, str]]) -> Delta:
    """Post (kind, asset, amount, from, to) transfers (amount rounded down to units)."""
    work = Work(state, rules, state.now)
    with engine_context():
        for kind, asset, amount, src, dst in moves:
            work.post(transfer(kind, asset, amount, from_account=src, to_account=dst, rounding=Rounding.DOWN))
    return finish(work, state.tick_seq)


def withdrawable(state: EngineState, rules: RuleSet, account_id: str, asset: str) -> Decimal:
    """What may leave the account: free balance in the settlement asset (margin, pending funding
    and order margin stay), the plain wallet in other assets; never more than the wallet."""
    wallet = state.account(account_id).balance(asset)
    settles = {m.settlement_asset for m in state.markets.values()}
    if asset not in settles:
        return max(wallet, ZERO)
    with engine_context():
        free = margin_summary(state, rules, account_id, asset).free
    return max(ZERO, quantize(min(free, wallet), asset, Rounding.DOWN))


def quantize_down(amount: Decimal, asset: str) -> Decimal:
    return quantize(amount, asset, Rounding.DOWN)


def with_settings(state: EngineState, account_id: str, market_id: str, *, leverage: Decimal | None,
                  margin_mode: str | None) -> EngineState:
    mode = MarginMode(margin_mode) if margin_mode is not None else None
    return set_account_settings(state, account_id, market_id, leverage=leverage, margin_mode=mode)


def build_order(*, account_id: str, market_id: str, side: str, order_type: str, quantity: Decimal,
                price: Decimal | None, trigger_price: Decimal | None, trigger_on: str, time_in_force: str,
                reduce_only: bool) -> Order:
    try:
        return Order(0, account_id, market_id, side, order_type, quantity, price, time_in_force, reduce_only,
                     trigger_price, trigger_on)
    except BookError as exc:
        raise OpError(exc.field, exc.message) from None


def place(state: EngineState, rules: RuleSet, order: Order) -> OrderResult:
    return place_order(state, rules, order, state.now)


def closing_order(state: EngineState, account_id: str, market_id: str) -> Order | None:
    pos = state.position(account_id, market_id)
    if pos is None or not pos.size:
        return None
    side = Side.SELL if pos.size > 0 else Side.BUY
    return Order(0, account_id, market_id, side, OrderType.MARKET, abs(pos.size), None, reduce_only=True)


def cancel_delta(state: EngineState, rules: RuleSet, market_id: str, order_id: int, account_id: str) -> Delta:
    work = Work(state, rules, state.now)
    book, triggers = work.book(market_id), work.trigger_book(market_id)
    if book is not None and book.get(order_id) is not None:
        work.book_for_write(market_id).cancel(order_id)
    elif triggers is not None and triggers.get(order_id) is not None:
        work.triggers_for_write(market_id).cancel(order_id)
    else:
        raise OpError("order_id", f"order {order_id} is not open")
    work.emit(EventKind.ORDER_CANCELLED, market=market_id, account=account_id, numbers={"order_id": order_id},
              reason="cancelled by its owner")
    return finish(work, state.tick_seq)


def funding_spike_delta(state: EngineState, rules: RuleSet, rate: Decimal) -> Delta:
    """An instructor's funding spike: every open perpetual's next funding rate becomes `rate`
    (within the preset's cap), paid at the next funding time like any other rate."""
    work = Work(state, rules, state.now)
    cap = funding_cap(rules)
    applied = clamp(rate, -cap, cap)
    markets = [m for m in work.market_ids() if not work.market(m).is_dated
               and work.market_state(m).next_funding_time is not None]
    if not markets:
        raise OpError("kind", "this preset has no perpetual market with funding")
    for m in markets:
        ms = work.market_state(m)
        work.set_market_state(replace(ms, funding_rate_next=applied))
        work.emit(EventKind.FUNDING_RATE_SET, market=m, numbers={"next_rate": applied},
                  inputs={"asked": rate, "cap": cap}, formula="set by the instructor, within +-cap",
                  reason="instructor shock: funding spike")
    return finish(work, state.tick_seq)


BORROWER = "bot:borrower"  # a background borrower: keeps part of a v3 pool lent out
BORROWER_COLLATERAL = Decimal(2)  # it posts twice the value it borrows, in the underlying's coin


def utilization_delta(state: EngineState, rules: RuleSet, target: Decimal) -> Delta:
    """Move the settlement asset's lending pool to utilization `target` (0..0.95) through the
    background borrower: it posts coin collateral from outside and borrows (or repays) the
    settlement asset, so lenders start (or stop) earning at the curve's rate."""
    asset = rules.contract.settlement_asset
    pool = state.pools.get(asset)
    if pool is None:
        raise OpError("kind", "this preset has no lending pool")
    if pool.lent <= 0:
        raise OpError("kind", "nothing is lent in the pool yet")
    coin = rules.contract.underlying
    price = next((state.market_states[m].index_price for m, market in state.markets.items()
                  if market.underlying == coin), None)
    if price is None:
        raise OpError("kind", f"no {coin} index to value the borrower's collateral")
    work = Work(state, rules, state.now)
    with engine_context():
        balance = state.account(BORROWER).balance(asset)
        change = target * pool.lent - pool.borrowed  # > 0: borrow more, < 0: repay
        change = max(change, balance)  # it can repay only what it owes
        owed_after = -(balance - change)
        needed = quantize(owed_after * BORROWER_COLLATERAL / price, coin, Rounding.UP)
        held = state.account(BORROWER).balance(coin)
        if needed > held:
            work.post(transfer("deposit", coin, needed - held, from_account=SYS_EXTERNAL, to_account=BORROWER,
                               rounding=Rounding.UP, memo="background borrower's collateral"))
        if change > 0:
            work.post(transfer("borrow", asset, change, from_account=BORROWER, to_account=SYS_EXTERNAL,
                               rounding=Rounding.DOWN, memo="background borrowing"))
        elif change < 0:
            work.post(transfer("repay", asset, -change, from_account=SYS_EXTERNAL, to_account=BORROWER,
                               rounding=Rounding.DOWN, memo="background repayment"))
        pool_after = work.pool(asset)
        work.emit(EventKind.POOL_RATES, numbers={"utilization": pool_after.utilization},
                  inputs={"target": target, "lent": pool_after.lent, "borrowed": pool_after.borrowed},
                  formula="utilization = borrowed / lent", reason="instructor shock: utilization")
    return finish(work, state.tick_seq)


def close_account_delta(state: EngineState, rules: RuleSet, account_id: str) -> Delta:
    """Reset: cancel the account's orders, hand its positions to the liquidation engine at mark
    (the engine works them off next tick, like a takeover), and pay out what is left."""
    work = Work(state, rules, state.now)
    with engine_context():
        for m in work.market_ids():
            cancel_account_orders(work, account_id, m, reason="account reset")
            pos = work.position(account_id, m)
            if pos is None or not pos.size:
                continue
            market = work.market(m)
            mark = work.market_state(m).mark_price
            trade(work, rules, market, account_id, -pos.size, mark, fee_is_maker=None, kind="reset")
            trade(work, rules, market, SYS_LIQUIDATION, pos.size, mark, fee_is_maker=None, kind="takeover")
            work.emit(EventKind.POSITION_CHANGED, market=m, account=account_id,
                      numbers={"closed": pos.size, "price": mark}, reason="account reset: closed at mark")
        for asset, amount in sorted(work.account(account_id).balances.items()):
            if amount > 0:
                work.post(transfer("withdrawal", asset, amount, from_account=account_id, to_account=SYS_EXTERNAL,
                                   rounding=Rounding.DOWN, memo="account reset"))
    return finish(work, state.tick_seq)


def tick(state: EngineState, rules: RuleSet, *, tick_seq: int, now: int, index_prices: dict[str, Decimal],
         orders: Sequence[Order] = (), cancels: Sequence[tuple[str, int]] = (), seed: int = 0) -> TickResult:
    return apply_tick(state, rules, TickInput(tick_seq, now, index_prices, tuple(orders), tuple(cancels), seed))


def underlyings(state: EngineState) -> list[str]:
    return sorted({m.underlying for m in state.markets.values()})


def settlement_assets(state: EngineState) -> list[str]:
    return sorted({m.settlement_asset for m in state.markets.values()})


def insurance_balance(state: EngineState, asset: str) -> Decimal:
    return state.account(SYS_INSURANCE).balance(asset)


def allows_leverage(rules: RuleSet, leverage: Decimal) -> bool:
    return bool(rules.margin.risk.allows_leverage(leverage))


def max_leverage(rules: RuleSet) -> Decimal:
    return Decimal(rules.margin.risk.max_leverage())


def margin_modes(rules: RuleSet) -> list[str]:
    return [m.value for m in rules.margin.modes]


def replace_state(state: EngineState, **changes: Any) -> EngineState:
    return replace(state, **changes)


SYS_INSURANCE_ID = SYS_INSURANCE
SYS_EXTERNAL_ID = SYS_EXTERNAL
