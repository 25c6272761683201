"""Numbers: the engine's Decimal context, per-asset smallest units and named rounding.

Design note
-----------
Money is `Decimal` everywhere; floats are refused at the boundary (`to_decimal`). Inverse
contracts divide by prices (`Q / P`), which magnifies any early rounding, so the engine computes
with 34 significant digits and quantizes ONLY where an amount leaves the engine: a ledger line.

Each asset has a smallest unit (BTC/ETH 1e-8, USD/USDC/USDT 1e-6). The database stores integers
of that unit, so every ledger line is a whole number of units.

Rounding has a name, never a bare ROUND_* constant at the call site:

    Rounding.TRADER_CREDIT   floor of a signed amount credited to a trader.  What a trader
                             receives rounds down, what a trader owes (negative) rounds up in
                             magnitude: always in the exchange's favour, so rounding never
                             creates money for traders.
    Rounding.NEAREST         half-even, for display and for numbers nobody owes.
    Rounding.DOWN / UP       toward -inf / +inf, when a caller needs an explicit direction.

Formula: quantize(x, asset, r) = round(x / unit(asset), r) * unit(asset).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import Enum
from functools import wraps
from typing import ParamSpec, TypeVar

PRECISION = 34

ENGINE_CONTEXT = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

ZERO = Decimal(0)
ONE = Decimal(1)

#: Smallest unit per asset; the database stores integers of these.
UNITS: dict[str, Decimal] = {
    "BTC": Decimal("1e-8"),
    "XBT": Decimal("1e-8"),
    "ETH": Decimal("1e-8"),
    "USD": Decimal("1e-6"),
    "USDC": Decimal("1e-6"),
    "USDT": Decimal("1e-6"),
    "GM": Decimal("1e-6"),  # DeFi pool share token (GMX v2 market token)
}


class UnknownAssetError(KeyError):
    """An asset without a registered smallest unit."""


class Rounding(Enum):
    TRADER_CREDIT = ROUND_FLOOR
    NEAREST = ROUND_HALF_EVEN
    DOWN = ROUND_FLOOR
    UP = ROUND_CEILING


def unit(asset: str) -> Decimal:
    """Smallest unit of `asset` (e.g. 1e-8 for BTC)."""
    try:
        return UNITS[asset]
    except KeyError:
        raise UnknownAssetError(asset) from None


def to_decimal(value: object) -> Decimal:
    """Decimal from str/int/Decimal; floats are refused (binary fractions are not money)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"refusing {type(value).__name__} {value!r}: use str or Decimal")
    if isinstance(value, (int, str)):
        return Decimal(value)
    raise TypeError(f"cannot make a Decimal from {type(value).__name__}")


def quantize(amount: Decimal, asset: str, rounding: Rounding) -> Decimal:
    """Round `amount` to a whole number of `asset` units in the named direction."""
    return amount.quantize(unit(asset), rounding=rounding.value, context=ENGINE_CONTEXT)


def credit_to_trader(amount: Decimal, asset: str) -> Decimal:
    """Quantize a signed amount credited to a trader (negative = trader pays), exchange's favour."""
    return quantize(amount, asset, Rounding.TRADER_CREDIT)


def to_units(amount: Decimal, asset: str) -> int:
    """Integer number of smallest units; `amount` must already be quantized."""
    units = amount / unit(asset)
    if units != units.to_integral_value():
        raise ValueError(f"{amount} {asset} is not a whole number of units")
    return int(units)


def from_units(units: int, asset: str) -> Decimal:
    return Decimal(units) * unit(asset)


def engine_context() -> AbstractContextManager[Context]:
    """Context manager running Decimal arithmetic with the engine's 34-digit context."""
    return localcontext(ENGINE_CONTEXT)


P = ParamSpec("P")
R = TypeVar("R")


def in_engine_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for public entry points (apply_tick, place_order, replay): run in ENGINE_CONTEXT."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(ENGINE_CONTEXT):
            return fn(*args, **kwargs)

    return wrapper


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return low if value < low else high if value > high else value
