"""Shared helpers for the engine tests: small exchanges built through the public API."""

from __future__ import annotations

from collections import Counter
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


def run_crowd(rules: RuleSet, *, seed: int, ticks: int, tick_seconds: int, rise_until: int, rise: str,
              fall: str) -> tuple[EngineState, Counter[str]]:
    """A BTC/ETH exchange at 60,000 / 3,000 with the default bot crowd, driven `ticks` ticks by a
    BTC path that rises by `rise` per tick until `rise_until`, then falls by `fall`. Every tick's
    entries must balance per asset. Returns the final state and the event kinds seen."""
    from exchange_edu.engine.bots import bot_deposits, default_crowd, orders_for_tick, with_bot_settings
    from exchange_edu.engine.genesis import deposit
    from exchange_edu.engine.ledger import totals_by_asset
    from exchange_edu.engine.step import TickInput, apply_tick

    s = new_exchange(rules, index_price=Decimal(60000), index_prices={"BTC": Decimal(60000), "ETH": Decimal(3000)})
    crowd = default_crowd(rules, seed=seed, index_price=Decimal(60000))
    for account_id, amounts in bot_deposits(rules, crowd).items():
        for asset, amount in amounts.items():
            s = deposit(s, account_id, asset, amount)
    s = with_bot_settings(s, rules, crowd)
    kinds: Counter[str] = Counter()
    price = Decimal(60000)
    for seq in range(1, ticks):
        price = (price * Decimal(rise if seq < rise_until else fall)).quantize(Decimal("0.01"))
        orders, cancels = orders_for_tick(s, rules, crowd, seed=seed, tick_seq=seq)
        result = apply_tick(s, rules, TickInput(seq, seq * tick_seconds, {"BTC": price, "ETH": Decimal(3000)},
                                                orders, cancels))
        assert all(v == 0 for v in totals_by_asset(result.entries).values())
        s = apply_result(s, result)
        kinds.update(e.kind.value for e in result.events)
    return s, kinds


def balances_sum_to_zero(state: EngineState) -> bool:
    """Every asset's balances over all accounts (system ones included) add up to zero."""
    totals: Counter[str] = Counter()
    for account in state.accounts.values():
        for asset, amount in account.balances.items():
            totals[asset] += amount
    return all(v == 0 for v in totals.values())


def assert_funding_zero_sum(state: EngineState, asset: str, settlements: int) -> None:
    """sys:funding holds what positions paid minus what they received, in whole units; exact
    payments sum to zero, so it equals the positions' pending funding plus rounding dust, at most
    one unit per settlement and never negative."""
    from exchange_edu.engine.margin import pending_funding
    from exchange_edu.engine.numbers import ZERO, engine_context, unit
    from exchange_edu.engine.types import SYS_FUNDING

    with engine_context():
        pending = sum((pending_funding(p, state.market_states[p.market_id].funding_index)
                       for p in state.positions.values()), ZERO)
        dust = state.account(SYS_FUNDING).balance(asset) + pending
        assert Decimal("-1e-20") <= dust <= settlements * unit(asset) + Decimal("1e-20")
