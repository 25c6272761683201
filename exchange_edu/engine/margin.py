"""Margin: initial / maintenance requirements, position and account equity, free balance.

Design note
-----------
Rates come from the RuleSet's risk model (`rules.margin.risk.rates(value, leverage)`), so v0 keep
ratios, v1 risk-limit steps and (later) sqrt-size IMF are the same code path. The risk tier is
chosen from the position value at ENTRY, so a position's maintenance rate (and hence its
liquidation price) does not move with the mark; the sorted liquidation index relies on that.

    initial margin (isolated)   IM = value(E) / L                      (E2: 100 x 100 / 400 / 10 = 2.5 BTC)
    maintenance                 MM = mmr x value(E)    (maintenance_basis = "entry_value", default)
                                MM = mmr x value(M)    (maintenance_basis = "mark_value", OKX style)
    pending funding             f  = size x (funding_index_now - funding_snapshot)  (owed BY the position)
    isolated collateral         C  = isolated_margin - f
    cross collateral (per coin) C  = wallet - sum(isolated margins) - sum(cross f)
                                     + sum(uPnL of the other cross positions)
    position equity             C + uPnL(M)
    free balance                wallet - isolated margins - cross f + cross uPnL - cross IM - order margin

Pending funding is part of every equity figure, so lazily settled funding never hides a loss.
Order margin follows BitMEX: only the opening part of resting orders is charged, and only the
larger of the buy and sell sides (the net side).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import SYS_POOL, MarginMode, Market, Position


def risk_rates(rules: RuleSet, market: Market, position: Position) -> tuple[Decimal, Decimal]:
    """(imr, mmr) of a position, tier chosen by its value at entry."""
    return rules.margin.risk.position_rates(market, position.size, position.entry_price, position.leverage)


def initial_margin(market: Market, contracts: Decimal, price: Decimal, leverage: Decimal) -> Decimal:
    """IM = value(price) / L (settlement asset)."""
    return market.value(contracts, price) / leverage


def maintenance_margin(rules: RuleSet, market: Market, position: Position, mark: Decimal) -> Decimal:
    """MM = mmr x value at entry (or at mark with maintenance_basis = "mark_value")."""
    _, mmr = risk_rates(rules, market, position)
    basis = position.entry_price if rules.margin.maintenance_basis == "entry_value" else mark
    return mmr * market.value(position.size, basis)


def pending_funding(position: Position, funding_index: Decimal) -> Decimal:
    """Funding owed BY the position since its last settlement: size x (I_now - I_snapshot).

    The DeFi pool's own position (`sys:pool`) neither pays nor receives: GMX funding is between
    the traders of the two sides. Pass `market_state.index_for(size)` as the index."""
    if position.account_id == SYS_POOL:
        return ZERO
    return position.size * (funding_index - position.funding_snapshot)


def unrealized_pnl(market: Market, position: Position, mark: Decimal) -> Decimal:
    return market.pnl(position.size, position.entry_price, mark)


def cross_positions(view: Any, account_id: str, asset: str) -> list[Position]:
    out = []
    for m in view.live_market_ids():
        p = view.position(account_id, m)
        if p is not None and p.size and p.margin_mode is MarginMode.CROSS \
                and view.market(m).settlement_asset == asset:
            out.append(p)
    return out


def isolated_margin_total(view: Any, account_id: str, asset: str) -> Decimal:
    total = ZERO
    for m in view.live_market_ids():
        p = view.position(account_id, m)
        if p is not None and p.margin_mode is MarginMode.ISOLATED \
                and view.market(m).settlement_asset == asset:
            total += p.isolated_margin
    return total


def collateral(view: Any, position: Position, *, exclude_self_upnl: bool = True) -> Decimal:
    """Collateral backing `position` before its own uPnL (see module formulas)."""
    ms = view.market_state(position.market_id)
    if position.margin_mode is MarginMode.ISOLATED:
        return position.isolated_margin - pending_funding(position, ms.index_for(position.size))
    market = view.market(position.market_id)
    asset = market.settlement_asset
    acct = view.account(position.account_id)
    c = acct.balance(asset) - isolated_margin_total(view, position.account_id, asset)
    for p in cross_positions(view, position.account_id, asset):
        pms = view.market_state(p.market_id)
        c -= pending_funding(p, pms.index_for(p.size))
        if p.market_id != position.market_id or not exclude_self_upnl:
            c += unrealized_pnl(view.market(p.market_id), p, pms.mark_price)
    return c


@dataclass(frozen=True, slots=True)
class MarginSummary:
    """Per-asset account summary for the UI and order checks (settlement asset)."""

    asset: str
    wallet: Decimal
    isolated_margin: Decimal
    cross_pending_funding: Decimal
    cross_upnl: Decimal
    cross_initial_margin: Decimal
    cross_maintenance_margin: Decimal
    order_margin: Decimal

    @property
    def cross_equity(self) -> Decimal:
        return self.wallet - self.isolated_margin - self.cross_pending_funding + self.cross_upnl

    @property
    def free(self) -> Decimal:
        return self.cross_equity - self.cross_initial_margin - self.order_margin


def order_margin(view: Any, rules: RuleSet, account_id: str, market_id: str,
                 extra: tuple[tuple[int, Decimal, Decimal], ...] = ()) -> Decimal:
    """Initial margin of resting orders in one market: max(buy side, sell side) of opening IM.

    `extra` adds hypothetical orders as (side sign, quantity, price). Sells are charged at
    max(limit, best bid), buys at their limit (BitMEX exchange guide).
    """
    book = view.book(market_id)
    market = view.market(market_id)
    pos = view.position(account_id, market_id)
    size = pos.size if pos is not None else ZERO
    lev = leverage_for(view, rules, account_id, market_id)
    orders = [(o.side.sign, o.quantity, o.price) for o in (book.orders_of(account_id) if book else ())]
    orders.extend(extra)
    best_bid = book.best_bid() if book else None
    margin_by_side = {}
    for sign in (1, -1):
        qty = sum((q for s, q, _ in orders if s == sign), ZERO)
        if not qty:
            margin_by_side[sign] = ZERO
            continue
        reducing = max(ZERO, -size * sign)  # a buy first closes a short
        opening = max(ZERO, qty - reducing)
        value = ZERO
        for s, q, price in orders:
            if s != sign:
                continue
            if sign < 0 and best_bid is not None:
                price = max(price, best_bid)
            value += market.value(q, price)
        margin_by_side[sign] = value * (opening / qty) / lev
    return max(margin_by_side[1], margin_by_side[-1])


def leverage_for(view: Any, rules: RuleSet, account_id: str, market_id: str) -> Decimal:
    return view.account(account_id).leverage.get(market_id, rules.margin.default_leverage)


def margin_mode_for(view: Any, rules: RuleSet, account_id: str, market_id: str) -> MarginMode:
    if rules.margin.account_model == "unified":  # one pool per account: isolation = another account
        return MarginMode.CROSS
    return view.account(account_id).margin_mode.get(market_id, rules.margin.default_mode)


def margin_summary(view: Any, rules: RuleSet, account_id: str, asset: str,
                   extra_orders: dict[str, tuple[tuple[int, Decimal, Decimal], ...]] | None = None,
                   ) -> MarginSummary:
    """Everything the account has committed in `asset`; `free` is what a new order may use."""
    acct = view.account(account_id)
    iso = pend = upnl = im = mm = om = ZERO
    for m in view.live_market_ids():
        market = view.market(m)
        if market.settlement_asset != asset:
            continue
        p = view.position(account_id, m)
        ms = view.market_state(m)
        if p is not None and p.size:
            if p.margin_mode is MarginMode.ISOLATED:
                iso += p.isolated_margin
            else:
                pend += pending_funding(p, ms.index_for(p.size))
                upnl += unrealized_pnl(market, p, ms.mark_price)
                im += initial_margin(market, p.size, p.entry_price, p.leverage)
                mm += maintenance_margin(rules, market, p, ms.mark_price)
        elif p is not None:
            iso += p.isolated_margin
        extra = (extra_orders or {}).get(m, ())
        if extra or (view.book(m) is not None and view.book(m).orders_of(account_id)):
            om += order_margin(view, rules, account_id, m, extra)
    return MarginSummary(asset, acct.balance(asset), iso, pend, upnl, im, mm, om)
