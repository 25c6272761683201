"""MOVE contracts (v2 option, FTX; MECHANICS 3.8, E20): futures on the absolute move of an index.

Design note
-----------
With `contract.move_contracts` on, each underlying lists a MOVE per period of `rules.move.periods`
(daily `BTC-MOVE-MMDD` 00:00-24:00 UTC, weekly `BTC-MOVE-WK-MMDD` from 00:00 UTC on the settlement
weekday), one period ahead, so tomorrow's daily trades today. A MOVE is an ordinary linear USD
future (`Market.is_move`, expiry kind `move_daily` / `move_weekly`): positions, fees, unified
margin (notional = size x contract_size x mark) and liquidation are the same as for any future
(the sqrt-size IMF term counts contracts x contract_size as "coins" with the underlying's factor:
stricter than for the coin itself, which suits a price that can double in a day). Only its price
differs:

    settlement price = | TWAP_index(last hour) - TWAP_index(first hour) |       E20: |9,650 - 9,400| = 250

* The hours are `settlement.delivery_window_seconds` sampled every `delivery_sample_seconds` by
  `expiry.maybe_sample_delivery` (the dated futures' mechanics) into the delivery samples: the
  first hour's, then, once that hour is over, their mean is fixed as `MarketState.move_strike` and
  the samples restart for the last hour. A tick that jumps over an hour without sampling uses the
  index at that tick (the same fallback as a delivery without samples).
* The MOVE's index is its fair value (`fair_value`, formula in `subrules.MoveRules`), refreshed every
  tick; its mark follows the preset's mark method (v2: median(bid, ask, last), else that index).
* At expiry the market is delivered at the settlement price like a dated future (`settle_market`:
  every position closed, PnL against `sys:clearing`), with a DELIVERY event whose inputs are the
  start and end TWAP. The next period is listed in the same stage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.expiry import maybe_sample_delivery, settle_market
from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.pricing import delivery_price
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import ContractKind, ExpiryKind, Market, MarketState, MarketStatus, evolve

DAY = 86400
PERIOD_SECONDS = {ExpiryKind.MOVE_DAILY: DAY, ExpiryKind.MOVE_WEEKLY: 7 * DAY}
KIND_OF = {"daily": ExpiryKind.MOVE_DAILY, "weekly": ExpiryKind.MOVE_WEEKLY}
PI = Decimal("3.141592653589793238462643383279502884197")
FORMULA = "MOVE settles to |TWAP of the index over the last hour - TWAP over the first hour|"


def move_settlement_price(start_twap: Decimal, end_twap: Decimal) -> Decimal:
    """|end TWAP - start TWAP| in USD (E20: 9,400 -> 9,650 settles 250; 9,400 -> 9,300 settles 100)."""
    return abs(end_twap - start_twap)


def period_start(market: Market) -> int:
    assert market.expiry_time is not None
    return market.expiry_time - PERIOD_SECONDS[market.expiry_kind]


def expected_move(spot: Decimal, annual_vol: Decimal, seconds: int, seconds_per_year: Decimal) -> Decimal:
    """E|dS| of a normal move over `seconds`: S x vol x sqrt(t / year) x sqrt(2 / pi).

    Daily at 20,000 and 80%: 16,000 x 0.052342 x 0.797885 = 668.21."""
    if seconds <= 0:
        return ZERO
    return spot * annual_vol * (Decimal(seconds) / seconds_per_year).sqrt() * (2 / PI).sqrt()


def fair_value(rules: RuleSet, market: Market, ms: MarketState | None, spot: Decimal,
               now: int) -> tuple[Decimal, dict[str, Any]]:
    """(fair value, inputs): sqrt(|X - K|^2 + time value^2), see `subrules.MoveRules`."""
    assert market.expiry_time is not None
    start, expiry = period_start(market), market.expiry_time
    tau = min(expiry - start, max(0, expiry - now))
    strike = reference = spot
    if ms is not None and now >= start:
        if ms.move_strike is None:  # the first hour: its running mean
            strike = delivery_price(ms.delivery_sum, ms.delivery_count, spot)
        else:
            strike = ms.move_strike
            if ms.delivery_count:  # the last hour: the samples so far and the spot for the rest
                left = (Decimal(max(0, expiry - now)) / rules.settlement.delivery_sample_seconds
                        ).to_integral_value(rounding=ROUND_CEILING)
                reference = (ms.delivery_sum + spot * left) / (ms.delivery_count + left)
    intrinsic = abs(reference - strike)
    time_value = expected_move(spot, rules.move.annual_vol, tau, rules.move.seconds_per_year)
    # at least one tick: margin and the account index divide by marks (a flat MOVE nears 0 at expiry)
    value = max((intrinsic * intrinsic + time_value * time_value).sqrt(), market.tick_size)
    return value, {"spot": spot, "strike": strike, "reference": reference, "intrinsic": intrinsic,
                   "time_value": time_value, "seconds_left": tau}


def _starts(rules: RuleSet, epoch: datetime, now: int, kind: ExpiryKind) -> list[int]:
    """Starts of the periods to list at `now`: those beginning in [now, now + one period]."""
    length = PERIOD_SECONDS[kind]
    at = epoch + timedelta(seconds=now)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind is ExpiryKind.MOVE_WEEKLY:
        day += timedelta(days=(rules.settlement.settlement_weekday - day.weekday()) % 7)
    first = int((day - epoch).total_seconds())
    while first < now:
        first += length
    return [s for s in (first, first + length) if s <= now + length]


def _market_id(u: str, kind: ExpiryKind, start_date: datetime, full: bool) -> str:
    date = f"{start_date:%Y%m%d}" if full else f"{start_date:%m%d}"
    return f"{u}-MOVE-{date}" if kind is ExpiryKind.MOVE_DAILY else f"{u}-MOVE-WK-{date}"


def move_listings(rules: RuleSet, epoch: datetime, now: int,
                  lookup: Callable[[str], Market | None] = lambda _market_id: None) -> list[Market]:
    """MOVE markets to list at `now` (per underlying and period) that `lookup` does not know yet."""
    c = rules.contract
    out = []
    for u in c.all_underlyings():
        for period in rules.move.periods:
            kind = KIND_OF[period]
            for start in _starts(rules, epoch, now, kind):
                expiry = start + PERIOD_SECONDS[kind]
                date = epoch + timedelta(seconds=start)
                market_id = _market_id(u, kind, date, full=False)
                old = lookup(market_id)
                if old is not None and old.expiry_time != expiry:  # MMDD a year ago: use the year too
                    market_id = _market_id(u, kind, date, full=True)
                    old = lookup(market_id)
                if old is None:
                    out.append(Market(market_id, u, ContractKind.LINEAR, rules.move.contract_size,
                                      c.settlement_asset, c.quote_asset, rules.move.tick_size, kind, expiry, now))
    return out


def underlying_spot(view: Any, underlying: str, prices: dict[str, Decimal] | None = None) -> Decimal | None:
    """The coin's index: this tick's, else the index of a (non-MOVE) market on it."""
    if prices and underlying in prices:
        return prices[underlying]
    for m in view.market_ids():
        market = view.market(m)
        if market.underlying == underlying and not market.is_move:
            return view.market_state(m).index_price
    return None


def open_moves(work: Any) -> list[str]:
    return [m for m in work.market_ids() if work.market(m).is_move
            and work.market_state(m).status is MarketStatus.OPEN]


def update_moves(work: Any, rules: RuleSet, prices: dict[str, Decimal]) -> None:
    """Stage 1 for MOVEs: first-hour samples -> strike, last-hour samples, index = fair value."""
    window = rules.settlement.delivery_window_seconds
    for m in open_moves(work):
        market = work.market(m)
        spot = underlying_spot(work, market.underlying, prices)
        if spot is None:
            continue
        start = period_start(market)
        ms = work.market_state(m)
        if ms.move_strike is None and work.now >= start + window:
            fix_strike(work, m, spot)
        if work.market_state(m).move_strike is None:
            maybe_sample_delivery(work, rules, m, start + window, price=spot)
        else:
            assert market.expiry_time is not None
            maybe_sample_delivery(work, rules, m, market.expiry_time, price=spot)
        ms = work.market_state(m)
        value, _ = fair_value(rules, market, ms, spot, work.now)
        work.set_market_state(evolve(ms, index_price=value))


def fix_strike(work: Any, market_id: str, spot: Decimal) -> Decimal:
    """The first hour is over: strike = mean of its samples (the spot without any); samples restart."""
    ms = work.market_state(market_id)
    strike = delivery_price(ms.delivery_sum, ms.delivery_count, spot)
    work.set_market_state(evolve(ms, move_strike=strike, delivery_sum=ZERO, delivery_count=0,
                                  last_delivery_sample=None))
    work.emit(EventKind.MOVE_STRIKE, market=market_id, numbers={"strike": strike},
              inputs={"samples": ms.delivery_count, "index": spot},
              formula="start TWAP = mean of the index samples over the period's first hour")
    return strike


def settle_moves(work: Any, rules: RuleSet, prices: dict[str, Decimal]) -> list[Decimal]:
    """Stage 9 for MOVEs: deliver every expired MOVE at |end TWAP - start TWAP|."""
    out = []
    for m in open_moves(work):
        market = work.market(m)
        assert market.expiry_time is not None
        if work.now < market.expiry_time:
            continue
        spot = underlying_spot(work, market.underlying, prices)
        ms = work.market_state(m)
        if spot is None:
            spot = ms.move_strike if ms.move_strike is not None else ZERO
        if ms.move_strike is None:  # never got past the first hour: strike from what it sampled
            start, end, samples = delivery_price(ms.delivery_sum, ms.delivery_count, spot), spot, 0
        else:
            start, samples = ms.move_strike, ms.delivery_count
            end = delivery_price(ms.delivery_sum, samples, spot)
        price = move_settlement_price(start, end)
        out.append(settle_market(work, rules, m, deliver=True, price=price, formula=FORMULA,
                                 inputs={"start_twap": start, "end_twap": end, "end_samples": samples,
                                         "underlying": market.underlying}))
    return out


def list_moves(work: Any, rules: RuleSet, epoch: datetime, prices: dict[str, Decimal] | None = None) -> None:
    """List the MOVEs due (next period per underlying), each at its fair value."""
    def known(market_id: str) -> Market | None:
        return work.market(market_id) if market_id in work.new_markets or market_id in work.base.markets else None

    for market in move_listings(rules, epoch, work.now, known):
        spot = underlying_spot(work, market.underlying, prices)
        if spot is None:
            continue
        value, _ = fair_value(rules, market, None, spot, work.now)
        work.new_markets[market.market_id] = market
        work.set_market_state(MarketState(market.market_id, value, value))
        work.emit(EventKind.MARKET_LISTED, market=market.market_id,
                  inputs={"expiry_kind": market.expiry_kind.value, "expiry_time": market.expiry_time,
                          "period_start": period_start(market)})
