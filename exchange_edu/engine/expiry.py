"""Expiry: dated-contract calendars, last-hour delivery samples, weekly settlement, delivery and
roll-over (v0, MECHANICS 1.1, 1.5b, 1.5c).

Design note
-----------
* Settlement times are every `settlement_weekday` at `settlement_hour_utc` (Friday 08:00 UTC).
  Weekly contracts expire at the next one, bi-weekly at the one after, quarterly on the last
  Friday of the quarter.
* In the `delivery_window_seconds` before a settlement time every dated market records index
  samples (one per `delivery_sample_seconds`); the delivery / settlement price is their mean (E4).
* At a settlement time: expiring markets deliver (every position, the engine's inventory included,
  is closed at the delivery price, PnL realized); the others settle (unrealized PnL realized at
  that price and the entry reset to it: profits become free balance, losses come out of the
  isolated margin); then the weekly clawback runs (insurance, see `insurance`); then the calendar
  rolls: bi-weekly -> weekly, a quarterly with two weeks or less -> bi-weekly, new contracts listed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.funding import settle_funding
from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.pricing import delivery_price
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import ExpiryKind, MarginMode, Market, MarketState, MarketStatus, evolve

WEEK = 7 * 86400


def next_settlement_time(epoch: datetime, after: int, rules: RuleSet) -> int:
    """First settlement time strictly after `after` (sim seconds)."""
    s = rules.settlement
    at = epoch + timedelta(seconds=after)
    day = at.replace(hour=s.settlement_hour_utc, minute=0, second=0, microsecond=0)
    day += timedelta(days=(s.settlement_weekday - day.weekday()) % 7)
    if day <= at:
        day += timedelta(days=7)
    return int((day - epoch).total_seconds())


def quarterly_expiry(epoch: datetime, after: int, rules: RuleSet) -> int:
    """Last settlement weekday of the quarter, at least two weeks after `after`."""
    t = next_settlement_time(epoch, after, rules)
    while True:
        d = epoch + timedelta(seconds=t)
        nxt = d + timedelta(days=7)
        is_last = d.month in (3, 6, 9, 12) and nxt.month != d.month
        if is_last and t - after > 2 * WEEK:
            return t
        t += WEEK


def dated_market(rules: RuleSet, epoch: datetime, kind: ExpiryKind, expiry: int, listed_at: int,
                 underlying: str | None = None) -> Market:
    c = rules.contract
    u = underlying or c.underlying
    d = epoch + timedelta(seconds=expiry)
    return Market(f"{u}{d:%y%m%d}", u, c.kind, c.size_of(u), c.settlement_asset,
                  c.quote_asset, c.tick_size, kind, expiry, listed_at)


def initial_markets(rules: RuleSet, epoch: datetime, now: int = 0) -> list[Market]:
    """The listing at `now`, per underlying: a perpetual and / or weekly / bi-weekly / quarterly."""
    out = []
    for u in rules.contract.all_underlyings():
        out.extend(_initial_markets(rules, epoch, now, u))
    if rules.contract.move_contracts:
        from exchange_edu.engine.move import move_listings

        out.extend(move_listings(rules, epoch, now))
    return out


def _initial_markets(rules: RuleSet, epoch: datetime, now: int, u: str) -> list[Market]:
    c = rules.contract
    out = []
    if ExpiryKind.PERPETUAL in c.expiries:
        out.append(Market(f"{u}USD" if c.kind.value == "inverse" else f"{u}-PERP",
                          u, c.kind, c.size_of(u), c.settlement_asset, c.quote_asset, c.tick_size))
    first = next_settlement_time(epoch, now, rules)
    if ExpiryKind.WEEKLY in c.expiries:
        out.append(dated_market(rules, epoch, ExpiryKind.WEEKLY, first, now, u))
    if ExpiryKind.BIWEEKLY in c.expiries:
        out.append(dated_market(rules, epoch, ExpiryKind.BIWEEKLY, first + WEEK, now, u))
    if ExpiryKind.QUARTERLY in c.expiries:
        q = quarterly_expiry(epoch, now, rules)
        if all(m.expiry_time != q for m in out):
            out.append(dated_market(rules, epoch, ExpiryKind.QUARTERLY, q, now, u))
    return out


def maybe_sample_delivery(work: Any, rules: RuleSet, market_id: str, settle_at: int,
                          price: Decimal | None = None) -> bool:
    """Record an index sample if inside the window before `settle_at` and one is due.

    `price` is the value sampled (default the market's index; a MOVE samples its coin's index).
    Returns True when a sample was recorded."""
    s = rules.settlement
    ms = work.market_state(market_id)
    if not (settle_at - s.delivery_window_seconds <= work.now < settle_at):
        return False
    if ms.last_delivery_sample is not None and work.now - ms.last_delivery_sample < s.delivery_sample_seconds:
        return False
    sample = ms.index_price if price is None else price
    work.set_market_state(evolve(ms, delivery_sum=ms.delivery_sum + sample,
                                  delivery_count=ms.delivery_count + 1, last_delivery_sample=work.now))
    return True


def settle_market(work: Any, rules: RuleSet, market_id: str, *, deliver: bool, price: Decimal | None = None,
                  inputs: dict[str, Any] | None = None, formula: str | None = None) -> Decimal:
    """Deliver (close everything) or settle (realize uPnL, reset entry) at the window mean, or at
    `price` when given (a MOVE: |end TWAP - start TWAP|, explained by `inputs` and `formula`)."""
    from exchange_edu.engine.trading import cancel_account_orders, trade

    market = work.market(market_id)
    ms = work.market_state(market_id)
    if price is None:
        price = delivery_price(ms.delivery_sum, ms.delivery_count, ms.index_price)
    for pos in work.positions_in(market_id):
        pos = settle_funding(work, pos)
        if not pos.size:
            continue
        if deliver:
            cancel_account_orders(work, pos.account_id, market_id, reason="contract delivered")
            trade(work, rules, market, pos.account_id, -pos.size, price, fee_is_maker=None, kind="delivery")
            continue
        # weekly settlement: realize at `price` and re-open at `price`, keeping margin rules
        margin = pos.isolated_margin
        before = work.account(pos.account_id).balance(market.settlement_asset)
        trade(work, rules, market, pos.account_id, -pos.size, price, fee_is_maker=None, kind="settlement")
        realized = work.account(pos.account_id).balance(market.settlement_asset) - before
        new_margin = margin + min(realized, ZERO) if pos.margin_mode is MarginMode.ISOLATED else ZERO
        fresh = evolve(pos, entry_price=price, isolated_margin=max(new_margin, ZERO),
                        funding_snapshot=ms.funding_index)
        work.set_position(pos.key, fresh)
    ms = work.market_state(market_id)
    work.set_market_state(evolve(ms, delivery_sum=ZERO, delivery_count=0, last_delivery_sample=None,
                                  delivery_price=price,
                                  status=MarketStatus.EXPIRED if deliver else ms.status))
    work.emit(EventKind.DELIVERY if deliver else EventKind.SETTLEMENT, market=market_id,
              numbers={"price": price},
              inputs=inputs if inputs is not None else {"samples": ms.delivery_count, "index": ms.index_price},
              formula=formula or "delivery price = mean of the index samples over the last hour")
    work.rekey_markets.add(market_id)
    return price


def roll_calendar(work: Any, rules: RuleSet, epoch: datetime) -> None:
    """After a delivery: relabel the survivors and list the missing expiries, per underlying."""
    for u in rules.contract.all_underlyings():
        _roll_calendar(work, rules, epoch, u)


def _roll_calendar(work: Any, rules: RuleSet, epoch: datetime, u: str) -> None:
    now = work.now
    live = [work.market(m) for m in work.market_ids()
            if work.market(m).is_dated and work.market(m).underlying == u and not work.market(m).is_move
            and work.market_state(m).status is MarketStatus.OPEN]
    live.sort(key=lambda m: m.expiry_time)
    first = next_settlement_time(epoch, now, rules)  # the next Friday after this delivery
    kinds = set()
    for m in live:
        assert m.expiry_time is not None
        weeks = (m.expiry_time - first) // WEEK
        kind = ExpiryKind.WEEKLY if weeks <= 0 else ExpiryKind.BIWEEKLY if weeks == 1 else m.expiry_kind
        if kind is not m.expiry_kind:
            work.new_markets[m.market_id] = replace(m, expiry_kind=kind)
            work.emit(EventKind.MARKET_RELABELLED, market=m.market_id,
                      inputs={"was": m.expiry_kind.value, "now": kind.value})
        kinds.add(kind)
    wanted = rules.contract.expiries
    listings: list[Market] = []
    if ExpiryKind.WEEKLY in wanted and ExpiryKind.WEEKLY not in kinds:
        listings.append(dated_market(rules, epoch, ExpiryKind.WEEKLY, first, now, u))
    if ExpiryKind.BIWEEKLY in wanted and ExpiryKind.BIWEEKLY not in kinds:
        listings.append(dated_market(rules, epoch, ExpiryKind.BIWEEKLY, first + WEEK, now, u))
    if ExpiryKind.QUARTERLY in wanted and ExpiryKind.QUARTERLY not in kinds:
        listings.append(dated_market(rules, epoch, ExpiryKind.QUARTERLY, quarterly_expiry(epoch, now, rules), now, u))
    existing = set(work.market_ids())
    for m in listings:
        if m.market_id in existing:
            continue
        index = work.market_state(live[0].market_id).index_price if live else None
        if index is None:
            index = next((work.market_state(x).index_price for x in work.market_ids()
                          if work.market(x).underlying == u and not work.market(x).is_move), None)
        if index is None:
            index = next(work.market_state(x).index_price for x in work.market_ids()
                         if not work.market(x).is_move)
        work.new_markets[m.market_id] = m
        work.set_market_state(MarketState(m.market_id, index, index))
        work.emit(EventKind.MARKET_LISTED, market=m.market_id,
                  inputs={"expiry_kind": m.expiry_kind.value, "expiry_time": m.expiry_time})
