"""Oracle-anchored mark (DeFi book, Hyperliquid-style; MECHANICS 5.4, E34).

Design note
-----------
Hyperliquid's mark is the median of three prices:

    1. oracle + EMA(book mid - oracle)        (150-s EMA of the book's basis over the oracle)
    2. median(best bid, best ask, last trade)
    3. weighted median of other venues' perp mids
    mark = median(1, 2, 3)            E34: median(10,020, 10,020, 10,015) = 10,020

The sandbox has one outside price (the index = the oracle) and stores no EMA, so `compute_mark`
("oracle_anchored") uses:

    1. oracle x (1 + mean premium sampled so far this funding hour)   (the premium samples are the
       book's impact basis over the oracle: a moving average that lives in the market state)
    2. median(best bid, best ask, last) when all three exist
    3. the oracle itself (stands in for other venues)

With an empty book the mark is the oracle. A single trade far from the oracle moves the mark by
at most the distance to the next input: the oracle anchors it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def median(values: list[Decimal]) -> Decimal:
    """Median of 1..n values (the mean of the middle two for an even count)."""
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def hyperliquid_mark(oracle: Decimal, basis_ema: Decimal, best_bid: Decimal | None, best_ask: Decimal | None,
                     last: Decimal | None, other_venues: Decimal | None) -> Decimal:
    """median(oracle + EMA basis, median(bid, ask, last), other venues' median) (E34: 10,020)."""
    values = [oracle + basis_ema]
    book = [v for v in (best_bid, best_ask, last) if v is not None]
    if len(book) == 3:
        values.append(median(book))
    if other_venues is not None:
        values.append(other_venues)
    return median(values)


def oracle_anchored_mark(index: Decimal, ms: Any, book: Any) -> tuple[Decimal, dict[str, Any], str]:
    """(mark, inputs, formula) for `mark_method = "oracle_anchored"` (see the module note)."""
    avg_premium = ms.premium_sum / ms.premium_count if ms.premium_count else Decimal(0)
    bid = book.best_bid() if book is not None else None
    ask = book.best_ask() if book is not None else None
    mark = hyperliquid_mark(index, index * avg_premium, bid, ask, ms.last_price, index)
    return mark, {"oracle": index, "basis": index * avg_premium, "best_bid": bid, "best_ask": ask,
                  "last": ms.last_price}, \
        "mark = median(oracle + basis, median(bid, ask, last), oracle)"
