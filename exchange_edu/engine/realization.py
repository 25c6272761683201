"""Realization and interest accrual (v3, Backpack "interest-bearing perpetuals", MECHANICS 4.3, 4.6b).

Design note
-----------
At each accrual time (hourly, `rules.lending.accrual_seconds`), in this order:

 1. PnL meets the pool, by `rules.lending.realization`:
    "auto"     every position's uPnL is realized into the settlement balance and its entry reset to
               the mark (size unchanged): profit becomes a lent balance, loss a borrow.
    "virtual"  PnL stays unrealized but pays / earns as if it were a balance, for one period:
                   interest = uPnL x lend / periods    (uPnL > 0)
                   interest = uPnL x borrow / periods  (uPnL < 0)
               E23: -1,000 at 10% borrow -> -0.011416;  +1,000 at 5% lend -> +0.005708 (USDC).
 2. every pool accrues: U = borrowed / lent, rates from the kinked curve (`calculate_pool_rates`),
    lend_index x= 1 + lend / periods, borrow_index x= 1 + borrow / periods; the fee share
    borrowed x borrow / periods - lent x lend / periods moves from `sys:lending` to `sys:fees`.
 3. settlement waterfall for what an account owes in the settlement asset: (1) its lent balance is
    redeemed (a debit simply lowers it), (2) the rest is borrowed (the balance goes negative), (3)
    while the pool is above `throttle_bound`, coin collateral is converted instead.

"Auto realize every 10 s" is applied lazily: realization is equity-neutral and only balances at
accrual times earn or pay, so realizing at each accrual (and whenever a position trades) gives the
same interest as realizing every 10 s. Cost: O(positions) once an hour, like funding; idle lenders
and borrowers cost nothing until touched (cumulative indices).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import settle, transfer
from exchange_edu.engine.lending import PoolRates, accrue, calculate_pool_rates, curve_of
from exchange_edu.engine.numbers import ONE, ZERO, Rounding
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import SYS_CLEARING, SYS_FEES, SYS_LENDING, evolve, is_system


def interest_for(amount: Decimal, rates: PoolRates, periods_per_year: Decimal) -> Decimal:
    """One period's interest on a signed amount: positive earns the lend rate, negative pays borrow."""
    rate = rates.lend_rate if amount > 0 else rates.borrow_rate
    return amount * rate / periods_per_year


def hourly_rate_from_apy(apy: Decimal, periods_per_year: Decimal = Decimal(8760)) -> Decimal:
    """(1 + APY)^(1 / periods) - 1  (10% APY -> 0.00109% per hour)."""
    return (ONE + apy) ** (ONE / periods_per_year) - 1


def realize_position(work: Any, position: Any) -> Decimal:
    """Realize a position's uPnL at the mark without changing its size; returns the posted amount."""
    market = work.market(position.market_id)
    mark = work.market_state(position.market_id).mark_price
    upnl = market.pnl(position.size, position.entry_price, mark)
    entry = settle("pnl_realization", market.settlement_asset, [(position.account_id, upnl)], SYS_CLEARING,
                   market=market.market_id, memo="auto-realize")
    posted = entry.amount_for(position.account_id) if entry is not None else ZERO
    work.post(entry)
    work.set_position(position.key, evolve(position, entry_price=mark))
    work.emit(EventKind.PNL_AUTO_REALIZED, market=market.market_id, account=position.account_id,
              numbers={"realized": upnl, "posted": posted},
              inputs={"entry_price": position.entry_price, "mark": mark, "contracts": position.size},
              formula="realized = size x contract_size x (mark - entry); entry := mark")
    return posted


def realize_account(work: Any, account_id: str) -> Decimal:
    """Realize every position of an account now (a learner's "realize" button)."""
    total = ZERO
    for m in work.live_market_ids():
        p = work.position(account_id, m)
        if p is not None and p.size:
            total += realize_position(work, p)
    return total


def _trader_positions(work: Any) -> list[Any]:
    from exchange_edu.engine.funding import _positions_by_market

    markets = work.live_market_ids()
    grouped = _positions_by_market(work, markets)  # = positions_in(m) per market, one scan
    out = []
    for m in markets:
        out.extend(p for p in grouped[m] if p.size and not is_system(p.account_id))
    return out


def maybe_accrue(work: Any, rules: RuleSet) -> bool:
    """Run steps 1-3 of the module note if an accrual time has come; True if it did."""
    pools = work.pool_states()
    due = sorted(a for a, p in pools.items() if p.next_accrual_time is not None and work.now >= p.next_accrual_time)
    if not due:
        return False
    lr = rules.lending
    asset = rules.contract.settlement_asset
    positions = _trader_positions(work)
    if lr.realization == "auto":
        for p in positions:
            realize_position(work, p)
    elif work.pool(asset) is not None:
        rates = calculate_pool_rates(curve_of(rules), work.pool(asset).utilization)
        for p in positions:
            market = work.market(p.market_id)
            upnl = market.pnl(p.size, p.entry_price, work.market_state(p.market_id).mark_price)
            amount = interest_for(upnl, rates, lr.periods_per_year)
            work.post(settle("upnl_interest", asset, [(p.account_id, amount)], SYS_LENDING, market=p.market_id))
            work.emit(EventKind.UPNL_INTEREST, market=p.market_id, account=p.account_id,
                      numbers={"interest": amount},
                      inputs={"upnl": upnl, "lend_rate": rates.lend_rate, "borrow_rate": rates.borrow_rate,
                              "periods_per_year": lr.periods_per_year},
                      formula="interest = uPnL x (lend if uPnL > 0 else borrow) / periods per year")
    for a in due:
        pool = work.pool(a)
        new, rates, fee = accrue(pool, rules, work.now)
        work.pools[a] = new
        work.post(transfer("lending_fee", a, fee, from_account=SYS_LENDING, to_account=SYS_FEES,
                           rounding=Rounding.DOWN))
        work.emit(EventKind.POOL_RATES, numbers={"utilization": rates.utilization, "borrow_rate": rates.borrow_rate,
                                                 "lend_rate": rates.lend_rate, "fee": fee},
                  inputs={"asset": a, "lent": pool.lent, "borrowed": pool.borrowed, "fee_share": lr.fee},
                  formula="U = borrowed / lent; lend = borrow x U x (1 - fee); indices x= 1 + rate / periods")
    pool = work.pool(asset)
    if pool is not None and pool.utilization > lr.throttle_bound:
        from exchange_edu.engine.backstop import repay_borrows

        for account_id in sorted({p.account_id for p in positions}):
            if work.account(account_id).balance(asset) < 0:
                repay_borrows(work, rules, account_id)
    return True


def borrow_throttled(view: Any, rules: RuleSet, account_id: str) -> str | None:
    """A reason when new borrowing is paused (pool utilization at or above the throttle threshold)."""
    if not rules.lending.enabled:
        return None
    asset = rules.contract.settlement_asset
    pools = view.pool_states() if hasattr(view, "pool_states") else view.pools
    pool = pools.get(asset)
    if pool is None or pool.utilization < rules.lending.throttle_threshold:
        return None
    if view.account(account_id).balance(asset) > 0:
        return None
    return (f"the {asset} pool is {pool.utilization:.2%} utilized (throttle at "
            f"{rules.lending.throttle_threshold:.0%}): new borrowing is paused")
