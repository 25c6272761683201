"""Funding: the rate, the cumulative per-contract index, and lazy settlement.

Design note
-----------
Rate (MECHANICS 2.2; rules.funding.style = "premium_interest_clamp"):

    I = (interest_quote - interest_base) / intervals_per_day      (E7: (0.06% - 0.03%) / 3 = 0.01%)
    F = P + clamp(I - P, -clamp, +clamp), then |F| <= cap         (cap default 75% x (IM - MM) = 0.375%)
    P = TWAP of the premium samples of the previous interval (sampled every `sample_seconds`)

The rate paid at funding time t_k was fixed at t_(k-1) ("one interval ahead"): at t_k the engine
pays `funding_rate_next`, then computes the next rate from the interval's samples.
("twap_premium" for v2: F = TWAP(premium) / premium_divisor, no interest term.)

Payment as an index (dYdX style). At each funding time the market's cumulative index grows by
what ONE LONG CONTRACT pays, in the settlement asset:

    inverse: dI = F x contract_size / mark        (E8: 0.01% x 10,000 contracts / 10,000 = 0.0001 XBT)
    linear : dI = F x contract_size x mark

A position owes `size x (I_now - I_snapshot)` (shorts have negative size, so they receive), and
settles lazily when it is touched: a fill, a liquidation check that liquidates, delivery, ADL or
an explicit `settle_funding`. Every equity figure includes the pending amount (see `margin`), so
nobody's risk is misstated between settlements; because funding changes every position's
collateral at once, the liquidation index is re-keyed at each funding time.

Zero-sum: long and short open interest are equal and both use the same dI, so the exact amounts
sum to zero. Ledger lines go through the funding clearing account `sys:funding`; each trader's
line is floored (`TRADER_CREDIT`), so rounding leaves non-negative dust in `sys:funding` and never
creates money. `sweep_funding_dust` moves the dust to the exchange when nothing is pending.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.ledger import settle, transfer
from exchange_edu.engine.margin import pending_funding
from exchange_edu.engine.numbers import ZERO, Rounding, clamp
from exchange_edu.engine.pricing import funding_basis, impact_prices, premium_index
from exchange_edu.engine.rules import FundingRules, RuleSet, funding_cap
from exchange_edu.engine.types import SYS_FEES, SYS_FUNDING, MarginMode, Market, Position, evolve


def interest_component(quote_rate_per_day: Decimal, base_rate_per_day: Decimal,
                       intervals_per_day: int) -> Decimal:
    """I = (quote rate - base rate) / intervals per day."""
    return (quote_rate_per_day - base_rate_per_day) / intervals_per_day


def calculate_funding_rate(premium: Decimal, interest: Decimal, clamp_width: Decimal,
                           cap: Decimal) -> Decimal:
    """F = clamp(P + clamp(I - P, -c, +c), -cap, +cap)."""
    rate = premium + clamp(interest - premium, -clamp_width, clamp_width)
    return clamp(rate, -cap, cap)


def dydx_funding_rate(premium_mean: Decimal, default_rate: Decimal, imf: Decimal, mmf: Decimal,
                      clamp_factor: Decimal = Decimal(6)) -> tuple[Decimal, Decimal]:
    """dYdX v4 (rate per 8 h, its clamp): R = mean premium + default, |R| <= 6 x (IMF - MMF).

    E30: 0.02% + 0.01% = 0.03%; Large-cap clamp 6 x (2% - 1.2%) = 4.8%."""
    bound = clamp_factor * (imf - mmf)
    return clamp(premium_mean + default_rate, -bound, bound), bound


def hourly_payment(size_base: Decimal, price: Decimal, rate_8h: Decimal) -> Decimal:
    """One hour's payment of an 8-hour rate: size x price x F / 8 (E30: 10 x 60,000 x 0.03% / 8 = 22.50)."""
    return size_base * price * rate_8h / 8


def next_rate(rules: RuleSet, premium_twap: Decimal) -> Decimal:
    """The rate of the next interval, divided by `premium_divisor` (v2 24, v3 8) and capped.

    premium_interest_clamp: F = P + clamp(I - P, -c, +c);  twap_premium: F = P (no interest term);
    premium_plus_interest (dYdX v4): F = P + I;  skew (DeFi pool): set at payment from the skew.
    """
    f: FundingRules = rules.funding
    cap = funding_cap(rules)
    if f.style == "premium_interest_clamp":
        raw = calculate_funding_rate(premium_twap, f.interest_rate, f.clamp, Decimal("Infinity"))
    elif f.style == "twap_premium":
        raw = premium_twap
    elif f.style == "premium_plus_interest":
        raw = premium_twap + f.interest_rate
    else:
        return ZERO
    return clamp(raw / f.premium_divisor, -cap, cap)


def index_increment(market: Market, rate: Decimal, mark: Decimal) -> Decimal:
    """What one long contract pays at a funding time (settlement asset)."""
    if market.is_inverse:
        return rate * market.contract_size / mark
    return rate * market.contract_size * mark


def first_funding_time(epoch: datetime, now: int, rules: RuleSet) -> int | None:
    """First funding time strictly after `now` (sim seconds): UTC midnight + offset + k x interval."""
    f = rules.funding
    if f.style == "none":
        return None
    midnight = epoch.replace(hour=0, minute=0, second=0, microsecond=0)
    base = int((midnight - epoch).total_seconds()) + f.first_offset_seconds
    k = (now - base) // f.interval_seconds + 1
    return base + k * f.interval_seconds


def funding_time_as_datetime(epoch: datetime, t: int) -> datetime:
    return epoch + timedelta(seconds=t)


def settle_funding(work: Any, position: Position) -> Position:
    """Book the position's pending funding and move its snapshot to the current index.

    Ledger: trader credit = floor(-size x (I - snapshot)) against `sys:funding`. An isolated
    position's margin absorbs the posted amount (BitMEX: funding is taken from position margin).
    The new position is stored in `work` and returned.
    """
    ms = work.market_state(position.market_id)
    index = ms.index_for(position.size)
    if position.funding_snapshot == index:
        return position
    owed = pending_funding(position, index)
    market = work.market(position.market_id)
    entry = settle("funding", market.settlement_asset, [(position.account_id, -owed)], SYS_FUNDING,
                   market=market.market_id)
    posted = entry.amount_for(position.account_id) if entry is not None else ZERO
    work.post(entry)
    new_margin = position.isolated_margin
    if position.margin_mode is MarginMode.ISOLATED:
        new_margin += posted
    new = evolve(position, funding_snapshot=index, isolated_margin=new_margin)
    if owed:
        work.emit(EventKind.FUNDING_SETTLED, market=market.market_id, account=position.account_id,
                  numbers={"funding_paid": owed, "posted": -posted},
                  inputs={"contracts": position.size, "index_now": index,
                          "index_at_last_settlement": position.funding_snapshot},
                  formula="funding = contracts x (index_now - index_at_last_settlement)")
    work.set_position(position.key, new)
    return new


def maybe_sample_premium(work: Any, rules: RuleSet, market_id: str) -> None:
    """Record a premium sample if one is due (every `sample_seconds`)."""
    f = rules.funding
    ms = work.market_state(market_id)
    if f.style == "none" or ms.next_funding_time is None:
        return
    if ms.last_premium_sample is not None and work.now - ms.last_premium_sample < f.sample_seconds:
        return
    market = work.market(market_id)
    if f.premium_source == "mark":  # v2/v3: P = (mark - index) / index
        p = (ms.mark_price - ms.index_price) / ms.index_price
    elif f.premium_source == "impact_index":  # dYdX / Hyperliquid: impact bid / ask against the oracle
        bid, ask = impact_prices(work.book(market_id), rules, market)
        p = premium_index(bid, ask, ms.index_price, ms.index_price)
    else:
        bid, ask = impact_prices(work.book(market_id), rules, market)
        until = max(0, ms.next_funding_time - work.now)
        basis = funding_basis(ms.funding_rate_next, until, f.interval_seconds) \
            if rules.pricing.mark_method == "fair_price" else ZERO
        p = premium_index(bid, ask, ms.mark_price, ms.index_price, basis)
    work.set_market_state(evolve(ms, premium_sum=ms.premium_sum + p, premium_count=ms.premium_count + 1,
                                  last_premium_sample=work.now))


def maybe_pay_funding(work: Any, rules: RuleSet, market_id: str) -> bool:
    """At a due funding time: grow the index by the fixed rate, set the next rate, re-key.

    Returns True when funding was paid (the caller re-keys the liquidation index).
    """
    ms = work.market_state(market_id)
    if ms.next_funding_time is None or work.now < ms.next_funding_time:
        return False
    if rules.funding.style == "skew":  # DeFi pool: each side its own index, borrow fee to the LPs
        from exchange_edu.engine.pool import pay_skew_funding

        pay_skew_funding(work, rules, market_id)
        return True
    market = work.market(market_id)
    paid_rate = ms.funding_rate_next
    price = ms.index_price if rules.funding.payment_price == "index" else ms.mark_price
    increment = index_increment(market, paid_rate, price)
    twap = ms.premium_sum / ms.premium_count if ms.premium_count else ZERO
    new_rate = next_rate(rules, twap)
    interval = rules.funding.interval_seconds
    nxt = ms.next_funding_time
    while nxt <= work.now:
        nxt += interval
    work.set_market_state(evolve(ms, funding_index=ms.funding_index + increment, funding_rate_next=new_rate,
                                  next_funding_time=nxt, premium_sum=ZERO, premium_count=0))
    work.emit(EventKind.FUNDING_PAID, market=market_id,
              numbers={"index_increment": increment, "funding_index": ms.funding_index + increment,
                       "open_interest": ms.open_interest},
              inputs={"rate": paid_rate, "contract_size": market.contract_size, "mark": price},
              formula="index += rate x contract_size / mark (inverse) or x price (linear); longs pay if rate > 0")
    work.emit(EventKind.FUNDING_RATE_SET, market=market_id, numbers={"next_rate": new_rate},
              inputs={"premium_twap": twap, "samples": ms.premium_count, "interest": rules.funding.interest_rate,
                      "clamp": rules.funding.clamp, "cap": funding_cap(rules)},
              formula="F = clamp(P + clamp(I - P, -clamp, +clamp), -cap, +cap)")
    return True


def sweep_funding_dust(work: Any, asset: str) -> Decimal:
    """Move the rounding dust left in `sys:funding` to the exchange (`sys:fees`); returns it.

    dust = balance(sys:funding) + sum of pending funding of every position settled in `asset`
    (what sys:funding will still pay out or collect); floored traders' lines make it >= 0.
    A scan of the positions: call it at funding times (the caller re-keys then anyway).
    """
    pending = ZERO
    markets = [m for m in work.market_ids() if work.market(m).settlement_asset == asset]
    grouped = _positions_by_market(work, markets)
    for m in markets:
        ms = work.market_state(m)
        for p in grouped[m]:
            pending += pending_funding(p, ms.index_for(p.size))
    dust = work.account(SYS_FUNDING).balance(asset) + pending
    entry = transfer("funding_dust", asset, dust, from_account=SYS_FUNDING, to_account=SYS_FEES,
                     rounding=Rounding.DOWN) if dust > 0 else None
    if entry is None:
        return ZERO
    work.post(entry)
    swept = entry.amount_for(SYS_FEES)
    work.emit(EventKind.FUNDING_DUST_SWEPT, numbers={"swept": swept},
              inputs={"funding_clearing_balance": work.account(SYS_FUNDING).balance(asset) + swept,
                      "pending": pending},
              formula="dust = sys:funding balance + pending funding of all positions, floored to units")
    return swept


def _positions_by_market(view: Any, markets: list[str]) -> dict[str, list[Position]]:
    """`view.positions_in(m)` for several markets in one scan of the state (same order: by account)."""
    base = getattr(view, "base", None)
    if base is None:
        return {m: view.positions_in(m) for m in markets}
    out: dict[str, dict[Any, Position]] = {m: {} for m in markets}
    for k, p in base.positions.items():
        group = out.get(k[1])
        if group is not None:
            group[k] = p
    for k, p in view.positions.items():
        group = out.get(k[1])
        if group is not None:
            if p is None:
                group.pop(k, None)
            else:
                group[k] = p
    return {m: sorted(g.values(), key=lambda p: p.account_id) for m, g in out.items()}
