"""Lending: the utilization curve of a lending pool (v3), shared by the engine and the calculator.

Design note
-----------
Backpack does not publish its curve; MECHANICS 4.4 names the Aave v3 / Compound III kinked model
as the labelled fallback, with a Backpack-flavoured default (U_opt 0.80, base 0, slope1 6%,
slope2 150%, fee 10%). Rates are annual fractions; U = borrowed / lent, in [0, 1].

    U <= U_opt:  borrow = base + slope1 x U / U_opt
    U >  U_opt:  borrow = base + slope1 + slope2 x (U - U_opt) / (1 - U_opt)
    lend = borrow x U x (1 - fee)          (so lenders' interest = borrowers' interest x (1 - fee))
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from exchange_edu.engine.numbers import ONE, ZERO, clamp, in_engine_context
from exchange_edu.engine.types import evolve


class CurveError(ValueError):
    """A curve parameter is out of range; `.field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class KinkedCurve:
    optimal_utilization: Decimal = Decimal("0.80")
    base_rate: Decimal = Decimal("0")
    slope1: Decimal = Decimal("0.06")
    slope2: Decimal = Decimal("1.50")
    fee: Decimal = Decimal("0.10")

    def __post_init__(self) -> None:
        if not Decimal(0) < self.optimal_utilization < Decimal(1):
            raise CurveError("optimal_utilization", "must be strictly between 0 and 1")
        for name in ("base_rate", "slope1", "slope2"):
            if getattr(self, name) < 0:
                raise CurveError(name, "must not be negative")
        if not Decimal(0) <= self.fee <= Decimal(1):
            raise CurveError("fee", "must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class PoolRates:
    utilization: Decimal
    borrow_rate: Decimal  # annual
    lend_rate: Decimal  # annual


@in_engine_context
def calculate_pool_rates(curve: KinkedCurve, utilization: Decimal) -> PoolRates:
    """Borrow and lend rates (annual) at `utilization`; see the module note for the formula."""
    if not Decimal(0) <= utilization <= Decimal(1):
        raise CurveError("utilization", "must be between 0 and 1")
    u_opt = curve.optimal_utilization
    if utilization <= u_opt:
        borrow = curve.base_rate + curve.slope1 * utilization / u_opt
    else:
        borrow = curve.base_rate + curve.slope1 + curve.slope2 * (utilization - u_opt) / (1 - u_opt)
    lend = borrow * utilization * (1 - curve.fee)
    return PoolRates(utilization, borrow, lend)


FORMULA = ("borrow = base + slope1 x U / U_opt (U <= U_opt), else base + slope1 + slope2 x (U - U_opt) / "
           "(1 - U_opt); lend = borrow x U x (1 - fee)")


# -- the pool (v3) ----------------------------------------------------------------------------
#
# Interest accrues through two cumulative indices per asset (Drift / Aave style), settled lazily:
#
#     at each accrual time:  borrow_index *= 1 + borrow / periods ; lend_index *= 1 + lend / periods
#     a balance b settled at index I0 is worth  b x I / I0  now   (lend index if b > 0 and the
#     account lends, borrow index if b < 0); pending interest = b x (I / I0 - 1)
#     pool.lent     = lend_index   x sum(b_i / I0_i)    over lent balances    (kept as `lent_scaled`)
#     pool.borrowed = borrow_index x sum(|b_i| / I0_i) over negative balances (`borrowed_scaled`)
#
# so lenders' interest per period = lent x lend / periods = borrowed x borrow / periods x (1 - fee),
# the borrowers' interest less the exchange's fee (while U <= 1). Ledger: a settlement credits the
# account against `sys:lending` (floored: lenders receive rounded down, borrowers pay rounded up);
# the fee share moves from `sys:lending` to `sys:fees` at each accrual.



@dataclass(frozen=True, slots=True)
class PoolState:
    asset: str
    lent_scaled: Decimal = ZERO
    borrowed_scaled: Decimal = ZERO
    lend_index: Decimal = ONE
    borrow_index: Decimal = ONE
    next_accrual_time: int | None = None
    borrow_rate: Decimal = ZERO  # annual, of the last accrual
    lend_rate: Decimal = ZERO
    auto_lend_default: bool = True

    @property
    def lent(self) -> Decimal:
        return self.lent_scaled * self.lend_index

    @property
    def borrowed(self) -> Decimal:
        return self.borrowed_scaled * self.borrow_index

    @property
    def utilization(self) -> Decimal:
        """U = borrowed / lent, in [0, 1] (1 when something is borrowed and nothing is lent)."""
        if self.lent <= 0:
            return ONE if self.borrowed > 0 else ZERO
        return clamp(self.borrowed / self.lent, ZERO, ONE)


def curve_of(rules: Any) -> KinkedCurve:
    lr = rules.lending
    return _curve(lr.optimal_utilization, lr.base_rate, lr.slope1, lr.slope2, lr.fee)


@lru_cache(maxsize=64)
def _curve(optimal: Decimal, base: Decimal, slope1: Decimal, slope2: Decimal, fee: Decimal) -> KinkedCurve:
    return KinkedCurve(optimal, base, slope1, slope2, fee)  # frozen: one per set of numbers


def lends(pool: PoolState, account: Any) -> bool:
    return pool.auto_lend_default if account.auto_lend is None else account.auto_lend


def pending_interest(pool: PoolState | None, account: Any, asset: str) -> Decimal:
    """Interest credited to the balance since it was last settled (negative for a borrower)."""
    if pool is None:
        return ZERO
    b = account.balances.get(asset, ZERO)
    snap = account.interest_index.get(asset)
    if not b or snap is None:
        return ZERO
    if b > 0:
        return b * (pool.lend_index / snap - 1) if lends(pool, account) else ZERO
    return b * (pool.borrow_index / snap - 1)


def effective_balances(view: Any, rules: Any, account: Any) -> dict[str, Decimal]:
    """Balances with pending interest (a copy; no pools -> the balances themselves)."""
    balances = dict(account.balances)
    pools = _pools(view)
    if pools:
        for asset in balances:
            balances[asset] += pending_interest(pools.get(asset), account, asset)
    return balances


def _pools(view: Any) -> dict[str, PoolState]:
    if hasattr(view, "pool_states"):
        return view.pool_states()
    return view.pools


def _scaled(pool: PoolState, account: Any, balance: Decimal, snap: Decimal | None) -> tuple[Decimal, Decimal]:
    """(lent_scaled, borrowed_scaled) contribution of one balance settled at `snap`."""
    if not balance or snap is None:
        return ZERO, ZERO
    if balance > 0:
        return (balance / snap, ZERO) if lends(pool, account) else (ZERO, ZERO)
    return ZERO, -balance / snap


def snapshot_for(pool: PoolState, account: Any, balance: Decimal) -> Decimal | None:
    if balance > 0:
        return pool.lend_index if lends(pool, account) else None
    return pool.borrow_index if balance < 0 else None


def retrack(pool: PoolState, before: Any, after: Any, asset: str) -> tuple[PoolState, Any]:
    """Pool totals and the account's snapshot after its `asset` balance changed (settled first)."""
    old_l, old_b = _scaled(pool, before, before.balances.get(asset, ZERO), before.interest_index.get(asset))
    b = after.balances.get(asset, ZERO)
    snap = snapshot_for(pool, after, b)
    new_l, new_b = _scaled(pool, after, b, snap)
    index = dict(after.interest_index)
    if snap is None:
        index.pop(asset, None)
    else:
        index[asset] = snap
    pool = evolve(pool, lent_scaled=pool.lent_scaled + new_l - old_l,
                   borrowed_scaled=pool.borrowed_scaled + new_b - old_b)
    return pool, evolve(after, interest_index=index)


def accrue(pool: PoolState, rules: Any, now: int) -> tuple[PoolState, PoolRates, Decimal]:
    """One accrual period: (new pool, the period's annual rates, exact fee to the exchange)."""
    lr = rules.lending
    rates = calculate_pool_rates(curve_of(rules), pool.utilization)
    b_h, l_h = rates.borrow_rate / lr.periods_per_year, rates.lend_rate / lr.periods_per_year
    fee = pool.borrowed * b_h - pool.lent * l_h
    nxt = pool.next_accrual_time
    while nxt is not None and nxt <= now:
        nxt += lr.accrual_seconds
    new = evolve(pool, lend_index=pool.lend_index * (1 + l_h), borrow_index=pool.borrow_index * (1 + b_h),
                  next_accrual_time=nxt, borrow_rate=rates.borrow_rate, lend_rate=rates.lend_rate)
    return new, rates, fee


def new_pools(rules: Any, now: int) -> dict[str, PoolState]:
    lr = rules.lending
    if not lr.enabled:
        return {}
    first = (now // lr.accrual_seconds + 1) * lr.accrual_seconds
    return {a: PoolState(a, next_accrual_time=first, auto_lend_default=lr.auto_lend_default) for a in lr.assets}


def settle_interest(work: Any, account_id: str, asset: str) -> Decimal:
    """Book an account's pending interest in `asset` against `sys:lending`; returns the posted amount."""
    from exchange_edu.engine.events import EventKind
    from exchange_edu.engine.ledger import settle
    from exchange_edu.engine.types import SYS_LENDING

    pool = work.pool(asset)
    acct = work.account(account_id)
    b = acct.balances.get(asset, ZERO)
    snap = acct.interest_index.get(asset)
    current = snapshot_for(pool, acct, b)
    if snap == current:
        return ZERO
    pending = pending_interest(pool, acct, asset)
    entry = settle("interest", asset, [(account_id, pending)], SYS_LENDING, memo="pool interest")
    if entry is None:  # less than a unit: move the snapshot only
        pool, new = retrack(pool, acct, acct, asset)
        work.pools[asset] = pool
        work.set_account(new)
        return ZERO
    work.apply_entry(entry)
    posted = entry.amount_for(account_id)
    work.emit(EventKind.INTEREST_SETTLED, account=account_id,
              numbers={"interest": pending, "posted": posted},
              inputs={"asset": asset, "balance": b, "index_then": snap, "index_now": current},
              formula="interest = balance x (index_now / index_then - 1)")
    return posted
