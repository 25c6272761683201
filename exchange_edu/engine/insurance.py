"""Insurance: the fund, the liquidation engine's inventory, ADL (ranking, lights, execution) and
the v0 pooled clawback.

Design note
-----------
The liquidation engine (`sys:liquidation`) holds positions taken over at bankruptcy prices B. Each
tick it works them on the book with IOC market orders protected at reference x (1 -+ max_slippage)
(reference = B for v1, the index for v0's price band):

    surplus of a fill at f (inverse long taken at B):  Q x (1/B - 1/f)       (E12: +0.003964 XBT)

The engine's balance is its running surplus: a positive balance is swept to the insurance fund
(`sys:insurance`); a negative one is the loss the waterfall must cover (`rules.loss_waterfall`):

* ("insurance_fund", "adl")  v1: the engine only takes fills the fund can pay for, the fund
  covers each deficit at once, and whatever the book and fund cannot absorb is auto-deleveraged:
  opposing traders, best rank first, are closed at the inventory's bankruptcy price.
      PNL%   = uPnL(mark) / value(entry)            (inverse: 1 - E/M for a long)
      EffLev = value(mark) / (collateral + uPnL(mark))
      rank   = PNL% x EffLev if PNL% > 0 else PNL% / EffLev; lights = rank quintile (5 = first)
* ("insurance_fund", "clawback")  v0: deficits accumulate as the week's margin-call loss; at the
  weekly settlement the fund covers what it can, and the rest is clawed back pro rata from every
  account with a net weekly profit (MECHANICS 1.4, E5):
      shortfall = max(0, loss - fund); rate = min(cap, shortfall / sum of net profits)
      clawback_i = rate x profit_i  (units allocated by largest remainder, so they sum exactly)
  A loss beyond 100% of the profits is written off against the exchange (`sys:fees`).

The fund never goes negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import JournalEntry, Line, transfer
from exchange_edu.engine.margin import collateral, unrealized_pnl
from exchange_edu.engine.numbers import ONE, ZERO, Rounding, from_units, quantize, to_units, unit
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import SYS_FEES, SYS_INSURANCE, SYS_LIQUIDATION, Position, evolve, is_system

# -- ADL ranking ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdlRank:
    account_id: str
    size: Decimal
    pnl_pct: Decimal
    effective_leverage: Decimal
    rank: Decimal


def adl_rank(view: Any, position: Position) -> AdlRank:
    """BitMEX rank: PNL% x EffLev (PNL% > 0) or PNL% / EffLev (PNL% <= 0)."""
    market = view.market(position.market_id)
    mark = view.market_state(position.market_id).mark_price
    upnl = unrealized_pnl(market, position, mark)
    pnl_pct = upnl / market.value(position.size, position.entry_price)
    equity = collateral(view, position) + upnl
    value_mark = market.value(position.size, mark)
    eff_lev = value_mark / equity if equity > 0 else Decimal("1e9")
    rank = pnl_pct * eff_lev if pnl_pct > 0 else pnl_pct / eff_lev
    return AdlRank(position.account_id, position.size, pnl_pct, eff_lev, rank)


def adl_queue(view: Any, market_id: str, *, longs: bool, ranking: str = "pnl_leverage") -> list[AdlRank]:
    """Traders on one side, highest rank first (ties: larger position, then account id).

    ranking "largest_position" (v2 FTX: the largest opposing positions first) sorts by size only."""
    ranks = [adl_rank(view, p) for p in view.positions_in(market_id)
             if not is_system(p.account_id) and p.size and (p.size > 0) == longs]
    if ranking == "largest_position":
        ranks.sort(key=lambda r: (-abs(r.size), r.account_id))
    elif ranking == "random":  # dYdX v4: opposite accounts starting from a random one (seeded by time)
        import random

        ranks.sort(key=lambda r: r.account_id)
        random.Random(f"adl:{market_id}:{getattr(view, 'now', 0)}").shuffle(ranks)
    else:
        ranks.sort(key=lambda r: (-r.rank, -abs(r.size), r.account_id))
    return ranks


def adl_lights(view: Any, market_id: str) -> dict[str, int]:
    """Quintile indicator per account: 5 lights = top 20% of its side's ADL queue, 1 = bottom."""
    out: dict[str, int] = {}
    for longs in (True, False):
        queue = adl_queue(view, market_id, longs=longs)
        n = len(queue)
        for i, r in enumerate(queue):
            out[r.account_id] = 5 - (5 * i) // n
    return out


def pro_rata(sizes: list[tuple[str, Decimal]], quantity: Decimal) -> dict[str, Decimal]:
    """Split `quantity` whole contracts over positions pro rata to |size| (each at most its size):
    floors first, the leftover contracts by largest remainder (ties: larger size, then id).
    30 / 20 / 10 absorbing 12 -> 6 / 4 / 2."""
    total = sum((abs(q) for _, q in sizes), ZERO)
    if total <= 0 or quantity <= 0:
        return {}
    quantity = min(quantity, total)
    raw = {a: quantity * abs(q) / total for a, q in sizes}
    out = {a: min(abs(q), raw[a].to_integral_value(rounding="ROUND_FLOOR")) for a, q in sizes}
    left = quantity - sum(out.values(), ZERO)
    order = sorted(sizes, key=lambda aq: (-(raw[aq[0]] - out[aq[0]]), -abs(aq[1]), aq[0]))
    while left > 0:
        moved = False
        for a, q in order:
            step = min(ONE, left, abs(q) - out[a])
            if step > 0:
                out[a] += step
                left -= step
                moved = True
            if left <= 0:
                break
        if not moved:
            break
    return {a: v for a, v in out.items() if v}


def _opposing_fills(queue: list[AdlRank], quantity: Decimal, ranking: str, group: int) -> list[tuple[AdlRank, Decimal]]:
    """(position, contracts) to close: one by one in rank order, or ("largest_position", v2 FTX's
    last resort) the largest opposing positions `group` at a time, pro rata to size within a group."""
    fills = []
    remaining = quantity
    if ranking != "largest_position":
        for r in queue:
            if remaining <= 0:
                break
            q = min(remaining, abs(r.size))
            fills.append((r, q))
            remaining -= q
        return fills
    for i in range(0, len(queue), group):
        if remaining <= 0:
            break
        members = queue[i:i + group]
        split = pro_rata([(r.account_id, r.size) for r in members], remaining)
        fills.extend((r, split[r.account_id]) for r in members if r.account_id in split)
        remaining -= sum(split.values(), ZERO)
    return fills


def auto_deleverage(work: Any, rules: RuleSet, market_id: str, quantity: Decimal) -> Decimal:
    """Close `quantity` of the engine's inventory against opposing traders at its bankruptcy price
    (the inventory's entry): top-ranked first, or pro rata over the largest ones (v2). Returns the
    quantity closed."""
    from exchange_edu.engine.trading import cancel_account_orders, trade

    inv = work.position(SYS_LIQUIDATION, market_id)
    if inv is None or not inv.size or quantity <= 0:
        return ZERO
    market = work.market(market_id)
    price = inv.entry_price
    remaining = min(quantity, abs(inv.size))
    done = ZERO
    ranking = rules.liquidation.adl_ranking
    queue = adl_queue(work, market_id, longs=inv.size < 0, ranking=ranking)
    formula = ("closed at the bankrupt position's price against the largest opposing positions "
               f"({rules.liquidation.tiers.opposing_group} at a time), pro rata to size"
               if ranking == "largest_position" else
               "closed at the bankrupt position's price, highest PNL% x effective leverage first")
    for r, q in _opposing_fills(queue, remaining, ranking, rules.liquidation.tiers.opposing_group):
        opp_sign = 1 if r.size > 0 else -1
        cancel_account_orders(work, r.account_id, market_id, reason="auto-deleveraged")
        trade(work, rules, market, r.account_id, -opp_sign * q, price, fee_is_maker=None, kind="adl")
        trade(work, rules, market, SYS_LIQUIDATION, opp_sign * q, price, fee_is_maker=None, kind="adl")
        work.emit(EventKind.ADL, market=market_id, account=r.account_id,
                  numbers={"contracts": -opp_sign * q, "price": price},
                  inputs={"pnl_pct": r.pnl_pct, "effective_leverage": r.effective_leverage, "rank": r.rank,
                          "position": r.size, "ranking": ranking},
                  formula=formula)
        done += q
    return done


# -- working the inventory ------------------------------------------------------------------


def _budget_qty(work: Any, market: Any, inv: Position, budget: Decimal, limit: Decimal) -> tuple[Decimal, bool]:
    """Largest quantity the engine may sell/buy into the book with loss <= budget.

    Returns (quantity, limited_by_budget). Walks the book's levels up to the protection price."""
    book = work.book(market.market_id)
    if book is None or not len(book):  # nothing to sell into (the walk below would take nothing)
        return ZERO, False
    bids, asks = book.depth(200)
    levels = bids if inv.size > 0 else asks
    side = 1 if inv.size > 0 else -1
    qty = ZERO
    left = abs(inv.size)
    loss_so_far = ZERO
    for price, level_qty in levels:
        if (side > 0 and price < limit) or (side < 0 and price > limit):
            break
        take = min(level_qty, left - qty)
        per_contract = market.pnl(Decimal(side), inv.entry_price, price)  # negative = loss
        if per_contract < 0 and loss_so_far - per_contract * take > budget:
            affordable = ((budget - loss_so_far) / -per_contract).to_integral_value(rounding="ROUND_FLOOR")
            return qty + max(affordable, ZERO), True
        if per_contract < 0:
            loss_so_far -= per_contract * take
        qty += take
        if qty >= left:
            break
    return qty, False


def work_inventory(work: Any, rules: RuleSet, market_id: str) -> None:
    """Send the engine's inventory to the book, sweep surplus, cover deficits, ADL if needed."""
    from exchange_edu.engine.trading import submit_order

    if "backstop" in rules.loss_waterfall:  # v2+: the backstop provider takes it at the mark first
        from exchange_edu.engine.backstop import backstop_inventory

        backstop_inventory(work, rules, market_id)
    inv = work.position(SYS_LIQUIDATION, market_id)
    market = work.market(market_id)
    asset = market.settlement_asset
    if inv is not None and inv.size:
        slip = rules.liquidation.max_slippage
        ref = inv.entry_price if rules.liquidation.band_reference == "bankruptcy" \
            else work.market_state(market_id).index_price
        limit = ref * (1 - slip) if inv.size > 0 else ref * (1 + slip)
        uses_adl = "adl" in rules.loss_waterfall
        qty, limited = abs(inv.size), False
        if uses_adl:
            budget = work.account(SYS_INSURANCE).balance(asset) + work.account(SYS_LIQUIDATION).balance(asset)
            qty, limited = _budget_qty(work, market, inv, max(budget, ZERO), limit)
        if qty > 0:
            order = Order(0, SYS_LIQUIDATION, market_id, Side.SELL if inv.size > 0 else Side.BUY,
                          OrderType.MARKET, qty, limit, TimeInForce.IOC, is_liquidation=True)
            submit_order(work, rules, order)
        _sweep(work, rules, market_id)
        inv = work.position(SYS_LIQUIDATION, market_id)
        if uses_adl and inv is not None and inv.size:
            mark = work.market_state(market_id).mark_price
            beyond = mark <= inv.entry_price if inv.size > 0 else mark >= inv.entry_price
            loss_at_mark = -unrealized_pnl(market, inv, mark)
            fund = work.account(SYS_INSURANCE).balance(asset)
            if limited or (beyond and loss_at_mark > fund):
                auto_deleverage(work, rules, market_id, abs(inv.size))
    _sweep(work, rules, market_id)


def _sweep(work: Any, rules: RuleSet, market_id: str) -> None:
    """Engine surplus -> fund; with an immediate waterfall (ADL) the fund covers deficits now."""
    asset = work.market(market_id).settlement_asset
    bal = work.account(SYS_LIQUIDATION).balance(asset)
    if bal > 0:
        work.post(transfer("insurance_surplus", asset, bal, from_account=SYS_LIQUIDATION,
                           to_account=SYS_INSURANCE, market=market_id))
        work.emit(EventKind.INSURANCE_FUND, market=market_id, numbers={"change": bal},
                  inputs={"engine_surplus": bal}, formula="fund += liquidation surplus (fills better than B)")
    elif bal < 0 and "adl" in rules.loss_waterfall:
        cover = min(-bal, work.account(SYS_INSURANCE).balance(asset))
        if cover > 0:
            work.post(transfer("insurance_payout", asset, cover, from_account=SYS_INSURANCE,
                               to_account=SYS_LIQUIDATION, market=market_id))
            work.emit(EventKind.INSURANCE_FUND, market=market_id, numbers={"change": -cover},
                      inputs={"engine_deficit": -bal}, formula="fund pays fills worse than B")


# -- v0 clawback ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClawbackPlan:
    loss: Decimal
    fund_before: Decimal
    covered: Decimal
    shortfall: Decimal
    profit_pool: Decimal
    rate: Decimal
    amounts: dict[str, Decimal]
    written_off: Decimal


def plan_clawback(loss: Decimal, fund: Decimal, profits: dict[str, Decimal], asset: str,
                  rate_cap: Decimal = Decimal(1)) -> ClawbackPlan:
    """E5: loss 150, fund 17, profits 1,330 -> rate 10%, +5 BTC pays 0.5 BTC, fund -> 0.

    Amounts are whole units; the shortfall (or the whole pool at the cap) is split by the largest
    remainder method, so sum(amounts) == min(shortfall, rate_cap x pool) exactly.
    """
    covered = min(fund, loss)
    shortfall = loss - covered
    winners = {a: p for a, p in profits.items() if p > 0}
    pool = sum(winners.values(), ZERO)
    if shortfall <= 0 or pool <= 0:
        return ClawbackPlan(loss, fund, covered, shortfall, pool, ZERO, {}, shortfall)
    rate = min(rate_cap, shortfall / pool)
    # uncapped: exactly the shortfall (rate x pool can fall a hair short after the division)
    target = quantize(shortfall if shortfall <= rate_cap * pool else rate_cap * pool, asset, Rounding.DOWN)
    target_units = to_units(target, asset)
    raw = {a: rate * p / unit(asset) for a, p in sorted(winners.items())}
    floors = {a: int(v) for a, v in raw.items()}
    # never ask more than an account's profit: floors are <= profit units already
    left = target_units - sum(floors.values())
    order = sorted(raw, key=lambda a: (-(raw[a] - floors[a]), a))
    for a in order[:max(left, 0)]:
        floors[a] += 1
    amounts = {a: from_units(u, asset) for a, u in floors.items() if u}
    return ClawbackPlan(loss, fund, covered, shortfall, pool, rate, amounts, shortfall - target)


def settle_losses_with_clawback(work: Any, rules: RuleSet, asset: str) -> ClawbackPlan | None:
    """Weekly: fund covers the engine's loss, winners pay the rest pro rata, the rest is written off."""
    bal = work.account(SYS_LIQUIDATION).balance(asset)
    loss = -bal if bal < 0 else ZERO
    profits = {}
    for account_id in sorted({*work.base.accounts, *work.accounts}):
        if is_system(account_id):
            continue
        p = work.account(account_id).period_pnl.get(asset, ZERO)
        if p > 0:
            profits[account_id] = p
    fund = work.account(SYS_INSURANCE).balance(asset)
    plan = plan_clawback(loss, fund, profits, asset, rules.settlement.clawback_rate_cap)
    if loss <= 0:
        return plan
    if plan.covered:
        work.post(transfer("insurance_payout", asset, plan.covered, from_account=SYS_INSURANCE,
                           to_account=SYS_LIQUIDATION))
    if plan.amounts:
        lines = [Line(a, asset, -amt) for a, amt in plan.amounts.items()]
        total = sum(plan.amounts.values(), ZERO)
        work.post(JournalEntry("clawback", (*lines, Line(SYS_LIQUIDATION, asset, total))))
        for a, amt in plan.amounts.items():
            work.emit(EventKind.CLAWBACK, account=a, numbers={"clawback": amt},
                      inputs={"weekly_profit": profits[a], "rate": plan.rate, "shortfall": plan.shortfall,
                              "profit_pool": plan.profit_pool},
                      formula="clawback = (margin-call loss - insurance fund) / sum(net weekly profits) x your profit")
    if plan.written_off > 0:
        work.post(transfer("loss_written_off", asset, plan.written_off, from_account=SYS_FEES,
                           to_account=SYS_LIQUIDATION))
        work.emit(EventKind.LOSS_WRITTEN_OFF, numbers={"written_off": plan.written_off},
                  formula="loss beyond 100% of winners' profits is absorbed by the exchange")
    work.emit(EventKind.SETTLEMENT, numbers={"margin_call_loss": loss, "fund_covered": plan.covered,
                                             "shortfall": plan.shortfall, "clawback_rate": plan.rate},
              inputs={"fund_before": fund, "profit_pool": plan.profit_pool},
              formula="shortfall = max(0, loss - fund); rate = shortfall / sum(net profits)")
    return plan


def reset_period_pnl(work: Any, asset: str) -> None:
    for account_id in sorted({*work.base.accounts, *work.accounts}):
        acct = work.account(account_id)
        if acct.period_pnl.get(asset):
            period = dict(acct.period_pnl)
            period[asset] = ZERO
            work.set_account(evolve(acct, period_pnl=period))
