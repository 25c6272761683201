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

from exchange_edu.engine.numbers import in_engine_context


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
