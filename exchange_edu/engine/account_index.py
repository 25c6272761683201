"""Account index: which unified accounts a tick must check, without checking them all.

Design note
-----------
A unified account's margin depends on several prices at once (every market's mark, every coin's
index), so there is no single liquidation price to sort by. Instead each account gets a TOLERANCE:
the largest uniform relative price move (of every reference price at once) that certainly cannot
take it below maintenance. With reference prices R_k fixed when the index is built, the account's
buffer B = TAV - MMF x N and sensitivities

    S_k = |size| x contract_size x (1 + 1.5 x MMF)    for each market's mark   (uPnL + the MM change)
    S_k = |balance|                                   for each coin's index    (collateral, weight <= 1)

the excess B - MM changes by at most sum_k S_k |P_k - P'_k| when prices move from P' to P, hence

    tolerance = (B - sum_k S_k |R_k - P_now_k|) / sum_k S_k R_k
    safe while  max_k |P_k / R_k - 1| < tolerance

A tick computes the largest move m since the references (O(markets)) and bisects the sorted
tolerances: only accounts with tolerance <= m are checked, plus accounts the tick changed. Funding,
interest accrual and a drift beyond `REBASE_DRIFT` rebuild the index at current prices (O(accounts),
once an hour, like the per-market re-key at funding times).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.subrules import QUOTE_ASSETS
from exchange_edu.engine.types import is_system
from exchange_edu.engine.unified import account_risk

RefKey = tuple[str, str]  # ("mark", market_id) or ("index", asset)
REBASE_DRIFT = Decimal("0.02")
_MM_SLOPE = Decimal("1.5")  # d(notional^1.5)/d(notional) bound for notional-based sqrt MMF


@dataclass(frozen=True, slots=True)
class AccountIndex:
    refs: dict[RefKey, Decimal] = field(default_factory=dict)
    entries: tuple[tuple[Decimal, str], ...] = ()
    keys: dict[str, Decimal] = field(default_factory=dict)

    def drift(self, prices: dict[RefKey, Decimal]) -> Decimal:
        """max_k |P_k / R_k - 1| over the reference prices (a new price source counts as infinite)."""
        m = ZERO
        for k, p in prices.items():
            r = self.refs.get(k)
            if r is None:
                return Decimal("Infinity")
            m = max(m, abs(p / r - 1))
        return m

    def candidates(self, prices: dict[RefKey, Decimal]) -> list[str]:
        m = self.drift(prices)
        return [a for _, a in self.entries[:bisect_right(self.entries, (m, "\uffff"))]]

    def updated(self, changes: dict[str, Decimal | None]) -> AccountIndex:
        if not changes:
            return self
        entries = list(self.entries)
        keys = dict(self.keys)
        for account, tol in changes.items():
            old = keys.pop(account, None)
            if old is not None:
                del entries[bisect_left(entries, (old, account))]
            if tol is not None:
                keys[account] = tol
                insort(entries, (tol, account))
        return AccountIndex(self.refs, tuple(entries), keys)

    def __len__(self) -> int:
        return len(self.keys)


def current_prices(view: Any) -> dict[RefKey, Decimal]:
    out: dict[RefKey, Decimal] = {}
    for m in view.live_market_ids():
        ms = view.market_state(m)
        out[("mark", m)] = ms.mark_price
        if not view.market(m).is_move:  # a MOVE's index is its fair value, not the coin's price
            out[("index", view.market(m).underlying)] = ms.index_price
    return out


def tolerance(view: Any, rules: RuleSet, account_id: str, refs: dict[RefKey, Decimal],
              prices: dict[RefKey, Decimal]) -> Decimal | None:
    """The account's tolerance (see module note); None when no price move can liquidate it."""
    risk = account_risk(view, rules, account_id)
    has_debt = any(b < 0 for b in risk.balances.values())
    if not risk.positions and not has_debt:
        return None
    buffer = risk.tav - risk.maintenance
    if buffer <= 0 or (has_debt and not risk.positions and risk.tav <= 0):
        return ZERO
    sens: dict[RefKey, Decimal] = {}
    for p in risk.positions:
        market = view.market(p.market_id)
        sens[("mark", p.market_id)] = abs(p.size) * market.contract_size * (1 + _MM_SLOPE * p.mmf)
    for asset, bal in risk.balances.items():
        if asset not in QUOTE_ASSETS and bal:
            key = ("index", asset)
            sens[key] = sens.get(key, ZERO) + abs(bal)
    slack = denom = ZERO
    for k, s in sens.items():
        r = refs.get(k)
        if r is None:
            return ZERO
        slack += s * abs(r - prices.get(k, r))
        denom += s * r
    if not denom:
        return None
    return max(ZERO, (buffer - slack) / denom)


def indexable_accounts(view: Any) -> list[str]:
    """Non-system accounts with a position or a negative balance (a scan: rebuilds only)."""
    base = view.base if hasattr(view, "base") else view
    out = {a for (a, _m) in base.positions}
    out.update(a for a, acct in base.accounts.items() if acct.balances and min(acct.balances.values()) < 0)
    if hasattr(view, "base"):
        out.update(a for (a, _m) in view.positions)
        out.update(view.accounts)
    return sorted(a for a in out if not is_system(a))


def build_account_index(view: Any, rules: RuleSet, prices: dict[RefKey, Decimal] | None = None) -> AccountIndex:
    """Every indexable account keyed at `prices` (default: the view's `current_prices`)."""
    if prices is None:
        prices = current_prices(view)
    keys = {}
    for a in indexable_accounts(view):
        tol = tolerance(view, rules, a, prices, prices)
        if tol is not None:
            keys[a] = tol
    return AccountIndex(prices, tuple(sorted((t, a) for a, t in keys.items())), keys)


def index_after(work: Any, rules: RuleSet) -> AccountIndex | None:
    """The index after an engine call: rebuilt if due, else the changed accounts re-keyed."""
    base = work.account_index if work.account_index is not None else work.base.account_index
    if base is None or work.rebuild_account_index:
        return build_account_index(work, rules)
    changed = {a for a in work.accounts if not is_system(a)}
    changed.update(a for (a, _m) in work.positions if not is_system(a))
    if not changed:
        return work.account_index
    prices = current_prices(work)
    return base.updated({a: tolerance(work, rules, a, base.refs, prices) for a in sorted(changed)})
