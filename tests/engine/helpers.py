"""Shared helpers for the engine tests: small exchanges built through the public API."""

from __future__ import annotations

from decimal import Decimal

from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.genesis import new_exchange, set_account_settings
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import EngineState, MarginMode

D = Decimal


def limit(account: str, market: str, side: Side, qty: object, price: object, **kw: object) -> Order:
    return Order(0, account, market, side, OrderType.LIMIT, D(str(qty)), D(str(price)), **kw)  # type: ignore[arg-type]


def market_order(account: str, market: str, side: Side, qty: object, **kw: object) -> Order:
    return Order(0, account, market, side, OrderType.MARKET, D(str(qty)), None, **kw)  # type: ignore[arg-type]


def place(state: EngineState, rules: RuleSet, order: Order, now: int | None = None) -> EngineState:
    result = place_order(state, rules, order, state.now if now is None else now)
    assert result.rejected is None, result.rejected
    return apply_result(state, result)


def open_pair(rules: RuleSet, *, price: object, contracts: object, long_lev: object = None,
              short_lev: object = None, deposits: dict[str, Decimal] | None = None,
              long: str = "alice", short: str = "maker", mode: MarginMode | None = None,
              market: str | None = None) -> tuple[EngineState, str]:
    """An exchange where `long` bought `contracts` from `short` at `price`."""
    deposits = deposits or {long: D(10), short: D(1000)}
    s = new_exchange(rules, index_price=D(str(price)), deposits=deposits)
    m = market or sorted(s.markets, key=lambda k: s.markets[k].expiry_time or 0)[0]
    for acct, lev in ((long, long_lev), (short, short_lev)):
        s = set_account_settings(s, acct, m, leverage=D(str(lev)) if lev is not None else None,
                                 margin_mode=mode)
    s = place(s, rules, limit(short, m, Side.SELL, contracts, price))
    s = place(s, rules, market_order(long, m, Side.BUY, contracts))
    return s, m


__all__ = ["D", "Order", "OrderType", "Side", "TimeInForce", "limit", "market_order", "open_pair", "place"]
