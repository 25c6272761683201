"""Pool: a GMX v2 ("synthetics")-style liquidity pool as every trader's counterparty (preset
`defi_pool`, `rules.counterparty = "pool"`, `rules.pool`; MECHANICS 5.2, E26-E28).

Design note
-----------
* LPs deposit USDC into `sys:pool` and receive pool shares (asset `pool.share_asset`, "GM"); the
  pool's own share balance is minus the supply, so the share ledger sums to zero too:

      pool value  = pool cash + uPnL of the pool's position (at the oracle)
                  = LP deposits - withdrawals + fees + borrow fees - traders' PnL   (pool accounting)
      shares      = amount x supply / pool value     (first deposit: 1 share per USDC); floored
      withdrawal  = shares x pool value / supply, floored; the rest must still back the reserve:
                    open interest of each side <= reserve_factor x pool value

* A market order fills at the ORACLE (index) +- price impact against `sys:pool`, which holds the
  opposite of every trader position: the pool's PnL mirrors the traders'. Limit orders are
  rejected. Impact from the skew d = OI_long - OI_short (USD) before / after the trade:

      improves   +f_pos x (|d0|^e_pos - |d1|^e_pos)     worsens   -f_neg x (|d1|^e_neg - |d0|^e_neg)
      crosses    +f_pos x |d0|^e_pos - f_neg x |d1|^e_neg
      capped at max_impact_positive / negative x value; buy at P x (1 - impact / value), sell at
      P x (1 + impact / value). E28 (e = 2, f = 0.01 / 50,000): 0 -> 50,000 = -$500, 50,000 -> 25,000 = +$375.

* Funding between the sides (per second, paid at each funding time for the interval):
      rate_large = funding_factor x |OI_L - OI_S|^e / (OI_L + OI_S);  rate_small = rate_large x OI_large / OI_small
  (E26: 1/50,000, 150k / 50k -> longs pay 0.001%/s, shorts receive 0.003%/s: the same dollars).
  Borrow fee to the LPs per side: usage = OI_side / pool value; kink (per year)
      b = base x usage (+ (above - base) x (usage - optimal) / (1 - optimal) above the optimum)
  (E27: 60% -> 30%/yr, 90% -> 93%/yr) or curve b = borrowing_factor x usage^e per second
  (6.25e-9 x 0.8 x 31,536,000 = 15.77%/yr). Each side has its own cumulative index (longs
  `funding_index`, shorts `funding_index_short`), settled lazily like every funding; the borrow
  part goes from `sys:funding` to the pool at the funding time (traders owe it until settled).
* Liquidation by remaining collateral (margin - pending fees + uPnL <= 1% of the entry value):
  the position closes against the pool at the oracle; the pool takes a liquidation fee from what
  remains, or absorbs the loss beyond the collateral (the LPs are the insurance fund).
* ADL: when traders' net PnL exceeds max_pnl_factor_for_adl x pool cash, the most profitable
  positions are closed against the pool at the oracle until it is below min_pnl_factor_after_adl.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from exchange_edu.engine.book import Fill, MatchResult, Order, OrderType
from exchange_edu.engine.delta import Delta, finish
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.fees import calculate_fee
from exchange_edu.engine.ledger import settle, transfer
from exchange_edu.engine.numbers import ONE, ZERO, Rounding, clamp, in_engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.subrules import PoolRules
from exchange_edu.engine.types import SYS_FUNDING, SYS_POOL, EngineState, evolve, is_system
from exchange_edu.engine.work import Work

# -- calculators ------------------------------------------------------------------------------


def skew_funding_rates(factor: Decimal, exponent: Decimal, oi_long: Decimal,
                       oi_short: Decimal) -> tuple[Decimal, Decimal]:
    """(long rate, short rate) per second per $ of OI; positive = pays. Zero when a side is empty."""
    if oi_long <= 0 or oi_short <= 0 or oi_long == oi_short:
        return ZERO, ZERO
    large, small = max(oi_long, oi_short), min(oi_long, oi_short)
    rate_large = factor * abs(oi_long - oi_short) ** exponent / (oi_long + oi_short)
    rate_small = rate_large * large / small
    return (rate_large, -rate_small) if oi_long > oi_short else (-rate_small, rate_large)


def kink_borrow_rate(usage: Decimal, optimal: Decimal, base: Decimal, above: Decimal) -> Decimal:
    """Per year: base x usage, plus (above - base) x (usage - optimal) / (1 - optimal) above the kink."""
    rate = base * usage
    if usage > optimal:
        rate += (above - base) * (usage - optimal) / (1 - optimal)
    return rate


def borrow_rate_per_second(p: PoolRules, usage: Decimal) -> Decimal:
    usage = max(usage, ZERO)
    if p.borrow_model == "curve":
        return p.borrowing_factor * usage ** p.borrowing_exponent
    return kink_borrow_rate(usage, p.optimal_usage, p.base_borrow_rate, p.above_optimal_rate) / p.seconds_per_year


def price_impact_usd(skew_before: Decimal, skew_after: Decimal, factor_positive: Decimal, factor_negative: Decimal,
                     exponent_positive: Decimal, exponent_negative: Decimal) -> Decimal:
    """Signed impact (positive = the trader gains) of moving the skew (see the module note)."""
    d0, d1 = abs(skew_before), abs(skew_after)
    if skew_before * skew_after < 0:  # crosses over: improve to 0, then worsen on the other side
        return factor_positive * d0 ** exponent_positive - factor_negative * d1 ** exponent_negative
    if d1 <= d0:
        return factor_positive * (d0 ** exponent_positive - d1 ** exponent_positive)
    return -factor_negative * (d1 ** exponent_negative - d0 ** exponent_negative)


# -- pool reads ---------------------------------------------------------------------------------


def trader_open_interest(view: Any, market_id: str) -> tuple[Decimal, Decimal]:
    """(long contracts, short contracts) of the traders: the OI minus the pool's own side."""
    ms = view.market_state(market_id)
    pool_pos = view.position(SYS_POOL, market_id)
    size = pool_pos.size if pool_pos is not None else ZERO
    return ms.open_interest - max(size, ZERO), ms.open_interest - max(-size, ZERO)


def open_interest_usd(view: Any, market_id: str) -> tuple[Decimal, Decimal]:
    longs, shorts = trader_open_interest(view, market_id)
    unit = view.market(market_id).contract_size * view.market_state(market_id).index_price
    return longs * unit, shorts * unit


def pool_cash(view: Any, rules: RuleSet) -> Decimal:
    return view.account(SYS_POOL).balance(rules.contract.settlement_asset)


def pool_pnl(view: Any) -> Decimal:
    """The pool's unrealized PnL at the oracle (= minus the traders' open PnL)."""
    total = ZERO
    for m in view.live_market_ids():
        p = view.position(SYS_POOL, m)
        if p is not None and p.size:
            total += view.market(m).pnl(p.size, p.entry_price, view.market_state(m).index_price)
    return total


def pool_value(view: Any, rules: RuleSet) -> Decimal:
    return pool_cash(view, rules) + pool_pnl(view)


def share_supply(view: Any, rules: RuleSet) -> Decimal:
    return -view.account(SYS_POOL).balance(rules.pool.share_asset)


# -- LP operations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolResult:
    rejected: str | None
    amount: Decimal  # settlement asset in (deposit) or out (withdrawal)
    shares: Decimal  # shares minted or burnt
    delta: Delta

    @property
    def accepted(self) -> bool:
        return self.rejected is None


@in_engine_context
def lp_deposit(state: EngineState, rules: RuleSet, account_id: str, amount: Decimal, now: int) -> PoolResult:
    """Deposit `amount` of the settlement asset into the pool for shares (see the module note)."""
    work = Work(state, rules, now)
    asset = rules.contract.settlement_asset
    value, supply = pool_value(work, rules), share_supply(work, rules)
    reason = None
    if amount <= 0:
        reason = "the amount must be positive"
    elif work.account(account_id).balance(asset) < amount and account_id != SYS_POOL:
        reason = f"insufficient balance: {work.account(account_id).balance(asset)} {asset}"
    elif supply > 0 and value <= 0:
        reason = "the pool is insolvent: its value is not positive"
    shares = ZERO
    if reason is None:
        shares = amount if supply <= 0 else amount * supply / value
        cash = transfer("lp_deposit", asset, amount, from_account=account_id, to_account=SYS_POOL,
                        rounding=Rounding.DOWN)
        minted = settle("lp_shares_minted", rules.pool.share_asset, [(account_id, shares)], SYS_POOL)
        if cash is None or minted is None:
            reason = "the amount is too small for one share unit"
        else:
            work.post(cash)
            work.post(minted)
            shares = minted.amount_for(account_id)
            work.emit(EventKind.POOL_DEPOSIT, account=account_id, numbers={"amount": amount, "shares": shares},
                      inputs={"pool_value": value, "share_supply": supply},
                      formula="shares = amount x supply / pool value (1 per unit for the first deposit)")
    return _result(work, state, reason, amount if reason is None else ZERO, shares)


@in_engine_context
def lp_withdraw(state: EngineState, rules: RuleSet, account_id: str, shares: Decimal, now: int) -> PoolResult:
    """Redeem `shares` for shares x pool value / supply; the reserve must still back open interest."""
    work = Work(state, rules, now)
    asset, share = rules.contract.settlement_asset, rules.pool.share_asset
    value, supply = pool_value(work, rules), share_supply(work, rules)
    held = work.account(account_id).balance(share)
    amount = shares * value / supply if supply > 0 and shares > 0 else ZERO
    reason = None
    if shares <= 0 or shares > held:
        reason = f"you hold {held} {share}; cannot redeem {shares}"
    elif amount <= 0:
        reason = "the pool has no value to pay out"
    elif amount > pool_cash(work, rules):
        reason = f"the pool holds {pool_cash(work, rules):.2f} {asset}, less than {amount:.2f}"
    else:
        after = value - amount
        for m in work.live_market_ids():
            longs, shorts = open_interest_usd(work, m)
            if max(longs, shorts) > rules.pool.reserve_factor * after:
                reason = (f"open interest {max(longs, shorts):.2f} in {m} needs a pool of at least "
                          f"{max(longs, shorts) / rules.pool.reserve_factor:.2f} {asset} (reserve factor "
                          f"{rules.pool.reserve_factor}); the withdrawal would leave {after:.2f}")
                break
    paid = ZERO
    if reason is None:
        work.post(settle("lp_shares_burnt", share, [(account_id, -shares)], SYS_POOL, rounding=Rounding.NEAREST))
        entry = settle("lp_withdrawal", asset, [(account_id, amount)], SYS_POOL)
        work.post(entry)
        paid = entry.amount_for(account_id) if entry is not None else ZERO
        work.emit(EventKind.POOL_WITHDRAWAL, account=account_id, numbers={"amount": paid, "shares": shares},
                  inputs={"pool_value": value, "share_supply": supply},
                  formula="amount = shares x pool value / supply (rounded down)")
    return _result(work, state, reason, paid, shares if reason is None else ZERO)


def _result(work: Work, state: EngineState, reason: str | None, amount: Decimal, shares: Decimal) -> PoolResult:
    if reason is not None:
        work.emit(EventKind.ORDER_REJECTED, numbers={}, reason=reason)
    return PoolResult(reason, amount, shares, finish(work, state.tick_seq))


# -- trading against the pool -------------------------------------------------------------------


def fill_against_pool(work: Any, rules: RuleSet, order: Order,
                      max_quantity: Decimal | None) -> tuple[Order, str | None, MatchResult | None]:
    """A market order (or a fired stop) filled by the pool at the oracle +- impact."""
    from exchange_edu.engine.trading import _reject, trade

    if order.order_type is OrderType.LIMIT:
        return order, _reject(work, order, "limit orders are not accepted on a pool market: market orders "
                                           "fill against the pool at the oracle price +- price impact"), None
    market = work.market(order.market)
    p = rules.pool
    ms = work.market_state(order.market)
    qty = order.quantity if max_quantity is None else min(order.quantity, max_quantity)
    signed = order.side.sign * qty
    pos = work.position(order.account_id, order.market)
    size = pos.size if pos is not None and not is_system(order.account_id) else ZERO
    new = size + signed
    unit = market.contract_size * ms.index_price
    d_long = (max(new, ZERO) - max(size, ZERO)) * unit
    d_short = (max(-new, ZERO) - max(-size, ZERO)) * unit
    longs, shorts = open_interest_usd(work, order.market)
    value = qty * unit
    impact = price_impact_usd(longs - shorts, longs - shorts + d_long - d_short, p.impact_factor_positive,
                              p.impact_factor_negative, p.impact_exponent_positive, p.impact_exponent_negative)
    impact = clamp(impact, -p.max_impact_negative * value, p.max_impact_positive * value)
    price = ms.index_price * (1 - order.side.sign * impact / value)
    if order.price is not None and order.side.sign * (price - order.price) > 0:
        return order, _reject(work, order, f"price impact moves the fill to {price:.2f}, beyond your limit "
                                           f"{order.price}"), None
    reserve = p.reserve_factor * pool_value(work, rules)
    grows = (d_long > 0 and longs + d_long > reserve) or (d_short > 0 and shorts + d_short > reserve)
    if grows and not is_system(order.account_id):
        return order, _reject(work, order, f"the pool's reserve {reserve:.2f} cannot back more open interest "
                                           f"(longs {longs + max(d_long, ZERO):.2f}, shorts "
                                           f"{shorts + max(d_short, ZERO):.2f})"), None
    trade(work, rules, market, order.account_id, signed, price, fee_is_maker=None)
    trade(work, rules, market, SYS_POOL, -signed, price, fee_is_maker=None)
    fee = calculate_fee(rules.fees, market, qty, price, is_maker=False)
    if fee.fee and not is_system(order.account_id):
        work.post(settle("fee", market.settlement_asset, [(order.account_id, -fee.fee)], SYS_POOL,
                         market=market.market_id))
        work.emit(EventKind.FEE, market=market.market_id, account=order.account_id, numbers={"fee": fee.fee},
                  inputs={"rate": fee.rate, "value": fee.value, "maker": 0}, formula=fee.formula + "; paid to the pool")
    work.set_market_state(evolve(work.market_state(order.market), last_price=price))
    work.emit(EventKind.POOL_FILL, market=order.market, account=order.account_id,
              numbers={"price": price, "quantity": qty, "impact_usd": impact},
              inputs={"oracle": ms.index_price, "skew_before": longs - shorts,
                      "skew_after": longs - shorts + d_long - d_short, "side": order.side.value},
              formula="price = oracle x (1 -+ impact / value); impact = f x d0^e - f x d1^e, d = |OI_L - OI_S|")
    fill = Fill(order.market, price, qty, 0, order.order_id, SYS_POOL, order.account_id, order.side, 0)
    return order, None, MatchResult(fills=(fill,))


# -- funding and borrow fee ---------------------------------------------------------------------


def pay_skew_funding(work: Any, rules: RuleSet, market_id: str) -> None:
    """At a funding time: grow both sides' indices by funding + borrow for the elapsed intervals."""
    ms = work.market_state(market_id)
    market = work.market(market_id)
    p = rules.pool
    interval = rules.funding.interval_seconds
    nxt = ms.next_funding_time
    periods = 0
    while nxt <= work.now:
        nxt += interval
        periods += 1
    dt = Decimal(interval * periods)
    longs_c, shorts_c = trader_open_interest(work, market_id)
    longs, shorts = open_interest_usd(work, market_id)
    value = pool_value(work, rules)
    rate_long, rate_short = skew_funding_rates(p.funding_factor, p.funding_exponent, longs, shorts)
    usage_long = longs / value if value > 0 else ONE
    usage_short = shorts / value if value > 0 else ONE
    borrow_long, borrow_short = borrow_rate_per_second(p, usage_long), borrow_rate_per_second(p, usage_short)
    if p.skip_borrow_smaller_side and longs != shorts:
        borrow_long, borrow_short = (borrow_long, ZERO) if longs > shorts else (ZERO, borrow_short)
    unit = market.contract_size * ms.index_price * dt
    d_long = unit * (rate_long + borrow_long)
    d_short = -unit * (rate_short + borrow_short)
    borrowed = unit * (longs_c * borrow_long + shorts_c * borrow_short)
    short_index = (ms.funding_index_short or ZERO) + d_short
    work.set_market_state(evolve(ms, funding_index=ms.funding_index + d_long, funding_index_short=short_index,
                                  funding_rate_next=rate_long * interval, next_funding_time=nxt,
                                  premium_sum=ZERO, premium_count=0))
    entry = transfer("borrow_fee", market.settlement_asset, borrowed, from_account=SYS_FUNDING,
                     to_account=SYS_POOL, market=market_id, rounding=Rounding.DOWN)
    work.post(entry)
    work.emit(EventKind.POOL_FUNDING, market=market_id,
              numbers={"long_rate_per_second": rate_long, "short_rate_per_second": rate_short,
                       "long_borrow_per_second": borrow_long, "short_borrow_per_second": borrow_short,
                       "long_index_increment": d_long, "short_index_increment": d_short,
                       "borrow_fee_to_pool": entry.amount_for(SYS_POOL) if entry is not None else ZERO},
              inputs={"oi_long_usd": longs, "oi_short_usd": shorts, "pool_value": value, "seconds": dt,
                      "oracle": ms.index_price},
              formula="rate_large = factor x |OI_L - OI_S|^e / (OI_L + OI_S); rate_small = rate_large x "
                      "OI_large / OI_small; borrow = kink(usage = OI_side / pool value)")


# -- liquidation and ADL --------------------------------------------------------------------------


def liquidate_against_pool(work: Any, rules: RuleSet, position: Any, check: Any) -> None:
    """Close a failed isolated position against the pool at the oracle; fee or loss to the pool."""
    from exchange_edu.engine.funding import settle_funding
    from exchange_edu.engine.trading import cancel_account_orders, trade

    market = work.market(position.market_id)
    asset = market.settlement_asset
    cancel_account_orders(work, position.account_id, position.market_id, reason="liquidation")
    pos = settle_funding(work, position)
    price = work.market_state(position.market_id).index_price
    margin = pos.isolated_margin
    realized = market.pnl(pos.size, pos.entry_price, price)
    trade(work, rules, market, pos.account_id, -pos.size, price, fee_is_maker=None, kind="liquidation")
    trade(work, rules, market, SYS_POOL, pos.size, price, fee_is_maker=None, kind="liquidation")
    remaining = margin + realized
    fee = min(max(remaining, ZERO), rules.pool.liquidation_fee_rate * market.value(pos.size, price))
    work.post(transfer("liquidation_fee", asset, fee, from_account=pos.account_id, to_account=SYS_POOL,
                       market=market.market_id, rounding=Rounding.UP))
    if remaining < 0:  # the LPs absorb what the collateral cannot pay
        work.post(transfer("liquidation_loss_absorbed", asset, -remaining, from_account=SYS_POOL,
                           to_account=pos.account_id, market=market.market_id, rounding=Rounding.DOWN))
    work.emit(EventKind.LIQUIDATION, market=market.market_id, account=pos.account_id,
              numbers={"contracts": pos.size, "price": price, "remaining_collateral": remaining,
                       "liquidation_fee": fee, "pool_absorbed": max(-remaining, ZERO)},
              inputs={**check.inputs(), "entry_price": pos.entry_price, "margin": margin},
              formula="remaining = collateral - pending fees + PnL(oracle); liquidatable when remaining <= "
                      "min collateral factor x size; the pool takes the fee or absorbs the shortfall",
              reason=check.reason)


def maybe_adl(work: Any, rules: RuleSet, market_id: str) -> Decimal:
    """Close the most profitable positions while traders' PnL / pool cash > max factor; returns the
    realized PnL paid."""
    from exchange_edu.engine.trading import cancel_account_orders, trade

    p = rules.pool
    cash = pool_cash(work, rules)
    pool_pos = work.position(SYS_POOL, market_id)
    if pool_pos is None or not pool_pos.size:
        return ZERO
    market = work.market(market_id)
    price = work.market_state(market_id).index_price
    traders_pnl = -market.pnl(pool_pos.size, pool_pos.entry_price, price)
    if traders_pnl <= p.max_pnl_factor_for_adl * max(cash, ZERO):
        return ZERO
    # X such that traders_pnl - X <= min_factor x (cash - X)
    need = (traders_pnl - p.min_pnl_factor_after_adl * cash) / (1 - p.min_pnl_factor_after_adl) \
        if p.min_pnl_factor_after_adl < 1 else traders_pnl
    winners = []
    for pos in work.positions_in(market_id):
        if is_system(pos.account_id) or not pos.size:
            continue
        upnl = market.pnl(pos.size, pos.entry_price, price)
        if upnl > 0:
            winners.append((-upnl, pos.account_id, pos))
    paid = ZERO
    for neg_upnl, account_id, pos in sorted(winners):
        if paid >= need:
            break
        per_contract = -neg_upnl / abs(pos.size)
        qty = min(abs(pos.size), ((need - paid) / per_contract).to_integral_value(rounding=ROUND_CEILING))
        sign = 1 if pos.size > 0 else -1
        cancel_account_orders(work, account_id, market_id, reason="auto-deleveraged by the pool")
        trade(work, rules, market, account_id, -sign * qty, price, fee_is_maker=None, kind="adl")
        trade(work, rules, market, SYS_POOL, sign * qty, price, fee_is_maker=None, kind="adl")
        paid += per_contract * qty
        work.emit(EventKind.POOL_ADL, market=market_id, account=account_id,
                  numbers={"contracts": -sign * qty, "price": price, "realized": per_contract * qty},
                  inputs={"traders_pnl": traders_pnl, "pool_cash": cash, "max_factor": p.max_pnl_factor_for_adl,
                          "min_factor": p.min_pnl_factor_after_adl},
                  formula="ADL while traders' PnL / pool cash > max factor, until below the min factor")
    return paid
