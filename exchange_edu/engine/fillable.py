"""Fillable-price liquidation (DeFi book, dYdX v4; MECHANICS 5.3, `liquidation.style = "fillable"`).

Design note
-----------
A cross-margined account is liquidatable when its total net collateral TNC falls below its total
maintenance requirement TMMR (unified: TAV < MMF x N). Each tick the engine sends, for every
position, a reduce-only IOC order of `chunk_fraction` of it to the book, limited at the
FILLABLE price (the worst price the protocol lets a liquidation trade at):

    ABR  = clamp(BA x (1 - TNC / TMMR), 0, 1)                 (BA = 1: the deeper, the wider)
    fill = mark x (1 - side x ABR x SMMR x MMF)               (SMMR = 1.5)

The BANKRUPTCY price of the closing trade is where the account's share of TNC is used up:

    B = -DNNV - TNC x |DMMR| / TMMR  per unit  =  mark x (1 - side x MMF x TNC / TMMR)

A fill at f better than B leaves a surplus side x q x (f - B); the insurance fund takes
min(surplus, insurance_fee_cap x notional) (cap 1.5%) and the account keeps the rest. A fill worse
than B leaves the account short of collateral; once TAV <= 0 the takeover path pays it from the
fund (then the vault backstop and deleveraging, see `backstop`).

Worked numbers: long 10 BTC at mark 60,000 with MMF 1.2% (TMMR 7,200) and TNC 3,600:
ABR = 0.5, fill = 60,000 x (1 - 0.5 x 1.5 x 1.2%) = 59,460, B = 60,000 x (1 - 1.2% x 0.5) = 59,640:
the fill is 180 below B (no fee; the fund will pay the deficit).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import transfer
from exchange_edu.engine.numbers import ONE, ZERO, clamp
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import SYS_INSURANCE


def adjustment_ratio(tnc: Decimal, tmmr: Decimal, ba: Decimal) -> Decimal:
    """ABR = clamp(BA x (1 - TNC / TMMR), 0, 1)."""
    if tmmr <= 0:
        return ONE
    return clamp(ba * (1 - tnc / tmmr), ZERO, ONE)


def fillable_price(mark: Decimal, side: int, mmf: Decimal, tnc: Decimal, tmmr: Decimal, ba: Decimal,
                   smmr: Decimal) -> Decimal:
    """fill = mark x (1 - side x ABR x SMMR x MMF) (side of the POSITION: +1 long sells lower)."""
    return mark * (1 - side * adjustment_ratio(tnc, tmmr, ba) * smmr * mmf)


def bankruptcy_price(mark: Decimal, side: int, mmf: Decimal, tnc: Decimal, tmmr: Decimal) -> Decimal:
    """B = mark x (1 - side x MMF x TNC / TMMR)."""
    share = tnc / tmmr if tmmr else ZERO
    return mark * (1 - side * mmf * share)


def insurance_fee(side: int, quantity_base: Decimal, fill: Decimal, bankruptcy: Decimal, cap: Decimal) -> Decimal:
    """min(side x q x (fill - B), cap x q x fill), 0 when the fill is not better than B."""
    surplus = side * quantity_base * (fill - bankruptcy)
    return max(ZERO, min(surplus, cap * quantity_base * fill))


def chunk_at_fillable_price(work: Any, rules: RuleSet, risk: Any) -> None:
    """Stage "book" of a fillable-style liquidation (see the module note)."""
    from exchange_edu.engine.backstop import _contracts
    from exchange_edu.engine.trading import submit_order

    liq = rules.liquidation
    tnc, tmmr = risk.tav, risk.maintenance
    for p in risk.positions:
        side = 1 if p.size > 0 else -1
        market = work.market(p.market_id)
        qty = _contracts(p.size, liq.chunk_fraction)
        limit = fillable_price(p.mark, side, p.mmf, tnc, tmmr, liq.fillable_ba, liq.fillable_smmr)
        bankrupt = bankruptcy_price(p.mark, side, p.mmf, tnc, tmmr)
        order = Order(0, risk.account_id, p.market_id, Side.SELL if side > 0 else Side.BUY, OrderType.MARKET,
                      qty, limit, TimeInForce.IOC, reduce_only=True, is_liquidation=True)
        _, _, match = submit_order(work, rules, order)
        for fill in match.fills if match is not None else ():
            q = fill.quantity * market.contract_size
            fee = insurance_fee(side, q, fill.price, bankrupt, liq.insurance_fee_cap)
            entry = transfer("liquidation_fee", market.settlement_asset, fee, from_account=risk.account_id,
                             to_account=SYS_INSURANCE, market=p.market_id)
            work.post(entry)
            work.emit(EventKind.LIQUIDATION_FEE, market=p.market_id, account=risk.account_id,
                      numbers={"fee": fee, "fill_price": fill.price, "bankruptcy_price": bankrupt,
                               "fillable_price": limit},
                      inputs={"quantity": q, "tnc": tnc, "tmmr": tmmr, "mmf": p.mmf, "mark": p.mark,
                              "cap": liq.insurance_fee_cap},
                      formula="fee = min(side x q x (fill - B), cap x q x fill); "
                              "B = mark x (1 - side x MMF x TNC / TMMR)")
