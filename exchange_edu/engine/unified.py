"""Unified account margin (v2 FTX, v3 Backpack): one margin fraction over every market and every
collateral asset of an account (MECHANICS 3.3, 3.5, 4.2). Selected by
`rules.margin.account_model == "unified"`.

Design note
-----------
    collateral  = weighted value of the balances (see `collateral`), pending funding and pending
                  interest included
    TAV         = collateral + sum uPnL(mark)            (Backpack "net equity")
    N           = sum |size x contract_size x mark|      (total exposure notional)
    MF          = TAV / N                                (E17: 37,500 / 70,000 = 53.57%)
    IMF_i, MMF_i from the risk model (`SqrtImfRisk`: sqrt of size or notional)
    account IMF = sum N_i x IMF_i / N ;  account MMF = sum N_i x MMF_i / N
    ACMF        = max(MMF / acmf_divisor, MMF - acmf_gap)      (auto-close margin fraction)
    zero price  PMPD_i = (MM_i / sum MM) x TAV / N_i ;  PZP_i = MP x (1 - PMPD_i) long, (1 + PMPD_i) short

New risk is accepted only while MF after the order (initial weights, resting orders included) stays
at or above the account IMF; below it the account may only reduce. Liquidation starts when
MF < account MMF (see `backstop`). Hedged positions are each margined on their own notional.
E19 (FTX BLP page, exact formula): $1,000, long 2 BTC at 10,000, MMF 3% -> MF hits 3% at 9,793.81;
ACMF 1.5% at 9,644.67.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange_edu.engine.collateral import collateral_value
from exchange_edu.engine.lending import effective_balances
from exchange_edu.engine.margin import leverage_for, pending_funding
from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import LiquidationRules, RuleSet


@dataclass(frozen=True, slots=True)
class PositionRisk:
    market_id: str
    size: Decimal
    mark: Decimal
    notional: Decimal
    upnl: Decimal
    imf: Decimal
    mmf: Decimal


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """An account's unified margin figures (settlement asset, USD or USDC)."""

    account_id: str
    collateral: Decimal  # total weights
    collateral_initial: Decimal  # initial weights
    upnl: Decimal
    notional: Decimal
    imf: Decimal  # account IMF (notional-weighted)
    mmf: Decimal  # account MMF
    positions: tuple[PositionRisk, ...]
    balances: dict[str, Decimal]  # pending funding and interest included

    @property
    def tav(self) -> Decimal:
        return self.collateral + self.upnl

    @property
    def tav_initial(self) -> Decimal:
        return self.collateral_initial + self.upnl

    @property
    def margin_fraction(self) -> Decimal | None:
        """TAV / N; None without exposure (infinitely safe)."""
        return self.tav / self.notional if self.notional else None

    @property
    def maintenance(self) -> Decimal:
        return self.mmf * self.notional

    @property
    def initial(self) -> Decimal:
        return self.imf * self.notional

    @property
    def free_collateral(self) -> Decimal:
        return self.tav_initial - self.initial

    def acmf(self, liq: LiquidationRules) -> Decimal:
        return max(self.mmf / liq.acmf_divisor, self.mmf - liq.acmf_gap)

    def is_below_maintenance(self) -> bool:
        return bool(self.notional) and self.tav < self.maintenance

    def zero_price(self, position: PositionRisk) -> Decimal:
        """PZP: the price closing this position at which leaves its share of TAV at zero."""
        total_mm = sum((p.notional * p.mmf for p in self.positions), ZERO)
        share = position.notional * position.mmf / total_mm if total_mm else ZERO
        pmpd = share * self.tav / position.notional
        return position.mark * (1 - pmpd) if position.size > 0 else position.mark * (1 + pmpd)

    def explain(self) -> dict[str, Any]:
        return {"collateral": self.collateral, "upnl": self.upnl, "tav": self.tav, "notional": self.notional,
                "margin_fraction": self.margin_fraction, "account_imf": self.imf, "account_mmf": self.mmf}


def account_positions(view: Any, account_id: str) -> list[Any]:
    out = []
    for m in view.live_market_ids():
        p = view.position(account_id, m)
        if p is not None and p.size:
            out.append(p)
    return out


def account_risk(view: Any, rules: RuleSet, account_id: str,
                 extra: dict[str, tuple[Decimal, Decimal]] | None = None,
                 include_orders: bool = False) -> AccountRisk:
    """The account's unified figures; `extra` adds hypothetical trades {market: (signed qty, price)};
    `include_orders` counts resting orders' worst-side open size (FTX open margin fraction).

    Inside one engine call (a `Work` view) the plain figures are reused while every input is the
    same object as when they were computed (records are frozen: a change stores a new object)."""
    cache = getattr(view, "risk_cache", None) if not extra and not include_orders else None
    if cache is None or rules is not view.rules:
        return _account_risk(view, rules, account_id, extra, include_orders)
    key = _risk_inputs(view, account_id)
    hit = cache.get(account_id)
    if hit is not None and len(hit[0]) == len(key) and all(a is b for a, b in zip(hit[0], key, strict=True)):
        return hit[1]
    risk = _account_risk(view, rules, account_id, None, False)
    cache[account_id] = (key, risk)
    return risk


def _risk_inputs(work: Any, account_id: str) -> tuple[Any, ...]:
    """Every record the plain `account_risk` reads from a `Work`: the account, its pools, and per
    market the market, its state and the account's position (statuses, marks, indices, funding)."""
    base = work.base
    acct = work.account(account_id)
    out: list[Any] = [acct]
    if base.pools or work.pools:
        out.extend(work.pool(asset) for asset in acct.balances)
    ms_over, ms_base = work.market_states, base.market_states
    mk_over, mk_base = work.new_markets, base.markets
    pos_over, pos_base = work.positions, base.positions
    for m in work.market_ids():
        key = (account_id, m)
        ms = ms_over.get(m)
        mk = mk_over.get(m)
        out += (mk if mk is not None else mk_base[m], ms if ms is not None else ms_base[m],
                pos_over[key] if key in pos_over else pos_base.get(key))
    return tuple(out)


def _account_risk(view: Any, rules: RuleSet, account_id: str, extra: dict[str, tuple[Decimal, Decimal]] | None,
                  include_orders: bool) -> AccountRisk:
    acct = view.account(account_id)
    balances = effective_balances(view, rules, acct)
    upnl = notional = imf_sum = mmf_sum = ZERO
    rows = []
    markets = set(view.live_market_ids()) if (extra or include_orders) else None
    positions = {p.market_id: p for p in account_positions(view, account_id)}
    for m in sorted(positions if markets is None else markets):
        market = view.market(m)
        ms = view.market_state(m)
        p = positions.get(m)
        size = p.size if p is not None else ZERO
        pos_upnl = ZERO
        if p is not None:
            owed = pending_funding(p, ms.index_for(p.size))
            if owed:
                asset = market.settlement_asset
                balances[asset] = balances.get(asset, ZERO) - owed
            pos_upnl = market.pnl(p.size, p.entry_price, ms.mark_price)
        add = (extra or {}).get(m)
        if add is not None:
            size += add[0]
            pos_upnl += market.pnl(add[0], add[1], ms.mark_price)
        upnl += pos_upnl
        open_size = size
        if include_orders and view.book(m) is not None:
            orders = view.book(m).orders_of(account_id)
            buys = sum((o.quantity for o in orders if o.side.sign > 0), ZERO)
            sells = sum((o.quantity for o in orders if o.side.sign < 0), ZERO)
            open_size = max(size + buys, -(size - sells), key=abs) if (buys or sells) else size
        if not open_size:
            continue
        lev = p.leverage if p is not None else leverage_for(view, rules, account_id, m)
        n = market.value(open_size, ms.mark_price)
        imf, mmf = rules.margin.risk.position_rates(market, open_size, ms.mark_price, lev)
        notional += n
        imf_sum += n * imf
        mmf_sum += n * mmf
        rows.append(PositionRisk(m, open_size, ms.mark_price, n, pos_upnl, imf, mmf))
    coll_rules = rules.margin.collateral
    return AccountRisk(account_id, collateral_value(view, coll_rules, balances, "total"),
                       collateral_value(view, coll_rules, balances, "initial"), upnl, notional,
                       imf_sum / notional if notional else ZERO, mmf_sum / notional if notional else ZERO,
                       tuple(rows), balances)


def order_check(view: Any, rules: RuleSet, account_id: str, market_id: str, signed_qty: Decimal,
                price: Decimal, fee: Decimal) -> str | None:
    """None if the order may go in: it only reduces, or MF after it stays >= account IMF."""
    pos = view.position(account_id, market_id)
    size = pos.size if pos is not None else ZERO
    new_size = size + signed_qty
    if abs(new_size) <= abs(size) and (new_size == 0 or (new_size > 0) == (size > 0)):
        return None  # reducing is always allowed
    if rules.lending.enabled:
        from exchange_edu.engine.realization import borrow_throttled

        throttled = borrow_throttled(view, rules, account_id)
        if throttled:
            return throttled
    after = account_risk(view, rules, account_id, {market_id: (signed_qty, price)}, include_orders=True)
    if after.tav_initial - max(fee, ZERO) < after.initial:
        mf = after.tav_initial / after.notional if after.notional else ZERO
        return (f"margin fraction after the order {mf:.4%} would be below the account IMF {after.imf:.4%} "
                f"(collateral {after.collateral_initial:.2f} at initial weights, uPnL {after.upnl:.2f}, "
                f"notional {after.notional:.2f}): below IMF the account may only reduce")
    return None
