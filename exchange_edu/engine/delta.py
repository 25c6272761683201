"""Delta: what an engine call changed, and `apply_result` to fold it into a new state.

Design note
-----------
`apply_tick` and `place_order` return a delta, not a new state: the changed market states,
accounts and positions (None = closed), new or relabelled markets, the books they touched, the
liquidation-index changes, journal entries and events. The sandbox persists only those rows;
`apply_result` builds the next EngineState for replay and tests. Cost: O(changed) except for the
dict copies in `apply_result` (C-speed) and a full index rebuild at funding times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exchange_edu.engine.events import Event
from exchange_edu.engine.ledger import JournalEntry
from exchange_edu.engine.liquidation import IndexKey, LiquidationIndex, build_index, index_key
from exchange_edu.engine.margin import cross_positions
from exchange_edu.engine.types import (
    Account,
    EngineState,
    MarginMode,
    Market,
    MarketState,
    Position,
    PositionKey,
    evolve,
    is_system,
)


@dataclass(frozen=True, slots=True)
class Delta:
    tick_seq: int
    now: int
    markets: dict[str, Market] = field(default_factory=dict)
    market_states: dict[str, MarketState] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    positions: dict[PositionKey, Position | None] = field(default_factory=dict)
    books: dict[str, Any] = field(default_factory=dict)
    triggers: dict[str, Any] = field(default_factory=dict)
    index_updates: dict[str, dict[str, IndexKey | None]] = field(default_factory=dict)
    index_rebuilt: dict[str, LiquidationIndex] = field(default_factory=dict)
    entries: tuple[JournalEntry, ...] = ()
    events: tuple[Event, ...] = ()
    next_order_id: int = 1
    next_order_seq: int = 1
    pools: dict[str, Any] = field(default_factory=dict)  # v3 lending pools that changed
    account_index: Any = None  # v2+: the new account-level liquidation index (None = unchanged)


def finish(work: Any, tick_seq: int) -> Delta:
    """Turn a Work overlay into a Delta, computing the liquidation-index changes."""
    rules = work.rules
    if rules.margin.account_model == "unified":  # one account-level index instead of per market
        from exchange_edu.engine.account_index import index_after

        fresh = work.fresh_account_index()  # rebuilt by the liquidation stage, nothing changed since
        return _delta(work, tick_seq, {}, {}, fresh if fresh is not None else index_after(work, rules))
    rebuilt = {m: build_index(work, rules, m) for m in sorted(work.rekey_markets)}
    updates: dict[str, dict[str, IndexKey | None]] = {}
    for (account_id, market_id), pos in work.positions.items():
        if market_id in rebuilt or is_system(account_id):
            continue
        updates.setdefault(market_id, {})[account_id] = index_key(work, rules, pos)
    for account_id in work.accounts:
        if is_system(account_id):
            continue
        for m in work.market_ids():
            p = work.position(account_id, m)
            if p is None or p.margin_mode is not MarginMode.CROSS or m in rebuilt:
                continue
            for q in cross_positions(work, account_id, work.market(m).settlement_asset):
                if q.market_id not in rebuilt:
                    updates.setdefault(q.market_id, {})[account_id] = index_key(work, rules, q)
    return _delta(work, tick_seq, updates, rebuilt, None)


def _delta(work: Any, tick_seq: int, updates: dict[str, dict[str, IndexKey | None]],
           rebuilt: dict[str, LiquidationIndex], account_index: Any) -> Delta:
    return Delta(
        tick_seq=tick_seq, now=work.now, markets=dict(work.new_markets),
        market_states=dict(work.market_states), accounts=dict(work.accounts),
        positions=dict(work.positions), books=dict(work.books), triggers=dict(work.triggers),
        index_updates=updates, index_rebuilt=rebuilt, entries=tuple(work.entries),
        events=tuple(work.events), next_order_id=work.next_order_id, next_order_seq=work.next_order_seq,
        pools=dict(work.pools), account_index=account_index,
    )


def apply_result(state: EngineState, delta: Any) -> EngineState:
    """The next EngineState: `state` with the delta folded in (the input is not mutated)."""
    d: Delta = delta.delta if hasattr(delta, "delta") else delta
    markets = {**state.markets, **d.markets} if d.markets else state.markets
    market_states = {**state.market_states, **d.market_states} if d.market_states else state.market_states
    accounts = {**state.accounts, **d.accounts} if d.accounts else state.accounts
    if d.positions:
        positions = dict(state.positions)
        for key, pos in d.positions.items():
            if pos is None:
                positions.pop(key, None)
            else:
                positions[key] = pos
    else:
        positions = state.positions
    index = state.liquidation_index
    if d.index_updates or d.index_rebuilt:
        index = dict(index)
        index.update(d.index_rebuilt)
        for m, changes in d.index_updates.items():
            index[m] = index.get(m, LiquidationIndex()).updated(changes)
    return evolve(
        state, now=d.now, tick_seq=max(state.tick_seq, d.tick_seq), markets=markets,
        market_states=market_states, accounts=accounts, positions=positions,
        books={**state.books, **d.books} if d.books else state.books,
        triggers={**state.triggers, **d.triggers} if d.triggers else state.triggers,
        liquidation_index=index, next_order_id=d.next_order_id, next_order_seq=d.next_order_seq,
        pools={**state.pools, **d.pools} if d.pools else state.pools,
        account_index=d.account_index if d.account_index is not None else state.account_index,
    )
