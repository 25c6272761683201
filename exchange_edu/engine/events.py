"""Events: frozen records of what happened, with the inputs that explain every number.

Design note
-----------
One record type, `Event`, with a `kind`, the market/account it concerns, the computed `numbers`,
the named `inputs` that produced them, and a `formula` string. The UI renders "show me the
formula" by substituting `inputs` into `formula`:

    Event(kind="funding_settled", numbers={"funding": 0.0001}, inputs={"rate": 0.0001,
          "contracts": 10000, "mark": 10000}, formula="funding = rate x contracts / mark")

Numbers are unrounded Decimals (the ledger line is the rounded amount actually posted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class EventKind(str, Enum):
    ORDER_ACCEPTED = "order_accepted"
    ORDER_REJECTED = "order_rejected"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_TRIGGERED = "order_triggered"
    FILL = "fill"
    FEE = "fee"
    POSITION_CHANGED = "position_changed"
    PNL_REALIZED = "pnl_realized"
    MARK_PRICE = "mark_price"
    PREMIUM_SAMPLE = "premium_sample"
    FUNDING_RATE_SET = "funding_rate_set"
    FUNDING_PAID = "funding_paid"  # the market's index moved at a funding time
    FUNDING_SETTLED = "funding_settled"  # one position settled its pending funding (lazily)
    LIQUIDATION_CHECK = "liquidation_check"
    LIQUIDATION = "liquidation"
    LIQUIDATION_FILL = "liquidation_fill"
    INSURANCE_FUND = "insurance_fund"
    ADL = "adl"
    DELIVERY = "delivery"
    SETTLEMENT = "settlement"
    CLAWBACK = "clawback"
    LOSS_WRITTEN_OFF = "loss_written_off"
    MARKET_LISTED = "market_listed"
    MARKET_RELABELLED = "market_relabelled"
    MOVE_STRIKE = "move_strike"  # a MOVE's first hour is over: its start TWAP is fixed
    # v2+: unified accounts, backstop, collateral; v3: lending pool and realization
    ACCOUNT_LIQUIDATION = "account_liquidation"  # one step of a unified account's liquidation
    BACKSTOP = "backstop"  # the backstop liquidity provider took a position
    COLLATERAL_CONVERTED = "collateral_converted"
    NEGATIVE_BALANCE_COVERED = "negative_balance_covered"  # lenders made whole in USD
    POOL_RATES = "pool_rates"  # a lending pool accrued: utilization, borrow and lend rate
    INTEREST_SETTLED = "interest_settled"  # one balance settled its pending interest (lazily)
    UPNL_INTEREST = "upnl_interest"  # virtual realization: interest on unrealized PnL
    PNL_AUTO_REALIZED = "pnl_auto_realized"
    FUNDING_DUST_SWEPT = "funding_dust_swept"
    # DeFi: fillable-price liquidation fee (book); LP pool (GMX-like)
    LIQUIDATION_FEE = "liquidation_fee"  # the insurance fund's capped share of a liquidation surplus
    POOL_DEPOSIT = "pool_deposit"  # an LP deposited and received pool shares
    POOL_WITHDRAWAL = "pool_withdrawal"  # an LP redeemed pool shares
    POOL_FILL = "pool_fill"  # a trader traded against the pool at oracle +- price impact
    POOL_FUNDING = "pool_funding"  # skew funding and borrow fee of one market at a funding time
    POOL_ADL = "pool_adl"  # a winner's position reduced because traders' PnL was too large for the pool


Value = Decimal | str | int | None


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    time: int
    market: str | None = None
    account: str | None = None
    numbers: dict[str, Value] = field(default_factory=dict)
    inputs: dict[str, Value] = field(default_factory=dict)
    formula: str = ""
    reason: str = ""

    def explain(self) -> str:
        """The formula with its inputs written out, for the "show me the formula" panel."""
        filled = ", ".join(f"{k} = {v}" for k, v in self.inputs.items())
        result = ", ".join(f"{k} = {v}" for k, v in self.numbers.items())
        text = f"{self.formula} where {filled}" if filled else self.formula
        return f"{text} -> {result}" if result else text
