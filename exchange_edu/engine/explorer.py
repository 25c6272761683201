"""Explorer: every account's positions, equity and distance to liquidation (DeFi: all public).

Design note
-----------
On an on-chain exchange (dYdX v4, Hyperliquid) every subaccount is public: anyone can list who
holds what, how much collateral backs it and how far the price must move to liquidate it. The
lesson's "explorer" page is `explorer(state, rules)`, a pure function of the state.

Unified (cross) accounts (`margin.account_model = "unified"`):

    equity  = TAV = collateral + uPnL(mark);  maintenance = MMF x N
    a uniform relative move x of every mark changes equity by x x D (D = sum side_i x n_i, the
    net directional notional) and maintenance by x x sum(MMF_i x side_i x n_i), so liquidation at
        x = (maintenance - equity) / (D - sum MMF_i side_i n_i)
    liquidation price of position i = mark_i x (1 + x);  distance = |x| (None: fully hedged)

Per-position (isolated, per_coin) accounts: each position's own liquidation price
(`liquidation.position_prices`), the account's distance being its nearest position's.

Example: $1,000 long 1 BTC at mark 10,000, MMF 3%: x = (300 - 1,000) / (10,000 - 300) = -7.22%,
liquidation at 9,278.35 (equity 1,000 - 721.65 = 278.35 = 3% x 9,278.35).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange_edu.engine.numbers import ZERO, in_engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import EngineState, is_system


@dataclass(frozen=True, slots=True)
class PositionView:
    market_id: str
    size: Decimal  # signed contracts
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal  # settlement asset at the mark
    upnl: Decimal
    liquidation_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountView:
    account_id: str
    equity: Decimal  # collateral + uPnL (pending funding included)
    collateral: Decimal
    upnl: Decimal
    notional: Decimal
    maintenance: Decimal
    margin_fraction: Decimal | None  # equity / notional
    liquidation_distance: Decimal | None  # relative adverse move to liquidation (0 = liquidatable now)
    positions: tuple[PositionView, ...]


@in_engine_context
def explorer(state: EngineState, rules: RuleSet | None = None, *,
             include_system: bool = False) -> tuple[AccountView, ...]:
    """Every account with a position (by account id); `rules` default to the `defi_book` preset.

    System accounts (the vault backstop `sys:backstop`, the pool `sys:pool`, ...) with `include_system`."""
    if rules is None:
        from exchange_edu.engine.rules import PRESETS

        rules = PRESETS["defi_book"]
    holders = sorted({a for (a, _m), p in state.positions.items() if p.size})
    out = []
    for account_id in holders:
        if is_system(account_id) and not include_system:
            continue
        out.append(_unified_view(state, rules, account_id) if rules.margin.account_model == "unified"
                   else _position_view(state, rules, account_id))
    return tuple(out)


def _unified_view(state: EngineState, rules: RuleSet, account_id: str) -> AccountView:
    from exchange_edu.engine.unified import account_risk

    risk = account_risk(state, rules, account_id)
    directional = sum(((1 if p.size > 0 else -1) * p.notional for p in risk.positions), ZERO)
    mm_slope = sum((p.mmf * (1 if p.size > 0 else -1) * p.notional for p in risk.positions), ZERO)
    denom = directional - mm_slope
    move = (risk.maintenance - risk.tav) / denom if denom else None
    views = []
    for p in risk.positions:
        pos = state.position(account_id, p.market_id)
        assert pos is not None
        lp = p.mark * (1 + move) if move is not None and 1 + move > 0 else None
        views.append(PositionView(p.market_id, p.size, pos.entry_price, p.mark, p.notional, p.upnl, lp))
    distance = None if move is None else (ZERO if risk.tav <= risk.maintenance else abs(move))
    return AccountView(account_id, risk.tav, risk.collateral, risk.upnl, risk.notional, risk.maintenance,
                       risk.margin_fraction, distance, tuple(views))


def _position_view(state: EngineState, rules: RuleSet, account_id: str) -> AccountView:
    from exchange_edu.engine.liquidation import check_position, position_prices

    equity = coll = upnl = notional = mm = ZERO
    views = []
    distance: Decimal | None = None
    for (a, m), pos in sorted(state.positions.items()):
        if a != account_id or not pos.size:
            continue
        market = state.markets[m]
        mark = state.market_states[m].mark_price
        check = check_position(state, rules, pos, mark)
        lp = position_prices(state, rules, pos).liquidation
        coll += check.collateral
        upnl += check.upnl
        equity += check.equity
        mm += check.maintenance
        notional += market.value(pos.size, mark)
        views.append(PositionView(m, pos.size, pos.entry_price, mark, market.value(pos.size, mark), check.upnl, lp))
        if lp is not None:
            d = ZERO if check.is_liquidatable else abs(lp / mark - 1)
            distance = d if distance is None else min(distance, d)
    return AccountView(account_id, equity, coll, upnl, notional, mm, equity / notional if notional else None,
                       distance, tuple(views))
