"""Genesis: build a fresh EngineState for a RuleSet, and deposits.

Design note
-----------
Deposits and the insurance fund's seed are journal entries against `sys:external` (the world
outside the exchange), so even the first balances are balanced lines. Markets come from the
RuleSet's contract rules (`expiry.initial_markets`); each gets a book, a trigger book, an empty
liquidation index and a funding clock if the rules fund.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from exchange_edu.engine.book import OrderBook, TriggerBook
from exchange_edu.engine.expiry import initial_markets
from exchange_edu.engine.funding import first_funding_time, next_rate
from exchange_edu.engine.ledger import JournalEntry, transfer
from exchange_edu.engine.lending import new_pools
from exchange_edu.engine.liquidation import LiquidationIndex
from exchange_edu.engine.numbers import ZERO, Rounding, in_engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import (
    SYS_EXTERNAL,
    SYS_INSURANCE,
    Account,
    EngineState,
    MarginMode,
    MarketState,
)

DEFAULT_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@in_engine_context
def new_exchange(rules: RuleSet, *, index_price: Decimal, epoch: datetime = DEFAULT_EPOCH, now: int = 0,
                 deposits: dict[str, Decimal] | None = None,
                 index_prices: dict[str, Decimal] | None = None) -> EngineState:
    """A fresh exchange: markets listed, fund seeded, trader deposits booked.

    `index_prices` gives one index per underlying (v2+: {"BTC": ..., "ETH": ...}); an underlying
    missing there starts at `index_price`. v3 rules also open a lending pool per asset."""
    markets = {m.market_id: m for m in initial_markets(rules, epoch, now)}
    states = {}
    for m in markets.values():
        price = (index_prices or {}).get(m.underlying, index_price)
        if m.is_move:  # its index is the expected absolute move, not the coin's price
            from exchange_edu.engine.move import fair_value

            price = fair_value(rules, m, None, price, now)[0]
        nft = first_funding_time(epoch, now, rules) if not m.is_dated else None
        states[m.market_id] = MarketState(m.market_id, price, price, next_funding_time=nft,
                                          funding_rate_next=next_rate(rules, ZERO) if nft is not None else ZERO,
                                          funding_index_short=ZERO if rules.funding.style == "skew" else None)
    state = EngineState(epoch=epoch, now=now, tick_seq=0, markets=markets, market_states=states,
                        accounts={}, positions={},
                        books={m: OrderBook(m, mk.tick_size) for m, mk in markets.items()},
                        triggers={m: TriggerBook(m) for m in markets},
                        liquidation_index={m: LiquidationIndex() for m in markets},
                        pools=new_pools(rules, now))
    asset = rules.contract.settlement_asset
    if rules.insurance_seed:
        state = deposit(state, SYS_INSURANCE, asset, rules.insurance_seed)
    if rules.counterparty == "pool" and rules.pool.seed_liquidity:  # the seed LP's deposit into the pool
        from exchange_edu.engine.delta import apply_result
        from exchange_edu.engine.pool import lp_deposit
        from exchange_edu.engine.types import SYS_POOL_LP

        state = deposit(state, SYS_POOL_LP, asset, rules.pool.seed_liquidity)
        state = apply_result(state, lp_deposit(state, rules, SYS_POOL_LP, rules.pool.seed_liquidity, now).delta)
    for account_id, amount in (deposits or {}).items():
        state = deposit(state, account_id, asset, amount)
    return state


def deposit(state: EngineState, account_id: str, asset: str, amount: Decimal) -> EngineState:
    """Credit `amount` (rounded down to units) from `sys:external`."""
    entry = transfer("deposit", asset, amount, from_account=SYS_EXTERNAL, to_account=account_id,
                     rounding=Rounding.DOWN)
    if entry is not None and asset in state.pools:  # v3: the deposit is lent (pool totals, interest)
        from exchange_edu.engine.work import Work

        work = Work(state, None, state.now)  # type: ignore[arg-type]
        work.post(entry)
        return replace(state, accounts={**state.accounts, **work.accounts}, pools={**state.pools, **work.pools})
    return apply_entries(state, [entry] if entry else [])


def apply_entries(state: EngineState, entries: list[JournalEntry]) -> EngineState:
    accounts = dict(state.accounts)
    for entry in entries:
        for line in entry.lines:
            acct = accounts.get(line.account_id) or Account(line.account_id)
            balances = dict(acct.balances)
            balances[line.asset] = balances.get(line.asset, ZERO) + line.amount
            accounts[line.account_id] = replace(acct, balances=balances)
    return replace(state, accounts=accounts)


def set_account_settings(state: EngineState, account_id: str, market_id: str, *,
                         leverage: Decimal | None = None, margin_mode: MarginMode | None = None) -> EngineState:
    """Choose leverage / margin mode for an account in a market (before opening a position)."""
    acct = state.account(account_id)
    lev = dict(acct.leverage)
    modes = dict(acct.margin_mode)
    if leverage is not None:
        lev[market_id] = leverage
    if margin_mode is not None:
        modes[market_id] = margin_mode
    return replace(state, accounts={**state.accounts, account_id: replace(acct, leverage=lev, margin_mode=modes)})
