"""Calculators: closed-form answers for the public calculator API and the lesson pages.

Design note
-----------
Each function takes plain Decimals, validates them (raising `CalcError(field, message)`), and
returns a frozen result at full precision: nothing is rounded to a tick or an asset unit, because
these answer "what does the formula give", not "what would the ledger book". Where the engine
has a mechanic, the calculator calls it, so the pages and the API cannot disagree with the
exchange.

Sign conventions: side +1 long, -1 short. A payment is signed from the holder's side
(negative = the holder pays). Inverse quantities are the USD notional (contracts x face value);
inverse PnL is in the coin.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from exchange_edu.engine.funding import calculate_funding_rate
from exchange_edu.engine.liquidation import bankruptcy_price, liquidation_price
from exchange_edu.engine.numbers import ZERO, in_engine_context
from exchange_edu.engine.types import ContractKind, Market

Contract = Literal["linear", "inverse"]
PositionSide = Literal["long", "short"]
Convention = Literal["entry_value", "liquidation_value"]


class CalcError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _positive(field: str, value: Decimal) -> None:
    if not value.is_finite() or value <= 0:
        raise CalcError(field, "must be a finite number greater than 0")


def _sign(side: PositionSide) -> int:
    return 1 if side == "long" else -1


def _unit_market(contract: Contract) -> Market:
    # contract_size 1: inverse quantities are USD notionals, linear ones coin quantities.
    if contract == "inverse":
        return Market("CALC", "BTC", ContractKind.INVERSE, Decimal(1), "BTC")
    return Market("CALC", "BTC", ContractKind.LINEAR, Decimal(1), "USD")


@dataclass(frozen=True, slots=True)
class PnlResult:
    pnl: Decimal  # settlement asset: coin (inverse) or USD (linear)
    pnl_usd: Decimal  # the same at the exit price
    entry_value: Decimal
    exit_value: Decimal
    return_on_notional: Decimal  # pnl / entry value
    settlement_asset: str
    formula: str


@in_engine_context
def calculate_pnl(*, contract: Contract, side: PositionSide, quantity: Decimal, entry_price: Decimal,
                  exit_price: Decimal) -> PnlResult:
    """linear: side x Q x (X - E) USD;  inverse: side x Q_usd x (1/E - 1/X) coin (E1: +2.272727)."""
    _positive("quantity", quantity)
    _positive("entry_price", entry_price)
    _positive("exit_price", exit_price)
    market = _unit_market(contract)
    size = _sign(side) * quantity
    pnl = market.pnl(size, entry_price, exit_price)
    entry_value = market.value(size, entry_price)
    formula = ("pnl = side x quantity x (1/entry - 1/exit)" if market.is_inverse
               else "pnl = side x quantity x (exit - entry)")
    return PnlResult(pnl, market.pnl_in_quote(pnl, exit_price), entry_value,
                     market.value(size, exit_price), pnl / entry_value, market.settlement_asset, formula)


@dataclass(frozen=True, slots=True)
class LiquidationResult:
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    initial_margin: Decimal  # per unit of quantity (coin per USD for inverse, USD per coin linear)
    maintenance_margin_rate: Decimal
    convention: Convention
    formula: str


@in_engine_context
def calculate_liquidation_price(*, contract: Contract, side: PositionSide, entry_price: Decimal,
                                leverage: Decimal, maintenance_margin_rate: Decimal,
                                convention: Convention = "entry_value") -> LiquidationResult:
    """Isolated margin = entry value / leverage, fees ignored (MECHANICS 2.5; E11 at 100x).

    entry_value: maintenance = mmr x value at entry (BitMEX);
    liquidation_value: maintenance = mmr x value at the liquidation price (OKX).
    """
    _positive("entry_price", entry_price)
    _positive("leverage", leverage)
    if not maintenance_margin_rate.is_finite() or not ZERO <= maintenance_margin_rate < 1:
        raise CalcError("maintenance_margin_rate", "must be at least 0 and below 1")
    market = _unit_market(contract)
    size = Decimal(_sign(side))
    margin = market.value(size, entry_price) / leverage
    basis = "entry_value" if convention == "entry_value" else "mark_value"
    lp = liquidation_price(market, size, entry_price, margin, maintenance_margin_rate, basis)
    bp = bankruptcy_price(market, size, entry_price, margin)
    return LiquidationResult(lp, bp, margin, maintenance_margin_rate, convention,
                             "margin + uPnL(LP) = maintenance margin; margin + uPnL(B) = 0")


@dataclass(frozen=True, slots=True)
class FundingResult:
    funding_rate: Decimal
    payment: Decimal | None
    formula: str


@in_engine_context
def calculate_funding(*, premium_index: Decimal, interest_rate: Decimal, clamp: Decimal = Decimal("0.0005"),
                      cap: Decimal | None = None, position_value: Decimal | None = None,
                      side: PositionSide | None = None) -> FundingResult:
    """F = P + clamp(I - P, -c, +c), bounded by +-cap; payment = -side x F x value (E7, E8)."""
    for name, value in (("premium_index", premium_index), ("interest_rate", interest_rate)):
        if not value.is_finite():
            raise CalcError(name, "must be a finite number")
    if not clamp.is_finite() or clamp < 0:
        raise CalcError("clamp", "must be a finite number of at least 0")
    if cap is not None and (not cap.is_finite() or cap < 0):
        raise CalcError("cap", "must be a finite number of at least 0")
    if (position_value is None) != (side is None):
        raise CalcError("side" if side is None else "position_value",
                        "position_value and side go together")
    if position_value is not None and (not position_value.is_finite() or position_value < 0):
        raise CalcError("position_value", "must be a finite number of at least 0")
    rate = calculate_funding_rate(premium_index, interest_rate, clamp, cap if cap is not None else Decimal("Infinity"))
    payment = None if position_value is None else -_sign(side) * rate * position_value
    return FundingResult(rate, payment, "rate = P + clamp(I - P, -clamp, +clamp), then within +-cap; "
                                        "longs pay shorts when the rate is positive")


@dataclass(frozen=True, slots=True)
class AdlRankResult:
    pnl_percent: Decimal
    effective_leverage: Decimal
    rank: Decimal
    formula: str


@in_engine_context
def calculate_adl_rank(*, contract: Contract, side: PositionSide, entry_price: Decimal, mark_price: Decimal,
                       bankruptcy_price: Decimal) -> AdlRankResult:
    """BitMEX (MECHANICS 2.7), with signed values; inverse value(P) = -Q/P long, +Q/P short.

    PNL% = (value(M) - value(E)) / |value(E)|;  EffLev = |value(M)| / (value(M) - value(B))
    rank = PNL% x EffLev if PNL% > 0 else PNL% / EffLev
    """
    _positive("entry_price", entry_price)
    _positive("mark_price", mark_price)
    _positive("bankruptcy_price", bankruptcy_price)
    sign = _sign(side)

    def value(price: Decimal) -> Decimal:
        return -sign / price if contract == "inverse" else sign * price

    v_mark, v_entry, v_bankrupt = value(mark_price), value(entry_price), value(bankruptcy_price)
    if v_mark == v_bankrupt:
        raise CalcError("bankruptcy_price", "equals the mark price: the position has no equity left")
    pnl_pct = (v_mark - v_entry) / abs(v_entry)
    eff_lev = abs(v_mark) / (v_mark - v_bankrupt)
    if eff_lev <= 0:
        raise CalcError("bankruptcy_price", "is on the wrong side of the mark price for this position")
    rank = pnl_pct * eff_lev if pnl_pct > 0 else pnl_pct / eff_lev
    return AdlRankResult(pnl_pct, eff_lev, rank, "rank = PNL% x effective leverage (PNL% > 0), "
                                                 "PNL% / effective leverage otherwise")


@dataclass(frozen=True, slots=True)
class ClawbackResult:
    clawback_rate: Decimal
    clawbacks: tuple[Decimal, ...]
    insurance_fund_after: Decimal
    uncovered_loss: Decimal
    formula: str


@in_engine_context
def calculate_clawback(*, margin_call_loss: Decimal, insurance_fund: Decimal,
                       net_profits: tuple[Decimal, ...]) -> ClawbackResult:
    """MECHANICS 1.4 (E5): shortfall = max(0, loss - fund); rate = min(1, shortfall / winners' profit).

    clawback_i = rate x profit_i for profit_i > 0, else 0; the fund pays first.
    """
    for name, value in (("margin_call_loss", margin_call_loss), ("insurance_fund", insurance_fund)):
        if not value.is_finite() or value < 0:
            raise CalcError(name, "must be a finite number of at least 0")
    for i, profit in enumerate(net_profits):
        if not profit.is_finite():
            raise CalcError(f"net_profits.{i}", "must be a finite number")
    covered = min(insurance_fund, margin_call_loss)
    shortfall = margin_call_loss - covered
    pool = sum((p for p in net_profits if p > 0), ZERO)
    rate = min(Decimal(1), shortfall / pool) if shortfall > 0 and pool > 0 else ZERO
    clawbacks = tuple(rate * p if p > 0 else ZERO for p in net_profits)
    return ClawbackResult(rate, clawbacks, insurance_fund - covered, shortfall - sum(clawbacks, ZERO),
                          "rate = (loss - insurance fund) / sum of positive net profits, at most 100%")
