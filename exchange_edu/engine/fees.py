"""Fees: maker / taker fees on the traded value, in the settlement asset; rebates are negative.

Design note
-----------
    fee = rate x value(fill price) = rate x contracts x face / price      (inverse, coin)
                                   = rate x contracts x size x price      (linear, quote)

A positive fee is paid by the trader to the exchange (`sys:fees`); a negative maker rate is a
rebate paid by the exchange. The ledger line is the trader's signed credit (-fee) floored to the
unit (`Rounding.TRADER_CREDIT`): a fee rounds up, a rebate rounds down, both in the exchange's
favour. System accounts (the liquidation engine) pay no fees.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange_edu.engine.rules import FeeRules
from exchange_edu.engine.types import Market


@dataclass(frozen=True, slots=True)
class FeeQuote:
    fee: Decimal  # positive = trader pays
    rate: Decimal
    value: Decimal
    is_maker: bool

    formula = "fee = rate x value(price) = rate x contracts x contract_size / price (inverse)"


def calculate_fee(fees: FeeRules, market: Market, contracts: Decimal, price: Decimal, *,
                  is_maker: bool) -> FeeQuote:
    """Itemised fee of one fill (positive = paid by the trader, negative = rebate)."""
    rate = fees.maker_rate if is_maker else fees.taker_rate
    value = market.value(contracts, price)
    return FeeQuote(rate * value, rate, value, is_maker)
