"""Liquidation: liquidation and bankruptcy prices, checks that explain themselves, the sorted
trigger index, and the takeover of a failed position by the liquidation engine.

Design note
-----------
Prices (settlement asset amounts; `C` = collateral backing the position before its own uPnL,
`V = |size| x contract_size`, `side` = +1 long / -1 short):

    bankruptcy  B : C + pnl(B) = 0                    -> B  = price_for_pnl(size, E, -C)
    liquidation LP: C + pnl(LP) = MM
        maintenance_basis "entry_value" (BitMEX, default; MM = mmr x value(E)):
                       LP = price_for_pnl(size, E, MM - C)
                       isolated inverse: long LP = E / (1 + 1/L - mmr), short LP = E / (1 - 1/L + mmr)
        maintenance_basis "mark_value" (OKX; MM = mmr x value(LP)):
                       inverse: 1/LP = (C + side V / E) / (V (side + mmr))
                       linear :   LP = (side V E - C) / (V (side - mmr))
    v0 keep ratio k at leverage L is the entry-value convention with mmr = k / L:
                       long 1/LP = 1/E + (1 - k) x margin / V          (MECHANICS 1.3)
    E11: long 10,000 @ 10,000, 100x, mmr 0.5% -> B = 9,900.99, LP = 9,950.25.

The index: per market, longs and shorts are kept in two lists sorted by trigger price; a tick
bisects at the trigger price (mark, or last for v0) and only touches positions whose trigger was
crossed: O(log n + k). Keys change only when a position, its account's wallet (cross) or the
funding index changes; funding moves every position's collateral at once, so the market is
re-keyed at each funding time (once per interval). Cross accounts with cross positions in more
than one market of a coin have no single-price trigger and sit in an "always check" set.

Takeover (v0 and v1 alike, MECHANICS 1.5c / 2.6): cancel the trader's orders in the contract,
settle pending funding, then the trader loses exactly the collateral (`C`, whole units) and the
liquidation engine (`sys:liquidation`) takes the position at B. What the engine later earns or
loses against B is the insurance fund's surplus or deficit (see `insurance`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import settle
from exchange_edu.engine.margin import (
    collateral,
    cross_positions,
    maintenance_margin,
    pending_funding,
    risk_rates,
    unrealized_pnl,
)
from exchange_edu.engine.numbers import ZERO, Rounding
from exchange_edu.engine.rules import MaintenanceBasis, RuleSet
from exchange_edu.engine.types import (
    SYS_CLEARING,
    SYS_LIQUIDATION,
    MarginMode,
    Market,
    Position,
    evolve,
    is_system,
)

# -- closed forms (MECHANICS 2.5), used by worked examples and the UI calculator ---------------


def inverse_isolated_bankruptcy_price(entry: Decimal, leverage: Decimal, *, is_long: bool) -> Decimal | None:
    """B = E L / (L + 1) for a long, E L / (L - 1) for a short (None for a 1x short: never)."""
    if is_long:
        return entry * leverage / (leverage + 1)
    return entry * leverage / (leverage - 1) if leverage > 1 else None


def inverse_isolated_liquidation_price(entry: Decimal, leverage: Decimal, mmr: Decimal, *,
                                       is_long: bool, basis: MaintenanceBasis = "entry_value") -> Decimal | None:
    """Isolated inverse LP; margin M = Q / (E L). See module note for both conventions."""
    if basis == "entry_value":
        denom = (1 + 1 / leverage - mmr) if is_long else (1 - 1 / leverage + mmr)
        return entry / denom if denom > 0 else None
    inv = (1 / entry + 1 / (entry * leverage)) if is_long else (1 / entry - 1 / (entry * leverage))
    if inv <= 0:
        return None
    return (1 + mmr) / inv if is_long else (1 - mmr) / inv


def keep_ratio_liquidation_price(entry: Decimal, leverage: Decimal, keep_ratio: Decimal, *,
                                 is_long: bool) -> Decimal | None:
    """v0 fixed margin: 1/LP = 1/E +- (1 - k) x margin / V with margin = V / (E L)."""
    side = 1 if is_long else -1
    inv = (1 + side * (1 - keep_ratio) / leverage) / entry
    return 1 / inv if inv > 0 else None


# -- general position prices ----------------------------------------------------------------


def bankruptcy_price(market: Market, size: Decimal, entry: Decimal, coll: Decimal) -> Decimal | None:
    """Price at which collateral + uPnL = 0."""
    return market.price_for_pnl(size, entry, -coll)


def liquidation_price(market: Market, size: Decimal, entry: Decimal, coll: Decimal, mmr: Decimal,
                      basis: str) -> Decimal | None:
    """Price at which collateral + uPnL = maintenance margin (None: never reached)."""
    if basis == "entry_value":
        mm = mmr * market.value(size, entry)
        return market.price_for_pnl(size, entry, mm - coll)
    side = 1 if size > 0 else -1
    v = abs(size) * market.contract_size
    if market.is_inverse:
        inv = (coll + side * v / entry) / (v * (side + mmr))
        return 1 / inv if inv > 0 else None
    lp = (side * v * entry - coll) / (v * (side - mmr))
    return lp if lp > 0 else None


@dataclass(frozen=True, slots=True)
class PositionPrices:
    liquidation: Decimal | None
    bankruptcy: Decimal | None
    collateral: Decimal
    mmr: Decimal


def position_prices(view: Any, rules: RuleSet, position: Position) -> PositionPrices:
    """Liquidation and bankruptcy price of a position, pending funding included."""
    market = view.market(position.market_id)
    coll = collateral(view, position)
    _, mmr = risk_rates(rules, market, position)
    lp = liquidation_price(market, position.size, position.entry_price, coll, mmr,
                           rules.margin.maintenance_basis)
    return PositionPrices(lp, bankruptcy_price(market, position.size, position.entry_price, coll), coll, mmr)


# -- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidationCheck:
    """The verdict and the numbers behind it (for events and the "why was I liquidated" page)."""

    account_id: str
    market_id: str
    is_liquidatable: bool
    reason: str
    trigger_price: Decimal
    equity: Decimal
    maintenance: Decimal
    collateral: Decimal
    upnl: Decimal
    pending_funding: Decimal
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    formula: str = "liquidate when collateral + uPnL(trigger) <= maintenance margin"

    def inputs(self) -> dict[str, Any]:
        return {"trigger_price": self.trigger_price, "collateral": self.collateral, "upnl": self.upnl,
                "pending_funding": self.pending_funding, "maintenance": self.maintenance,
                "liquidation_price": self.liquidation_price, "bankruptcy_price": self.bankruptcy_price}


def trigger_price_of(view: Any, rules: RuleSet, market_id: str) -> Decimal:
    ms = view.market_state(market_id)
    kind = rules.liquidation.trigger_price
    if kind == "last" and ms.last_price is not None:
        return ms.last_price
    if kind == "index":
        return ms.index_price
    return ms.mark_price if kind == "mark" or ms.last_price is None else ms.last_price


def check_position(view: Any, rules: RuleSet, position: Position, price: Decimal | None = None) -> LiquidationCheck:
    """Is the position (isolated, or the account's cross book in its coin) below maintenance?"""
    market = view.market(position.market_id)
    price = trigger_price_of(view, rules, position.market_id) if price is None else price
    ms = view.market_state(position.market_id)
    if position.margin_mode is MarginMode.CROSS:
        positions = cross_positions(view, position.account_id, market.settlement_asset)
    else:
        positions = [position]
    coll = collateral(view, position)
    upnl = unrealized_pnl(market, position, price)
    mm = ZERO
    for p in positions:
        pm = view.market(p.market_id)
        mark = price if p.market_id == position.market_id else view.market_state(p.market_id).mark_price
        mm += maintenance_margin(rules, pm, p, mark)
    equity = coll + upnl
    prices = position_prices(view, rules, position)
    liquidatable = equity <= mm
    side = "long" if position.size > 0 else "short"
    if liquidatable:
        reason = (f"{side} {abs(position.size)} {market.market_id}: at {price} equity {equity:.8f} "
                  f"<= maintenance {mm:.8f} {market.settlement_asset}")
    else:
        reason = f"equity {equity:.8f} above maintenance {mm:.8f}"
    return LiquidationCheck(position.account_id, position.market_id, liquidatable, reason, price, equity, mm,
                            coll, upnl, pending_funding(position, ms.index_for(position.size)),
                            prices.liquidation, prices.bankruptcy)


# -- the sorted trigger index ---------------------------------------------------------------

IndexKey = tuple[str, Decimal | None]  # ("long" | "short" | "always", price)


@dataclass(frozen=True, slots=True)
class LiquidationIndex:
    """Per market: longs/shorts sorted by liquidation price, plus an always-check set."""

    longs: tuple[tuple[Decimal, str], ...] = ()
    shorts: tuple[tuple[Decimal, str], ...] = ()
    keys: dict[str, IndexKey] = field(default_factory=dict)
    always: frozenset[str] = frozenset()

    @classmethod
    def build(cls, keys: dict[str, IndexKey]) -> LiquidationIndex:
        longs = sorted((p, a) for a, (k, p) in keys.items() if k == "long")
        shorts = sorted((p, a) for a, (k, p) in keys.items() if k == "short")
        always = frozenset(a for a, (k, _) in keys.items() if k == "always")
        return cls(tuple(longs), tuple(shorts), dict(keys), always)

    def candidates(self, price: Decimal) -> list[str]:
        """Accounts whose trigger was crossed at `price` (long: price <= LP; short: price >= LP)."""
        out = [a for _, a in self.longs[bisect_left(self.longs, (price, "")):]]
        out.extend(a for _, a in self.shorts[:bisect_right(self.shorts, (price, "\uffff"))])
        out.extend(sorted(self.always))
        return out

    def updated(self, changes: dict[str, IndexKey | None]) -> LiquidationIndex:
        """A new index with some accounts re-keyed (None = removed); O(changes x n memmove)."""
        if not changes:
            return self
        longs, shorts = list(self.longs), list(self.shorts)
        keys = dict(self.keys)
        always = set(self.always)
        for account, new in changes.items():
            old = keys.pop(account, None)
            if old is not None:
                kind, price = old
                if kind == "always":
                    always.discard(account)
                else:
                    lst = longs if kind == "long" else shorts
                    del lst[bisect_left(lst, (price, account))]
            if new is not None:
                keys[account] = new
                kind, price = new
                if kind == "always":
                    always.add(account)
                else:
                    insort(longs if kind == "long" else shorts, (price, account))
        return LiquidationIndex(tuple(longs), tuple(shorts), keys, frozenset(always))

    def __len__(self) -> int:
        return len(self.keys)


def index_key(view: Any, rules: RuleSet, position: Position | None) -> IndexKey | None:
    """Where a position sits in the index (None: not indexed, e.g. flat or a system account)."""
    if position is None or not position.size or is_system(position.account_id):
        return None
    if position.margin_mode is MarginMode.CROSS:
        asset = view.market(position.market_id).settlement_asset
        if len(cross_positions(view, position.account_id, asset)) > 1:
            return ("always", None)
    lp = position_prices(view, rules, position).liquidation
    if lp is None:
        return None
    return ("long", lp) if position.size > 0 else ("short", lp)


def build_index(view: Any, rules: RuleSet, market_id: str) -> LiquidationIndex:
    """The market's index from scratch; a Work reuses it while nothing changed (the liquidation stage
    and `delta.finish` both need it at a funding time)."""
    if getattr(view, "rules", None) is rules and hasattr(view, "memo"):
        return view.memo(("liquidation_index", market_id), lambda: _build_index(view, rules, market_id))
    return _build_index(view, rules, market_id)


def _build_index(view: Any, rules: RuleSet, market_id: str) -> LiquidationIndex:
    keys = {}
    for p in view.positions_in(market_id):
        k = index_key(view, rules, p)
        if k is not None:
            keys[p.account_id] = k
    return LiquidationIndex.build(keys)


# -- takeover by the liquidation engine -----------------------------------------------------


def take_over(work: Any, rules: RuleSet, position: Position, check: LiquidationCheck) -> None:
    """Move a failed position (or, for cross, every cross position in its coin) to the engine.

    The trader loses exactly the collateral (isolated margin, or the cross wallet after isolated
    margins), in whole units, booked against the clearing account like realized PnL. Each
    position j moves at the price B_j where its PnL equals uPnL_j - (sum uPnL + loss) x w_j,
    w_j = MM_j / sum MM; for one position that is the bankruptcy price (PnL = -C).
    """
    from exchange_edu.engine.funding import settle_funding
    from exchange_edu.engine.trading import cancel_account_orders, merge_into_position

    market = work.market(position.market_id)
    asset = market.settlement_asset
    if position.margin_mode is MarginMode.CROSS:
        group = cross_positions(work, position.account_id, asset)
    else:
        group = [position]
    settled = []
    for p in group:
        cancel_account_orders(work, p.account_id, p.market_id, reason="liquidation")
        settled.append(settle_funding(work, p))
    if position.margin_mode is MarginMode.ISOLATED:
        loss = max(settled[0].isolated_margin, ZERO)
    else:
        acct = work.account(position.account_id)
        from exchange_edu.engine.margin import isolated_margin_total

        loss = max(acct.balance(asset) - isolated_margin_total(work, position.account_id, asset), ZERO)
    work.post(settle("liquidation_loss", asset, [(position.account_id, -loss)], SYS_CLEARING,
                     market=market.market_id, rounding=Rounding.TRADER_CREDIT,
                     memo="collateral lost to the liquidation engine"))
    _add_period_pnl(work, position.account_id, asset, -loss)
    upnls = []
    mms = []
    for p in settled:
        pm = work.market(p.market_id)
        px = check.trigger_price if p.market_id == position.market_id else work.market_state(p.market_id).mark_price
        upnls.append(unrealized_pnl(pm, p, px))
        mms.append(maintenance_margin(rules, pm, p, px))
    total_upnl, total_mm = sum(upnls, ZERO), sum(mms, ZERO)
    for p, upnl, mm in zip(settled, upnls, mms, strict=True):
        pm = work.market(p.market_id)
        if len(settled) == 1:
            target = -loss
        else:
            weight = mm / total_mm if total_mm else Decimal(1) / len(settled)
            target = upnl - (total_upnl + loss) * weight
        price = pm.price_for_pnl(p.size, p.entry_price, target)
        if price is None:  # a 1x inverse short cannot go bankrupt; move it at the trigger price
            price = check.trigger_price
        work.set_position(p.key, None)
        engine_pos = work.position(SYS_LIQUIDATION, pm.market_id)
        work.set_position((SYS_LIQUIDATION, pm.market_id),
                          merge_into_position(work, pm, engine_pos, SYS_LIQUIDATION, p.size, price))
        work.emit(EventKind.LIQUIDATION, market=pm.market_id, account=p.account_id,
                  numbers={"contracts": p.size, "bankruptcy_price": price, "collateral_lost": loss,
                           "liquidation_price": check.liquidation_price},
                  inputs={**check.inputs(), "entry_price": p.entry_price, "leverage": p.leverage,
                          "margin_mode": p.margin_mode.value},
                  formula="engine takes the position at B where collateral + uPnL(B) = 0; "
                          "trader loses the collateral",
                  reason=check.reason)


def _add_period_pnl(work: Any, account_id: str, asset: str, pnl: Decimal) -> None:
    acct = work.account(account_id)
    period = dict(acct.period_pnl)
    period[asset] = period.get(asset, ZERO) + pnl
    work.set_account(evolve(acct, period_pnl=period))
