"""Collateral: multi-asset collateral value with FTX-style weights and the sqrt-size discount, and
the conversion desk that turns collateral into the settlement asset (v2+, MECHANICS 3.2, 4.1, 4.3).

Design note
-----------
    weight(q)  = min(table weight, numerator / (1 + imf_factor x sqrt(q)))      q > 0, in coins
               = 1                                                            q < 0 (a liability counts fully)
    collateral = sum over assets of  q x price x weight(q)    (USD / USDC: price 1, weight 1)

`kind="total"` uses the total (maintenance) weight, `kind="initial"` the initial weight. An asset
the rules do not list counts 0 when positive (not accepted) and fully when negative. Prices of
coins are the index of a live market on that underlying. E16 (our numbers): 1 BTC at 20,000, total
weight 0.975, factor 0.002 -> min(0.975, 1.1 / 1.002) = 0.975 -> $19,500.

`convert` books a conversion at the index through `sys:conversion` (one line pair per asset, so
each asset's ledger still sums to zero): the settlement waterfall's last step and the bankrupt
account's close-out use it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import JournalEntry, Line
from exchange_edu.engine.numbers import ONE, ZERO, Rounding, quantize
from exchange_edu.engine.subrules import QUOTE_ASSETS, CollateralRules
from exchange_edu.engine.types import SYS_CONVERSION

WeightKind = Literal["total", "initial"]


def size_weight(rules: CollateralRules, asset: str, quantity: Decimal, kind: WeightKind = "total") -> Decimal:
    """Weight of a balance of `quantity` coins (see module formula)."""
    if quantity < 0:
        return ONE
    cw = rules.weight_of(asset)
    if cw is None:
        return ZERO
    table = cw.total if kind == "total" else cw.initial
    if not cw.imf_factor or not quantity:
        return table
    return min(table, rules.discount_numerator / (1 + cw.imf_factor * quantity.sqrt()))


def asset_price(view: Any, asset: str) -> Decimal | None:
    """USD price of an asset: 1 for quote assets, else the index of a market on that underlying."""
    if asset in QUOTE_ASSETS:
        return ONE
    for m in view.market_ids():
        if view.market(m).underlying == asset and not view.market(m).is_move:
            return view.market_state(m).index_price
    return None


def collateral_value(view: Any, rules: CollateralRules, balances: dict[str, Decimal],
                     kind: WeightKind = "total") -> Decimal:
    """sum of q x price x weight(q) over `balances` (assets without a price count 0)."""
    total = ZERO
    for asset, qty in balances.items():
        if not qty:
            continue
        price = asset_price(view, asset)
        if price is None:
            continue
        total += qty * price * size_weight(rules, asset, qty, kind)
    return total


def convert(work: Any, account_id: str, from_asset: str, to_asset: str, quantity: Decimal, *,
            reason: str) -> Decimal:
    """Sell `quantity` of `from_asset` for `to_asset` at the index (via sys:conversion).

    The trader's proceeds are floored to units (exchange's favour); returns what was credited."""
    price_from, price_to = asset_price(work, from_asset), asset_price(work, to_asset)
    if quantity <= 0 or price_from is None or price_to is None:
        return ZERO
    sold = quantize(quantity, from_asset, Rounding.DOWN)
    proceeds = quantize(sold * price_from / price_to, to_asset, Rounding.TRADER_CREDIT)
    if not sold or not proceeds:
        return ZERO
    work.post(JournalEntry("conversion", (
        Line(account_id, from_asset, -sold), Line(SYS_CONVERSION, from_asset, sold),
        Line(account_id, to_asset, proceeds), Line(SYS_CONVERSION, to_asset, -proceeds)), memo=reason))
    work.emit(EventKind.COLLATERAL_CONVERTED, account=account_id,
              numbers={"sold": sold, "proceeds": proceeds},
              inputs={"from_asset": from_asset, "to_asset": to_asset, "index_price": price_from},
              formula="proceeds = quantity x index price", reason=reason)
    return proceeds
