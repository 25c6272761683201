"""Pricing: index, mark, premium index and delivery price.

Design note
-----------
The index comes from outside (the sandbox's price source) in each TickInput. The mark is chosen
by `rules.pricing.mark_method`:

    "last"        v0: last traded price (the index until the first trade)
    "fair_price"  v1: mark = index x (1 + funding_basis),
                  funding_basis = F_next x time_until_funding / funding_interval       (E9)
    "index" / "oracle"   the index itself (DeFi presets: the oracle is the sandbox index)
    "median_bid_ask_last" v2: median(best bid, best ask, last), falling back to the index
    "oracle_anchored"     DeFi book: median(oracle + basis, book median, oracle), see `oracle`

Premium index (BitMEX, sampled each minute, E10):
    P = [max(0, impact_bid - mark) - max(0, mark - impact_ask)] / index + funding_basis
Impact bid/ask = average fill price to sell/buy the impact notional = impact_margin / IM rate
(0.1 XBT / 1% = 10 XBT for XBTUSD); a side too thin to fill counts as no premium from that side.

Delivery price (v0): arithmetic mean of the index samples over the last hour before delivery (E4).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_edu.engine.numbers import ZERO
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import Market, MarketState


def funding_basis(rate_next: Decimal, seconds_until_funding: int, interval_seconds: int) -> Decimal:
    """F_next x time_until_funding / interval (E9: 0.03% x 4h / 8h = 0.015%)."""
    return rate_next * Decimal(seconds_until_funding) / Decimal(interval_seconds)


def fair_price_mark(index: Decimal, rate_next: Decimal, seconds_until_funding: int,
                    interval_seconds: int) -> Decimal:
    """Mark = index x (1 + funding_basis) (E9: 10,000 x 1.00015 = 10,001.50)."""
    return index * (1 + funding_basis(rate_next, seconds_until_funding, interval_seconds))


def premium_index(impact_bid: Decimal | None, impact_ask: Decimal | None, mark: Decimal,
                  index: Decimal, basis: Decimal = ZERO) -> Decimal:
    """P = [max(0, impact_bid - mark) - max(0, mark - impact_ask)] / index + basis (E10: 0.12%)."""
    up = max(ZERO, impact_bid - mark) if impact_bid is not None else ZERO
    down = max(ZERO, mark - impact_ask) if impact_ask is not None else ZERO
    return (up - down) / index + basis


def delivery_price(samples_sum: Decimal, samples_count: int, fallback: Decimal) -> Decimal:
    """Mean of the index samples of the last window (E4: mean of 6 samples = 7,490.00)."""
    return samples_sum / samples_count if samples_count else fallback


def mean(values: list[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values)


def impact_notional(rules: RuleSet, market: Market) -> Decimal:
    imr, _ = rules.margin.risk.rates(ZERO, rules.margin.risk.max_leverage())
    return rules.pricing.impact_margin / imr


def impact_prices(book: Any, rules: RuleSet, market: Market) -> tuple[Decimal | None, Decimal | None]:
    """(impact bid, impact ask) of the book for the impact notional."""
    if book is None or rules.pricing.impact_margin <= 0 or not len(book):
        return None, None  # an empty book is too thin on both sides
    from exchange_edu.engine.book import Side

    n = impact_notional(rules, market)
    return (book.impact_price(Side.SELL, n, inverse=market.is_inverse),
            book.impact_price(Side.BUY, n, inverse=market.is_inverse))


def compute_mark(rules: RuleSet, market: Market, ms: MarketState, index: Decimal, now: int,
                 book: Any = None) -> tuple[Decimal, dict[str, Any], str]:
    """(mark, inputs, formula) for the market's mark method."""
    method = rules.pricing.mark_method
    if method == "last":
        mark = ms.last_price if ms.last_price is not None else index
        return mark, {"last": ms.last_price, "index": index}, "mark = last traded price (index before the first trade)"
    if method == "fair_price":
        if ms.next_funding_time is None:
            return index, {"index": index}, "mark = index (no funding clock)"
        until = max(0, ms.next_funding_time - now)
        interval = rules.funding.interval_seconds
        mark = fair_price_mark(index, ms.funding_rate_next, until, interval)
        return mark, {"index": index, "funding_rate_next": ms.funding_rate_next,
                      "seconds_until_funding": until, "interval_seconds": interval}, \
            "mark = index x (1 + F_next x time_until_funding / interval)"
    if method in ("index", "oracle"):
        return index, {"index": index}, "mark = index (oracle)"
    if method == "median_bid_ask_last":
        bid = book.best_bid() if book is not None else None
        ask = book.best_ask() if book is not None else None
        values = [v for v in (bid, ask, ms.last_price) if v is not None]
        if len(values) < 3:
            return index, {"index": index}, "mark = index (book incomplete)"
        mark = sorted(values)[1]
        return mark, {"best_bid": bid, "best_ask": ask, "last": ms.last_price}, "mark = median(bid, ask, last)"
    if method == "oracle_anchored":
        from exchange_edu.engine.oracle import oracle_anchored_mark

        return oracle_anchored_mark(index, ms, book)
    raise NotImplementedError(f"mark_method {method!r}")
