"""Backstop: liquidation of unified accounts in tiers, the backstop liquidity provider, and
covering a bankrupt account's negative balance (v2 FTX, v3 Backpack; MECHANICS 3.5, 4.5).

Design note
-----------
For each account the account index names (see `account_index`), with MF = TAV / N:

 1. MMF > MF >= ACMF  on-book, incremental: cancel the account's orders, (v3: repay borrows first by
                      converting coin collateral), then, with probability 1 - (5/6)^(tick seconds)
                      (a chunk each second with probability 1/6, `liquidation.tiers`), send a
                      reduce-only IOC of `chunk_fraction` (10%) x uniform(0.5, 1.5) of every position
                      (at least min($1,000, its notional)), limited 1-5 bps through the best opposite
                      price (the mark without one); next tick again while MF < MMF. The draws come
                      from random.Random(tick seed, time, account): the same tick replays the same.
 2. 0 < MF < ACMF     backstop: close (1 - MF / ACMF) of every position. The account sells to the
                      liquidation engine at its zero price PZP; the engine sells on to the backstop
                      liquidity provider (`sys:backstop`) at (1 - s) x PZP + s x MP (s = 1/3): the
                      engine's margin (BLP price - PZP) goes to the insurance fund, the BLP keeps the
                      rest of the account's equity as its reward. Capacity per tick is capped.
 3. TAV <= 0          bankrupt: coin collateral is converted to the settlement asset, the liquidation
                      engine takes every position (`liquidation.take_over`); a balance still negative
                      afterwards (a borrower's debt) is paid by the insurance fund, then the exchange,
                      so lenders are made whole in USD. The engine's inventory goes to the backstop
                      at the mark, as far as the fund can pay the loss against the bankruptcy price;
                      what the fund cannot pay is deleveraged against the largest opposing positions
                      (v2) or by ADL rank (v3).

E19 (FTX BLP page): $1,000, long 2 BTC from 10,000: tier 1 from 9,793.81, tier 2 from 9,644.67.
"""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, Decimal
from typing import Any

from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce
from exchange_edu.engine.collateral import convert
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import transfer
from exchange_edu.engine.liquidation import LiquidationCheck, take_over
from exchange_edu.engine.numbers import ONE, ZERO
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.subrules import QUOTE_ASSETS, TierRules
from exchange_edu.engine.types import SYS_BACKSTOP, SYS_FEES, SYS_INSURANCE, SYS_LIQUIDATION, is_system
from exchange_edu.engine.unified import AccountRisk, account_risk


def liquidate_accounts(work: Any, rules: RuleSet, state: Any, *, rebuild: bool = False) -> list[LiquidationCheck]:
    """Stage 7 for unified rules: check the accounts the index names and those changed this tick."""
    from exchange_edu.engine.account_index import REBASE_DRIFT, build_account_index, current_prices

    prices = current_prices(work)
    index = state.account_index
    if index is None or rebuild or index.drift(prices) > REBASE_DRIFT:
        index = build_account_index(work, rules, prices)
        work.account_index = index
    candidates = set(index.candidates(prices))
    candidates.update(a for a in work.accounts if not is_system(a))
    candidates.update(a for (a, _m) in work.positions if not is_system(a))
    out = []
    capacity = [rules.liquidation.backstop_capacity]
    for account_id in sorted(candidates):
        risk = account_risk(work, rules, account_id)
        if not risk.is_below_maintenance() and not (risk.tav < 0 and _has_debt(risk)):
            continue
        out.append(_liquidate(work, rules, risk, capacity))
    return out


def _has_debt(risk: AccountRisk) -> bool:
    return any(b < 0 for b in risk.balances.values())


def _check(risk: AccountRisk, reason: str) -> LiquidationCheck:
    p = risk.positions[0] if risk.positions else None
    return LiquidationCheck(risk.account_id, p.market_id if p else "", True, reason, p.mark if p else ZERO,
                            risk.tav, risk.maintenance, risk.collateral, risk.upnl, ZERO, None, None,
                            formula="liquidate when MF = TAV / notional < account MMF")


def _liquidate(work: Any, rules: RuleSet, risk: AccountRisk, capacity: list[Decimal]) -> LiquidationCheck:
    from exchange_edu.engine.trading import cancel_account_orders

    liq = rules.liquidation
    mf = risk.margin_fraction
    acmf = risk.acmf(liq)
    for m in work.live_market_ids():
        cancel_account_orders(work, risk.account_id, m, reason="account liquidation")
    if risk.tav <= 0:
        stage = "takeover"
    elif mf is not None and mf < acmf:
        stage = "backstop"
    else:
        stage = "book"
    reason = (f"MF {mf:.4%} < account MMF {risk.mmf:.4%}" if mf is not None else "debt without collateral")
    work.emit(EventKind.ACCOUNT_LIQUIDATION, account=risk.account_id,
              numbers={"margin_fraction": mf, "account_mmf": risk.mmf, "acmf": acmf},
              inputs={**risk.explain(), "stage": stage},
              formula="MF = TAV / notional; book below MMF, backstop below ACMF = max(MMF/2, MMF - 6%), "
                      "takeover at TAV <= 0", reason=reason)
    check = _check(risk, reason)
    if liq.repay_borrows_first:
        repay_borrows(work, rules, risk.account_id)
    if stage == "book" and liq.style == "fillable":  # DeFi book (dYdX): limit at the fillable price
        from exchange_edu.engine.fillable import chunk_at_fillable_price

        chunk_at_fillable_price(work, rules, risk)
    elif stage == "book":
        _chunk_on_book(work, rules, risk, max(0, work.now - work.base.now))
    elif stage == "backstop":  # Hyperliquid: the vault takes everything below 2/3 of maintenance
        _to_backstop(work, rules, risk, ONE if liq.backstop_takes_all else ONE - mf / acmf, capacity)
    else:
        _take_over_account(work, rules, risk, check)
    return check


def _contracts(size: Decimal, fraction: Decimal) -> Decimal:
    q = (abs(size) * fraction).to_integral_value(rounding=ROUND_CEILING)
    return min(abs(size), max(q, ONE))


def chunk_probability(tiers: TierRules, seconds: int) -> Decimal:
    """P(a chunk goes out in a tick of `seconds`) = 1 - (1 - p)^seconds (1 s: 1/6; 60 s: 0.99998)."""
    if seconds <= 0:
        return ZERO
    return ONE - (ONE - tiers.chunk_probability_per_second) ** seconds


def _uniform(rng: random.Random, lo: Decimal, hi: Decimal) -> Decimal:
    """A uniform draw in [lo, hi] on a grid of 1e-6, without floats."""
    return lo + (hi - lo) * Decimal(rng.randrange(1000001)) / Decimal(1000000)


def chunk_quantity(tiers: TierRules, fraction: Decimal, size: Decimal, price: Decimal, contract_size: Decimal,
                   rng: random.Random) -> Decimal:
    """Whole contracts: |size| x fraction x uniform(1 - jitter, 1 + jitter), at least
    min(min notional, the position's notional) / (contract_size x price), at most |size|."""
    jitter = _uniform(rng, ONE - tiers.chunk_jitter, ONE + tiers.chunk_jitter)
    qty = abs(size) * fraction * jitter
    per_contract = contract_size * price
    if per_contract > 0:
        qty = max(qty, min(tiers.chunk_min_notional, abs(size) * per_contract) / per_contract)
    return min(abs(size), max(qty.to_integral_value(rounding=ROUND_CEILING), ONE))


def _chunk_on_book(work: Any, rules: RuleSet, risk: AccountRisk, seconds: int) -> None:
    from exchange_edu.engine.trading import submit_order

    tiers = rules.liquidation.tiers
    rng = random.Random(f"liquidation:{work.seed}:{work.now}:{risk.account_id}")
    p = chunk_probability(tiers, seconds)
    draw = _uniform(rng, ZERO, ONE)
    if draw >= p:
        return
    for pos in risk.positions:
        market = work.market(pos.market_id)
        qty = chunk_quantity(tiers, rules.liquidation.chunk_fraction, pos.size, pos.mark, market.contract_size, rng)
        bps = _uniform(rng, tiers.through_bps_min, tiers.through_bps_max)
        side = Side.SELL if pos.size > 0 else Side.BUY
        book = work.book(pos.market_id)
        best = (book.best_bid() if pos.size > 0 else book.best_ask()) if book is not None else None
        ref = best if best is not None else pos.mark
        limit = ref * (1 - bps / 10000) if pos.size > 0 else ref * (1 + bps / 10000)
        work.emit(EventKind.LIQUIDATION_FILL, market=pos.market_id, account=risk.account_id,
                  numbers={"contracts": qty if pos.size < 0 else -qty, "limit": limit},
                  inputs={"probability": p, "draw": draw, "tick_seconds": seconds, "position": pos.size,
                          "share": qty / abs(pos.size), "through_bps": bps, "best_price": best, "mark": pos.mark},
                  formula="chunk = 10% x uniform(0.5, 1.5) of the position (min $1,000) with probability "
                          "1 - (5/6)^seconds, IOC 1-5 bps through the best price")
        submit_order(work, rules, Order(0, risk.account_id, pos.market_id, side, OrderType.MARKET, qty, limit,
                                        TimeInForce.IOC, reduce_only=True, is_liquidation=True))


def _to_backstop(work: Any, rules: RuleSet, risk: AccountRisk, fraction: Decimal, capacity: list[Decimal]) -> None:
    from exchange_edu.engine.trading import trade

    share = rules.liquidation.backstop_mark_share
    for p in risk.positions:
        market = work.market(p.market_id)
        qty = _contracts(p.size, fraction)
        room = capacity[0] / (market.contract_size * p.mark)
        qty = min(qty, room.to_integral_value(rounding="ROUND_FLOOR"))
        if qty <= 0:
            continue
        sign = 1 if p.size > 0 else -1
        zp = risk.zero_price(p)
        blp = (1 - share) * zp + share * p.mark
        trade(work, rules, market, risk.account_id, -sign * qty, zp, fee_is_maker=None, kind="backstop")
        trade(work, rules, market, SYS_LIQUIDATION, sign * qty, zp, fee_is_maker=None, kind="backstop")
        trade(work, rules, market, SYS_LIQUIDATION, -sign * qty, blp, fee_is_maker=None, kind="backstop")
        trade(work, rules, market, SYS_BACKSTOP, sign * qty, blp, fee_is_maker=None, kind="backstop")
        capacity[0] -= qty * market.contract_size * p.mark
        work.emit(EventKind.BACKSTOP, market=p.market_id, account=risk.account_id,
                  numbers={"contracts": -sign * qty, "zero_price": zp, "backstop_price": blp},
                  inputs={"mark": p.mark, "tav": risk.tav, "fraction": fraction, "mark_share": share},
                  formula="account closes at PZP = MP x (1 -+ PMPD); BLP buys at (1 - s) x PZP + s x MP")


def _take_over_account(work: Any, rules: RuleSet, risk: AccountRisk, check: LiquidationCheck) -> None:
    asset = rules.contract.settlement_asset
    for coin, bal in sorted(work.account(risk.account_id).balances.items()):
        if coin != asset and bal > 0:
            convert(work, risk.account_id, coin, asset, bal, reason="bankrupt account: collateral to cover losses")
    if risk.positions:
        first = work.position(risk.account_id, risk.positions[0].market_id)
        take_over(work, rules, first, check)
    cover_negative_balance(work, risk.account_id, asset)


def repay_borrows(work: Any, rules: RuleSet, account_id: str) -> None:
    """Convert coin collateral to pay a negative settlement balance (v3: repay borrows first)."""
    from exchange_edu.engine.collateral import asset_price

    asset = rules.contract.settlement_asset
    acct = work.account(account_id)
    debt = -acct.balance(asset)
    for coin, bal in sorted(acct.balances.items()):
        if debt <= 0:
            break
        if coin == asset or coin in QUOTE_ASSETS or bal <= 0:
            continue
        price = asset_price(work, coin)
        if not price:
            continue
        debt -= convert(work, account_id, coin, asset, min(bal, debt / price * Decimal("1.00000001")),
                        reason="liquidation repays borrows first")


def cover_negative_balance(work: Any, account_id: str, asset: str) -> Decimal:
    """A bankrupt account's debt is paid by the fund, then the exchange: lenders lose nothing."""
    debt = -work.account(account_id).balance(asset)
    if debt <= 0:
        return ZERO
    fund = max(work.account(SYS_INSURANCE).balance(asset), ZERO)
    from_fund = min(fund, debt)
    work.post(transfer("negative_balance_covered", asset, from_fund, from_account=SYS_INSURANCE,
                       to_account=account_id))
    work.post(transfer("negative_balance_covered", asset, debt - from_fund, from_account=SYS_FEES,
                       to_account=account_id))
    work.emit(EventKind.NEGATIVE_BALANCE_COVERED, account=account_id,
              numbers={"covered": debt, "from_insurance": from_fund, "from_exchange": debt - from_fund},
              formula="a bankrupt account's debt is repaid in full: lenders are made whole in USD")
    return debt


def backstop_inventory(work: Any, rules: RuleSet, market_id: str) -> Decimal:
    """Waterfall step "backstop": the BLP takes the engine's inventory at the mark, as far as the
    insurance fund (plus the engine's balance) can pay the loss against the inventory's entry."""
    from exchange_edu.engine.trading import trade

    inv = work.position(SYS_LIQUIDATION, market_id)
    if inv is None or not inv.size:
        return ZERO
    market = work.market(market_id)
    asset = market.settlement_asset
    mark = work.market_state(market_id).mark_price
    per_contract = market.pnl(Decimal(inv.side), inv.entry_price, mark)
    qty = abs(inv.size)
    if per_contract < 0:
        budget = max(work.account(SYS_INSURANCE).balance(asset) + work.account(SYS_LIQUIDATION).balance(asset), ZERO)
        qty = min(qty, (budget / -per_contract).to_integral_value(rounding="ROUND_FLOOR"))
    if qty <= 0:
        return ZERO
    sign = inv.side
    trade(work, rules, market, SYS_LIQUIDATION, -sign * qty, mark, fee_is_maker=None, kind="backstop")
    trade(work, rules, market, SYS_BACKSTOP, sign * qty, mark, fee_is_maker=None, kind="backstop")
    work.emit(EventKind.BACKSTOP, market=market_id, account=SYS_BACKSTOP,
              numbers={"contracts": sign * qty, "price": mark},
              inputs={"bankruptcy_price": inv.entry_price, "loss_per_contract": -per_contract},
              formula="backstop takes the engine's inventory at the mark; the fund pays mark vs bankruptcy price")
    return qty
