"""Work: a copy-on-write overlay over a frozen EngineState for one engine call.

Design note
-----------
`place_order` and `apply_tick` run several stages that each read what earlier stages changed.
`Work` gives them the EngineState read interface (`market`, `market_state`, `account`,
`position`, `book`, `positions_in`) over the base state plus the changes so far, collects journal
entries (applying their lines to the touched accounts' balances as it goes) and events, and
copies a book before its first change. Its changes become the DELTA of a TickResult / OrderResult,
so a tick costs what it touches, not what the state holds. The base state is never mutated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exchange_edu.engine.events import Event, EventKind
from exchange_edu.engine.ledger import JournalEntry
from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import (
    Account,
    EngineState,
    Market,
    MarketState,
    MarketStatus,
    Position,
    PositionKey,
    evolve,
    is_system,
)


class Work:
    def __init__(self, state: EngineState, rules: RuleSet, now: int) -> None:
        self.base = state
        self.rules = rules
        self.now = now
        self.new_markets: dict[str, Market] = {}
        self.market_states: dict[str, MarketState] = {}
        self.accounts: dict[str, Account] = {}
        self.positions: dict[PositionKey, Position | None] = {}
        self.books: dict[str, Any] = {}
        self.triggers: dict[str, Any] = {}
        self.entries: list[JournalEntry] = []
        self.events: list[Event] = []
        self.next_order_id = state.next_order_id
        self.next_order_seq = state.next_order_seq
        self.rekey_markets: set[str] = set()  # liquidation index must be rebuilt for these
        self.pools: dict[str, Any] = {}  # v3 lending pools changed in this call
        self._lending = bool(state.pools)
        self._memo: dict[Any, tuple[tuple[Any, ...], Any]] = {}  # see `memo`
        self.account_index: Any = None  # v2+: set when the liquidation stage rebuilt it
        self.rebuild_account_index = False
        self.seed = 0  # apply_tick: the tick's seed (the only source of randomness)
        self.risk_cache: dict[str, tuple[tuple[Any, ...], Any]] = {}  # see `unified.account_risk`

    # -- reads ------------------------------------------------------------------------------
    def market(self, market_id: str) -> Market:
        m = self.new_markets.get(market_id)
        return m if m is not None else self.base.markets[market_id]

    def market_ids(self) -> list[str]:
        if not self.new_markets:
            return list(self.base.markets)
        return list(dict.fromkeys([*self.base.markets, *self.new_markets]))

    def live_market_ids(self) -> list[str]:
        over, base, open_ = self.market_states, self.base.market_states, MarketStatus.OPEN
        return [m for m in self.market_ids() if (over.get(m) or base[m]).status is open_]

    def market_state(self, market_id: str) -> MarketState:
        ms = self.market_states.get(market_id)
        return ms if ms is not None else self.base.market_states[market_id]

    def account(self, account_id: str) -> Account:
        a = self.accounts.get(account_id)
        return a if a is not None else self.base.account(account_id)

    def position(self, account_id: str, market_id: str) -> Position | None:
        key = (account_id, market_id)
        if key in self.positions:
            return self.positions[key]
        return self.base.positions.get(key)

    def book(self, market_id: str) -> Any:
        b = self.books.get(market_id)
        return b if b is not None else self.base.books.get(market_id)

    def trigger_book(self, market_id: str) -> Any:
        b = self.triggers.get(market_id)
        return b if b is not None else self.base.triggers.get(market_id)

    def pool(self, asset: str) -> Any:
        p = self.pools.get(asset)
        return p if p is not None else self.base.pools.get(asset)

    def pool_states(self) -> dict[str, Any]:
        return {**self.base.pools, **self.pools} if self.pools else self.base.pools

    def positions_in(self, market_id: str) -> list[Position]:
        """Current positions of a market (a scan of the base plus overrides)."""
        out = {k: p for k, p in self.base.positions.items() if k[1] == market_id}
        for k, p in self.positions.items():
            if k[1] == market_id:
                if p is None:
                    out.pop(k, None)
                else:
                    out[k] = p
        return sorted(out.values(), key=lambda p: p.account_id)

    # -- writes -----------------------------------------------------------------------------
    def book_for_write(self, market_id: str) -> Any:
        b = self.books.get(market_id)
        if b is None:
            from exchange_edu.engine.book import OrderBook

            base = self.base.books.get(market_id)
            m = self.market(market_id)
            b = base.copy() if base is not None else OrderBook(market_id, m.tick_size)
            self.books[market_id] = b
        return b

    def triggers_for_write(self, market_id: str) -> Any:
        b = self.triggers.get(market_id)
        if b is None:
            from exchange_edu.engine.book import TriggerBook

            base = self.base.triggers.get(market_id)
            b = TriggerBook.from_orders(market_id, base.snapshot()) if base is not None else TriggerBook(market_id)
            self.triggers[market_id] = b
        return b

    def set_position(self, key: PositionKey, position: Position | None) -> None:
        """Store a position (None or flat-without-margin removes it); keeps open interest."""
        if position is not None and not position.size and not position.isolated_margin:
            position = None
        old = self.position(*key)
        old_long = old.size if old is not None and old.size > 0 else ZERO
        new_long = position.size if position is not None and position.size > 0 else ZERO
        if old_long != new_long:
            ms = self.market_state(key[1])
            self.market_states[key[1]] = evolve(ms, open_interest=ms.open_interest + new_long - old_long)
        self.positions[key] = position

    def set_market_state(self, ms: MarketState) -> None:
        self.market_states[ms.market_id] = ms

    def set_account(self, account: Account) -> None:
        self.accounts[account.account_id] = account

    def post(self, entry: JournalEntry | None) -> None:
        """Record a journal entry and apply its lines to the accounts' balances."""
        if entry is None:
            return
        if self._lending:  # v3: settle pending interest before a pooled balance changes
            from exchange_edu.engine.lending import settle_interest

            for line in entry.lines:
                if not is_system(line.account_id) and self.pool(line.asset) is not None:
                    settle_interest(self, line.account_id, line.asset)
        self.apply_entry(entry)

    def apply_entry(self, entry: JournalEntry) -> None:
        """Record an entry and move balances (pool totals follow pooled balances)."""
        self.entries.append(entry)
        for line in entry.lines:
            acct = self.account(line.account_id)
            balances = dict(acct.balances)
            balances[line.asset] = balances.get(line.asset, ZERO) + line.amount
            new = _replace_account(acct, balances=balances)
            if self._lending and not is_system(line.account_id):
                pool = self.pool(line.asset)
                if pool is not None:
                    from exchange_edu.engine.lending import retrack

                    pool, new = retrack(pool, acct, new, line.asset)
                    self.pools[line.asset] = pool
            self.accounts[line.account_id] = new

    def emit(self, kind: EventKind, *, market: str | None = None, account: str | None = None,
             numbers: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
             formula: str = "", reason: str = "") -> Event:
        ev = Event(kind, self.now, market, account, numbers or {}, inputs or {}, formula, reason)
        self.events.append(ev)
        return ev

    def take_order_id(self) -> tuple[int, int]:
        oid, seq = self.next_order_id, self.next_order_seq
        self.next_order_id += 1
        self.next_order_seq += 1
        return oid, seq

    # -- memo: a result computed from this view is reused while nothing has changed since -----
    def overlay(self) -> tuple[tuple[Any, ...], ...]:
        """What this call has changed so far, as (key, record) pairs per kind."""
        return (tuple(self.positions.items()), tuple(self.accounts.items()), tuple(self.market_states.items()),
                tuple(self.new_markets.items()), tuple(self.pools.items()))

    def unchanged_since(self, snapshot: tuple[tuple[Any, ...], ...]) -> bool:
        """True when the view is exactly what it was at `snapshot`. Records are frozen, so every
        change stores a new object: the same objects under the same keys mean the same view."""
        for before, now in zip(snapshot, self.overlay(), strict=True):
            if len(before) != len(now):
                return False
            for (k0, v0), (k1, v1) in zip(before, now, strict=True):
                if v0 is not v1 or k0 != k1:
                    return False
        return True

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """`build()` (a pure function of this view, e.g. a liquidation index), computed again only
        when the view changed since the last call with this key (not the books: callers' results
        must not depend on them)."""
        hit = self._memo.get(key)
        if hit is not None and self.unchanged_since(hit[0]):
            return hit[1]
        snapshot = self.overlay()
        value = build()
        self._memo[key] = (snapshot, value)
        return value

    @property
    def account_index(self) -> Any:
        return self._account_index

    @account_index.setter
    def account_index(self, index: Any) -> None:
        self._account_index = index
        if index is not None:  # remember the view it was built from (see `fresh_account_index`)
            self._memo["account_index"] = (self.overlay(), index)

    def fresh_account_index(self) -> Any:
        """The account index rebuilt in this call if nothing changed since (else None)."""
        hit = self._memo.get("account_index")
        if hit is not None and hit[1] is self._account_index and self.unchanged_since(hit[0]):
            return hit[1]
        return None


def _replace_account(acct: Account, **changes: Any) -> Account:
    return evolve(acct, **changes)
