"""POST /api/v1/calc/*: the engine's formulas for anyone, no account needed.

Each route parses its input, calls one engine calculator and returns its result; decimals come
back as strings at full precision (never rounded to a tick or an asset unit).
"""

from decimal import Decimal
from typing import Literal

from ninja import Router, Schema
from pydantic import Field

from exchange_edu.core.schemas import DecimalIn, DecimalOut, ErrorOut
from exchange_edu.engine import calculators as calc
from exchange_edu.engine import lending

router = Router(tags=["calculators"], auth=None)

Contract = Literal["linear", "inverse"]
Side = Literal["long", "short"]
Price = DecimalIn(gt=0, description="USD per coin", examples=["10000"])
Rate = DecimalIn(ge=-1, le=1, description="a fraction: 0.0001 = 0.01%")
Fraction = DecimalIn(ge=0, le=1, description="a fraction between 0 and 1")


ERRORS = {400: ErrorOut, 422: ErrorOut}


class PnlIn(Schema):
    contract: Contract
    side: Side
    quantity: DecimalIn(gt=0, description="linear: coins; inverse: USD notional (contracts x face value)")
    entry_price: Price
    exit_price: Price


class PnlOut(Schema):
    pnl: DecimalOut
    pnl_usd: DecimalOut
    settlement_asset: str
    entry_value: DecimalOut
    exit_value: DecimalOut
    return_on_notional: DecimalOut
    formula: str


@router.post("/pnl", response={200: PnlOut, **ERRORS})
def pnl(request, payload: PnlIn):
    """PnL of a closed position; inverse PnL is in the coin (MECHANICS 0)."""
    return calc.calculate_pnl(**payload.dict())


class LiquidationIn(Schema):
    contract: Contract
    side: Side
    entry_price: Price
    leverage: DecimalIn(gt=0, le=1000, examples=["100"])
    maintenance_margin_rate: DecimalIn(ge=0, lt=1, examples=["0.005"])
    convention: Literal["entry_value", "liquidation_value"] = "entry_value"


class LiquidationOut(Schema):
    liquidation_price: DecimalOut | None
    bankruptcy_price: DecimalOut | None
    initial_margin: DecimalOut = Field(description="margin per unit of quantity (entry value / leverage)")
    maintenance_margin_rate: DecimalOut
    convention: str
    formula: str


@router.post("/liquidation-price", response={200: LiquidationOut, **ERRORS})
def liquidation_price(request, payload: LiquidationIn):
    """Isolated liquidation and bankruptcy prices (MECHANICS 2.5); null where none exists."""
    return calc.calculate_liquidation_price(**payload.dict())


class FundingIn(Schema):
    premium_index: Rate
    interest_rate: Rate
    clamp: DecimalIn(ge=0, le=1) = Decimal("0.0005")
    cap: DecimalIn(ge=0, le=1) | None = None
    position_value: DecimalIn(ge=0) | None = None
    side: Side | None = None


class FundingOut(Schema):
    funding_rate: DecimalOut
    payment: DecimalOut | None = Field(description="signed from the holder's side: negative = pays")
    formula: str


@router.post("/funding", response={200: FundingOut, **ERRORS})
def funding(request, payload: FundingIn):
    """Funding rate = premium + clamp(interest - premium), bounded by the cap (MECHANICS 2.2)."""
    return calc.calculate_funding(**payload.dict())


class LendingIn(Schema):
    utilization: Fraction
    optimal_utilization: DecimalIn(gt=0, lt=1, examples=["0.8"])
    base_rate: DecimalIn(ge=0, le=100)
    slope1: DecimalIn(ge=0, le=100)
    slope2: DecimalIn(ge=0, le=100)
    fee: Fraction


class LendingOut(Schema):
    borrow_rate: DecimalOut
    lend_rate: DecimalOut
    utilization: DecimalOut
    formula: str


@router.post("/lending-rate", response={200: LendingOut, **ERRORS})
def lending_rate(request, payload: LendingIn):
    """Kinked utilization curve; lend = borrow x U x (1 - fee) (MECHANICS 4.4). Annual rates."""
    data = payload.dict()
    utilization = data.pop("utilization")
    rates = lending.calculate_pool_rates(lending.KinkedCurve(**data), utilization)
    return {"borrow_rate": rates.borrow_rate, "lend_rate": rates.lend_rate,
            "utilization": rates.utilization, "formula": lending.FORMULA}


class AdlIn(Schema):
    contract: Contract
    side: Side
    entry_price: Price
    mark_price: Price
    bankruptcy_price: Price


class AdlOut(Schema):
    pnl_percent: DecimalOut
    effective_leverage: DecimalOut
    rank: DecimalOut
    formula: str


@router.post("/adl-rank", response={200: AdlOut, **ERRORS})
def adl_rank(request, payload: AdlIn):
    """BitMEX auto-deleveraging rank: PNL% x effective leverage (MECHANICS 2.7)."""
    return calc.calculate_adl_rank(**payload.dict())


class ClawbackIn(Schema):
    margin_call_loss: DecimalIn(ge=0)
    insurance_fund: DecimalIn(ge=0)
    net_profits: list[DecimalIn()] = Field(max_length=10_000)


class ClawbackOut(Schema):
    clawback_rate: DecimalOut
    clawbacks: list[DecimalOut]
    insurance_fund_after: DecimalOut
    uncovered_loss: DecimalOut
    formula: str


@router.post("/clawback", response={200: ClawbackOut, **ERRORS})
def clawback(request, payload: ClawbackIn):
    """v0 socialized loss: the fund first, then the same share of every winner's profit (E5)."""
    data = payload.dict()
    return calc.calculate_clawback(margin_call_loss=data["margin_call_loss"],
                                   insurance_fund=data["insurance_fund"],
                                   net_profits=tuple(data["net_profits"]))
