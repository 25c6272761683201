"""Bots: a seeded crowd of market makers and traders that gives a sandbox a counterparty.

Design note
-----------
A bot is a `BotSpec` (who, what kind, temperament, leverage, size) and nothing else: there is no
bot memory in the engine state, so every decision is a pure function of the state before the
tick and a `random.Random(f"{seed}:{tick_seq}:{account_id}")` (string seeds are hashed with
SHA-512, so the stream is the same on every machine and Python run). The same (state, rules,
crowd, seed, tick_seq) always gives the same orders; a sandbox replays identically.

Market makers (cross margin, well capitalised) keep `levels` limit orders each side of every open
market, post-only, around the fair value F (the mark where the mark is a fair price, else the
index), shifted against inventory:

    r       = clamp(position / max_inventory, -1, 1)           (+1: fully long; in 5% steps)
    centre  = F x (1 - skew x r)                               (long -> quotes move down;
              on a grid of F x half_spread, so quotes stay put until F moves that much)
    bid_i   = floor_tick(centre x (1 - half_spread - i x level_step)),  ask_i = ceil_tick(...)
    qty_i   = size x (2 + i) / 2 x side_factor x scale         (deeper levels are larger)
    side_factor = clamp(1 - r, 0.1, 1) for bids, clamp(1 + r, 0.1, 1) for asks
    scale   = min(1, L x budget / value of the larger side)     (budget = 70% of free margin
                                                                 per market: quotes fit margin)

Levels are at least one tick apart and the best ask is above the best bid, so a maker never
crosses itself. Only quotes that differ from what already rests are cancelled and replaced.

Traders (isolated margin) each tick: cancel stale resting orders; if holding a position, close it
(reduce-only market order) with a per-tick probability that depends on temperament and on the
signal; if flat, open with probability `open_probability`, long with

    P(long) = 1/2 + long_bias + follow x clamp(momentum_bps / 5, -0.35, 0.35) + follow x funding tilt
    momentum_bps = (F - book mid) / F x 10,000   (the book is still quoted around the last F)

trend follows (+1), contrarian fades (-1), noise ignores, degens lean long at the highest
leverage and rarely close, so a crash liquidates them with no special case. Sizes are capped by
free margin, and every order is halved until it passes the risk limit (the engine's rule: a
growing position keeps 1/L >= its initial rate), so orders are rarely rejected. Makers' orders
come first in a tick, so traders meet fresh quotes. Cancels are (market, order_id) pairs, the
shape `TickInput.cancels` takes.

The sandbox must (1) deposit `bot_deposits` once, (2) apply `with_bot_settings` after genesis and
after every tick that lists a market (v0 roll-over), since leverage and margin mode are account
settings the tick cannot carry; a bot only trades markets where its settings are in place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from exchange_edu.engine.book import Order, OrderType, Side, TimeInForce
from exchange_edu.engine.genesis import set_account_settings
from exchange_edu.engine.margin import margin_summary
from exchange_edu.engine.numbers import ONE, ZERO, Rounding, clamp, in_engine_context, quantize
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import EngineState, MarginMode, Market, MarketStatus, Position

BotKind = Literal["market_maker", "trader"]
Temperament = Literal["trend", "contrarian", "noise", "degen"]
Cancel = tuple[str, int]  # (market, order_id), as TickInput.cancels takes them

DEFAULT_TRADERS = 20
DEFAULT_REFERENCE_PRICE = Decimal(10000)
LEVERAGE_CANDIDATES = tuple(Decimal(x) for x in (1, 2, 3, 5, 10, 15, 20, 25, 50, 75, 100, 125))
QUOTE_BUDGET = Decimal("0.7")  # share of a maker's free margin its quotes may use
TRADER_BUDGET = Decimal("0.8")  # share of a trader's free margin one opening order may use
MIN_SIDE_FACTOR = Decimal("0.1")
STEP = Decimal("0.05")  # inventory ratio and size scale move in 5% steps (fewer re-quotes)
PROTECTION = Decimal("0.02")  # traders' market orders stop 2% beyond fair value


@dataclass(frozen=True, slots=True)
class BotSpec:
    """One bot. Sizes are contracts at the crowd's reference price; with `notional_usd` set, a
    market's size is re-derived at its fair value (`contracts_for`), so it keeps its meaning across
    price levels and contract sizes. `deposit` is the starting balance in the settlement asset.

    Market makers use `levels`, `half_spread`, `level_step` (fractions of fair value),
    `max_inventory_contracts` and `skew` (centre shift at full inventory); traders use
    `market_preference` (0 = the nearest expiry, 1 = the next, ...).
    """

    account_id: str
    kind: BotKind
    temperament: Temperament | None
    leverage: Decimal
    size_contracts: Decimal
    margin_mode: MarginMode = MarginMode.ISOLATED
    deposit: Decimal = ZERO
    levels: int = 0
    half_spread: Decimal = ZERO
    level_step: Decimal = ZERO
    max_inventory_contracts: Decimal = ZERO
    skew: Decimal = ZERO
    market_preference: int = 0
    notional_usd: Decimal = ZERO  # size in quote currency; when set, each market's contracts follow from it


@dataclass(frozen=True, slots=True)
class Temper:
    """How a temperament trades; probabilities are per tick (not money, so floats)."""

    open_probability: float
    close_probability: float
    follow: float  # +1 follows momentum and funding, -1 fades them, 0 ignores them
    long_bias: float
    limit_share: float  # share of openings sent as a passive limit order
    leverage_range: tuple[int, int]  # chosen from the allowed leverages within this range
    notional_usd: tuple[int, int]  # size range at the reference price
    capital_loads: int  # deposit = this many margins of a typical position


TEMPERS: dict[str, Temper] = {
    "trend": Temper(0.05, 0.02, 1.0, 0.0, 0.2, (3, 20), (3000, 8000), 12),
    "contrarian": Temper(0.05, 0.02, -1.0, 0.0, 0.4, (2, 10), (3000, 8000), 12),
    "noise": Temper(0.08, 0.06, 0.0, 0.0, 0.3, (2, 25), (1000, 5000), 12),
    "degen": Temper(0.05, 0.004, 0.5, 0.25, 0.1, (20, 50), (10000, 25000), 8),
}

# (level notional USD, half spread, level step, capital USD): two makers whose levels interleave
MAKERS = ((20000, Decimal("0.0004"), Decimal("0.0006"), 1_500_000),
          (15000, Decimal("0.0007"), Decimal("0.0005"), 1_200_000))
MAKER_LEVELS = 10
MAKER_INVENTORY_LEVELS = 40  # full skew at 40 base levels of inventory
MAKER_SKEW = Decimal("0.002")


# -- the crowd ------------------------------------------------------------------------------


def allowed_leverages(rules: RuleSet) -> tuple[Decimal, ...]:
    """Leverages the preset's risk model allows among the usual menu (v0: 10, 20; v1: 1..100)."""
    risk = rules.margin.risk
    menu = {*LEVERAGE_CANDIDATES, Decimal(risk.max_leverage()), rules.margin.default_leverage}
    return tuple(sorted(lev for lev in menu if risk.allows_leverage(lev)))


def _pick_leverage(allowed: tuple[Decimal, ...], lo: int, hi: int, rng: random.Random) -> Decimal:
    inside = [lev for lev in allowed if lo <= lev <= hi]
    if inside:
        return rng.choice(inside)
    return min(allowed, key=lambda lev: (abs(lev - hi) if lev > hi else abs(lev - lo), lev))


def _contracts(rules: RuleSet, notional_usd: Decimal, price: Decimal) -> Decimal:
    c = rules.contract
    per_contract = c.contract_size if c.kind.value == "inverse" else c.contract_size * price
    return max(ONE, (notional_usd / per_contract).to_integral_value(rounding=ROUND_FLOOR))


def _capital(rules: RuleSet, usd: Decimal, price: Decimal) -> Decimal:
    """USD of capital in the settlement asset (coin for inverse), rounded down to units."""
    amount = usd / price if rules.contract.kind.value == "inverse" else usd
    return quantize(amount, rules.contract.settlement_asset, Rounding.DOWN)


def _temperaments(count: int) -> list[str]:
    """A quarter trend, a quarter contrarian, a fifth degens, the rest noise (one each from 4)."""
    if count <= 0:
        return []
    if count < 4:
        return ["degen", "trend", "contrarian"][:count]
    trend, contrarian, degen = max(1, count // 4), max(1, count // 4), max(1, count // 5)
    noise = count - trend - contrarian - degen
    # interleave so that a smaller crowd has a similar mix
    pools = {"trend": trend, "contrarian": contrarian, "degen": degen, "noise": noise}
    out: list[str] = []
    while len(out) < count:
        for name in ("noise", "trend", "contrarian", "degen"):
            if pools[name]:
                out.append(name)
                pools[name] -= 1
    return out


@in_engine_context
def default_crowd(rules: RuleSet, *, count: int = DEFAULT_TRADERS, seed: int,
                  index_price: Decimal = DEFAULT_REFERENCE_PRICE, market_makers: int = 2) -> tuple[BotSpec, ...]:
    """Two market makers ("bot:mm-1", "bot:mm-2") and `count` traders ("bot:trend-1", ...).

    `index_price` sets the coin value of deposits on inverse presets and the contract count on
    linear ones: pass the sandbox's starting index. Leverages come from `allowed_leverages`.
    """
    allowed = allowed_leverages(rules)
    cross = MarginMode.CROSS if MarginMode.CROSS in rules.margin.modes else rules.margin.default_mode
    isolated = MarginMode.ISOLATED if MarginMode.ISOLATED in rules.margin.modes else rules.margin.default_mode
    mm_lev = _pick_leverage(allowed, 10, 10, random.Random(0))
    crowd = []
    for i in range(market_makers):
        notional, half, step, capital = MAKERS[i % len(MAKERS)]
        size = _contracts(rules, Decimal(notional), index_price)
        crowd.append(BotSpec(f"bot:mm-{i + 1}", "market_maker", None, mm_lev, size, cross,
                             _capital(rules, Decimal(capital), index_price), MAKER_LEVELS, half, step,
                             size * MAKER_INVENTORY_LEVELS, MAKER_SKEW, notional_usd=Decimal(notional)))
    numbers: dict[str, int] = {}
    for temperament in _temperaments(count):
        numbers[temperament] = numbers.get(temperament, 0) + 1
        account_id = f"bot:{temperament}-{numbers[temperament]}"
        rng = random.Random(f"{seed}:crowd:{account_id}")
        t = TEMPERS[temperament]
        if temperament == "degen" and numbers[temperament] % 2 == 1:
            lev = _pick_leverage(allowed, t.leverage_range[1], t.leverage_range[1], rng)  # the top
        else:
            lev = _pick_leverage(allowed, *t.leverage_range, rng)
        notional = Decimal(rng.randrange(t.notional_usd[0], t.notional_usd[1] + 1, 500))
        preference = 0 if rng.random() < 0.7 else 1 if rng.random() < 0.7 else 2
        deposit = _capital(rules, notional * t.capital_loads / lev, index_price)
        crowd.append(BotSpec(account_id, "trader", temperament, lev, _contracts(rules, notional, index_price),  # type: ignore[arg-type]
                             isolated, deposit, market_preference=preference, notional_usd=notional))
    return tuple(crowd)


def bot_deposits(rules: RuleSet, crowd: tuple[BotSpec, ...]) -> dict[str, dict[str, Decimal]]:
    """Starting balances: {account_id: {settlement asset: amount}}; makers are well capitalised."""
    asset = rules.contract.settlement_asset
    return {spec.account_id: {asset: spec.deposit} for spec in crowd if spec.deposit > 0}


def bot_top_ups(state: EngineState, rules: RuleSet, crowd: tuple[BotSpec, ...]) -> dict[str, dict[str, Decimal]]:
    """Deposits that bring a flat trader below half its starting balance back to it ("a new
    trader arrives"), so a long-running sandbox keeps its crowd after liquidations. Optional."""
    asset = rules.contract.settlement_asset
    out = {}
    for spec in crowd:
        if spec.kind != "trader" or not spec.deposit:
            continue
        held = any((p := state.position(spec.account_id, m)) is not None and p.size for m in state.live_market_ids())
        balance = state.account(spec.account_id).balance(asset)
        if not held and balance < spec.deposit / 2:
            out[spec.account_id] = {asset: spec.deposit - balance}
    return out


def with_bot_settings(state: EngineState, rules: RuleSet, crowd: tuple[BotSpec, ...]) -> EngineState:
    """`state` with every bot's leverage and margin mode set in every open market (the same
    object if nothing changed, so calling it after each tick is cheap)."""
    for m in _open_markets(state):
        for spec in crowd:
            if not _settings_ok(state, rules, spec, m):
                state = set_account_settings(state, spec.account_id, m, leverage=spec.leverage,
                                             margin_mode=spec.margin_mode)
    return state


def _settings_ok(state: EngineState, rules: RuleSet, spec: BotSpec, market_id: str) -> bool:
    acct = state.account(spec.account_id)
    return (acct.leverage.get(market_id, rules.margin.default_leverage) == spec.leverage
            and acct.margin_mode.get(market_id, rules.margin.default_mode) is spec.margin_mode)


# -- a tick's orders ------------------------------------------------------------------------


def _open_markets(state: EngineState) -> list[str]:
    """Open markets, nearest expiry first (perpetuals first), by id: independent of dict order."""
    live = [m for m, ms in state.market_states.items() if ms.status is MarketStatus.OPEN and m in state.markets]
    return sorted(live, key=lambda m: (state.markets[m].expiry_time or 0, m))


def fair_value(state: EngineState, rules: RuleSet, market_id: str) -> Decimal:
    """The mark where it is a fair price (v1), else the index (v0 marks on last trades)."""
    ms = state.market_states[market_id]
    return ms.mark_price if rules.pricing.mark_method == "fair_price" else ms.index_price


@in_engine_context
def orders_for_tick(state: EngineState, rules: RuleSet, crowd: tuple[BotSpec, ...], *, seed: int,
                    tick_seq: int) -> tuple[tuple[Order, ...], tuple[Cancel, ...]]:
    """(orders, cancels) of the whole crowd for tick `tick_seq`; pass them in its TickInput.

    Orders carry order_id = 0 and seq = 0 (the engine assigns both). Makers' orders come first.
    """
    live = _open_markets(state)
    orders: list[Order] = []
    cancels: list[Cancel] = []
    for spec in sorted(crowd, key=lambda s: s.kind != "market_maker"):  # stable: makers first
        _cancel_in_closed_markets(state, live, spec, cancels)
        ready = [m for m in live if _settings_ok(state, rules, spec, m)]
        if not ready:
            continue
        if spec.kind == "market_maker":
            if rules.counterparty == "book":  # against a pool there is no book to quote on
                _quote(state, rules, spec, ready, orders, cancels)
        else:
            rng = random.Random(f"{seed}:{tick_seq}:{spec.account_id}")
            _trade(state, rules, spec, ready, rng, orders, cancels)
    return tuple(orders), tuple(cancels)


def crowd_orders(state: EngineState, rules: RuleSet, seed: int,
                 tick_seq: int) -> tuple[tuple[Order, ...], tuple[Cancel, ...]]:
    """`orders_for_tick` of `default_crowd(rules, seed=seed)`, in the sandbox's BotsFn shape."""
    return orders_for_tick(state, rules, default_crowd(rules, seed=seed), seed=seed, tick_seq=tick_seq)


def _cancel_in_closed_markets(state: EngineState, live: list[str], spec: BotSpec, cancels: list[Cancel]) -> None:
    for m in sorted(state.books):
        book = state.books[m]
        if m not in live and book is not None:
            cancels.extend((m, o.order_id) for o in book.orders_of(spec.account_id))


def _floor_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def _ceil_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick


def _whole(qty: Decimal) -> Decimal:
    return qty.to_integral_value(rounding=ROUND_FLOOR)


def _step(x: Decimal, step: Decimal, *, down: bool = False) -> Decimal:
    """x on a grid of `step` (nearest, or down): quotes change only when an input moves a step."""
    return (x / step).to_integral_value(rounding=ROUND_FLOOR if down else None) * step


def contracts_for(spec: BotSpec, market: Market, fair: Decimal) -> Decimal:
    """The bot's base size in `market`: notional_usd / quote value of a contract (inverse: the
    face; linear: contract size x fair), to two significant digits so it moves in 1% steps."""
    if not spec.notional_usd:
        return spec.size_contracts
    per_contract = market.contract_size if market.is_inverse else market.contract_size * fair
    raw = spec.notional_usd / per_contract
    return max(ONE, raw.quantize(Decimal(10) ** (raw.adjusted() - 1), rounding=ROUND_FLOOR))


def fits_risk_limit(rules: RuleSet, market: Market, leverage: Decimal, size: Decimal, signed_qty: Decimal,
                    price: Decimal) -> bool:
    """The engine's acceptance rule: a position that grows must keep 1/L >= its initial rate."""
    new_size = size + signed_qty
    if abs(new_size) <= abs(size):
        return True
    risk = rules.margin.risk
    by_position = getattr(risk, "position_rates", None)  # size-dependent models (v2 sqrt IMF)
    imr = (by_position(market, new_size, price, leverage)[0] if by_position is not None
           else risk.rates(market.value(new_size, price), leverage)[0])
    return 1 / leverage >= imr


def _fit(rules: RuleSet, market: Market, leverage: Decimal, size: Decimal, side: Side, qty: Decimal,
         price: Decimal) -> Decimal:
    """`qty`, halved until the order passes the risk limit (0 if even one contract does not)."""
    while qty >= 1 and not fits_risk_limit(rules, market, leverage, size, side.sign * qty, price):
        qty = _whole(qty / 2)
    return qty if qty >= 1 else ZERO


def maker_quotes(rules: RuleSet, market: Market, spec: BotSpec, fair: Decimal, inventory: Decimal,
                 budget: Decimal) -> dict[tuple[Side, Decimal], Decimal]:
    """{(side, price): contracts} a maker wants resting (see the module note for the formulas).

    `budget` is the margin (settlement asset) the quotes of this market may use.
    """
    tick = market.tick_size
    size = contracts_for(spec, market, fair)
    max_inventory = spec.max_inventory_contracts * size / spec.size_contracts if spec.size_contracts else ZERO
    r = clamp(inventory / max_inventory, -ONE, ONE) if max_inventory else ZERO
    r = _step(r, STEP)
    grid = tick * max(ONE, _whole(fair * spec.half_spread / tick))
    centre = (fair * (1 - spec.skew * r) / grid).to_integral_value() * grid
    factors = {Side.BUY: clamp(1 - r, MIN_SIDE_FACTOR, ONE), Side.SELL: clamp(1 + r, MIN_SIDE_FACTOR, ONE)}
    prices: dict[Side, list[Decimal]] = {Side.BUY: [], Side.SELL: []}
    for i in range(spec.levels):
        offset = spec.half_spread + i * spec.level_step
        bid, ask = _floor_tick(centre * (1 - offset), tick), _ceil_tick(centre * (1 + offset), tick)
        bids, asks = prices[Side.BUY], prices[Side.SELL]
        bid = min(bid, bids[-1] - tick) if bids else bid
        ask = max(ask, asks[-1] + tick) if asks else max(ask, bid + tick)
        if bid > 0:
            bids.append(bid)
        asks.append(ask)
    wanted = {side: [size * (2 + i) / 2 * factors[side] for i in range(len(prices[side]))]
              for side in prices}
    side_value = max((sum((market.value(q, p) for q, p in zip(wanted[s], prices[s], strict=True)), ZERO)
                      for s in prices), default=ZERO)
    scale = _step(min(ONE, budget * spec.leverage / side_value), STEP, down=True) if side_value > 0 else ZERO
    quotes = {}
    for side in (Side.BUY, Side.SELL):
        for q, p in zip(wanted[side], prices[side], strict=True):
            qty = _fit(rules, market, spec.leverage, inventory, side, _whole(q * scale), p)
            if qty >= 1:
                quotes[(side, p)] = qty
    return quotes


def _quote(state: EngineState, rules: RuleSet, spec: BotSpec, markets: list[str], orders: list[Order],
           cancels: list[Cancel]) -> None:
    budgets: dict[str, Decimal] = {}
    for asset in sorted({state.markets[m].settlement_asset for m in markets}):
        summary = margin_summary(state, rules, spec.account_id, asset)
        n = sum(1 for m in markets if state.markets[m].settlement_asset == asset)
        budgets[asset] = max(ZERO, (summary.free + summary.order_margin) * QUOTE_BUDGET / n)
    for m in markets:
        market = state.markets[m]
        pos = state.position(spec.account_id, m)
        inventory = pos.size if pos is not None else ZERO
        wanted = maker_quotes(rules, market, spec, fair_value(state, rules, m), inventory,
                              budgets[market.settlement_asset])
        book = state.books.get(m)
        for o in book.orders_of(spec.account_id) if book is not None else ():
            key = (o.side, o.price)
            if wanted.get(key) == o.quantity and o.order_type is OrderType.LIMIT:
                del wanted[key]  # already resting as wanted: keep its place in the queue
            else:
                cancels.append((m, o.order_id))
        orders.extend(Order(0, spec.account_id, m, side, OrderType.LIMIT, qty, price, TimeInForce.POST_ONLY)
                      for (side, price), qty in wanted.items())


def momentum_bps(state: EngineState, rules: RuleSet, market_id: str) -> Decimal:
    """(fair - book mid) / fair in basis points: the move since the makers last quoted."""
    book = state.books.get(market_id)
    mid = book.mid() if book is not None else None
    if mid is None:
        return ZERO
    fair = fair_value(state, rules, market_id)
    return (fair - mid) / fair * 10000


def _p_long(state: EngineState, rules: RuleSet, t: Temper, market_id: str) -> float:
    tilt = float(clamp(momentum_bps(state, rules, market_id) / 5, Decimal("-0.35"), Decimal("0.35")))
    funding = state.market_states[market_id].funding_rate_next
    crowded = 0.1 if funding > rules.funding.interest_rate else -0.1 if funding < 0 else 0.0
    return 0.5 + t.long_bias + t.follow * (tilt + crowded)


def _trade(state: EngineState, rules: RuleSet, spec: BotSpec, markets: list[str], rng: random.Random,
           orders: list[Order], cancels: list[Cancel]) -> None:
    t = TEMPERS[spec.temperament or "noise"]
    held: list[Position] = []
    for m in markets:
        fair = fair_value(state, rules, m)
        book = state.books.get(m)
        for o in book.orders_of(spec.account_id) if book is not None else ():
            stale = o.price is None or (o.price > fair if o.side is Side.BUY else o.price < fair)
            if stale or rng.random() < 0.25:
                cancels.append((m, o.order_id))
        pos = state.position(spec.account_id, m)
        if pos is not None and pos.size:
            held.append(pos)
    if held:
        _maybe_close(state, rules, spec, t, held[0], rng, orders)
        return
    if rng.random() >= t.open_probability:
        return
    m = _choose_market(state, rules, spec, markets)
    if m is None:
        return
    side = Side.BUY if rng.random() < _p_long(state, rules, t, m) else Side.SELL
    market, fair = state.markets[m], fair_value(state, rules, m)
    qty = _whole(contracts_for(spec, market, fair) * Decimal(rng.randint(50, 150)) / 100)
    free = margin_summary(state, rules, spec.account_id, market.settlement_asset).free
    per_contract = market.value(ONE, fair) / spec.leverage
    qty = _fit(rules, market, spec.leverage, ZERO, side, min(qty, _whole(free * TRADER_BUDGET / per_contract)), fair)
    if qty < 1:
        return
    book = state.books.get(m)
    join = None if book is None else book.best_bid() if side is Side.BUY else book.best_ask()
    if join is not None and rng.random() < t.limit_share:
        orders.append(Order(0, spec.account_id, m, side, OrderType.LIMIT, qty, join))
    else:
        orders.append(Order(0, spec.account_id, m, side, OrderType.MARKET, qty, _protection(market, side, fair)))


def _protection(market: Market, side: Side, fair: Decimal) -> Decimal:
    if side is Side.BUY:
        return _ceil_tick(fair * (1 + PROTECTION), market.tick_size)
    return max(market.tick_size, _floor_tick(fair * (1 - PROTECTION), market.tick_size))


def _maybe_close(state: EngineState, rules: RuleSet, spec: BotSpec, t: Temper, pos: Position,
                 rng: random.Random, orders: list[Order]) -> None:
    m = pos.market_id
    fair = fair_value(state, rules, m)
    p = t.close_probability
    move = momentum_bps(state, rules, m) * pos.side
    gain = (fair - pos.entry_price) / pos.entry_price * pos.side
    if spec.temperament == "trend" and move < -1:
        p = 0.3  # the move turned against the position
    elif spec.temperament == "contrarian" and gain > Decimal("0.005"):
        p = 0.2  # take the profit of the reversion
    if rng.random() >= p:
        return
    qty = abs(pos.size)
    if rng.random() < 0.25 and qty >= 2:
        qty = _whole(qty / 2)
    side = Side.SELL if pos.size > 0 else Side.BUY
    orders.append(Order(0, spec.account_id, m, side, OrderType.MARKET, qty,
                        _protection(state.markets[m], side, fair), reduce_only=True))


def _choose_market(state: EngineState, rules: RuleSet, spec: BotSpec, markets: list[str]) -> str | None:
    """The preferred expiry among markets not inside their delivery window."""
    window = rules.settlement.delivery_window_seconds
    ok = [m for m in markets if state.markets[m].expiry_time is None
          or state.markets[m].expiry_time - state.now > window]
    if not ok:
        return None
    return ok[min(spec.market_preference, len(ok) - 1)]


__all__ = [
    "TEMPERS",
    "BotSpec",
    "Temper",
    "allowed_leverages",
    "bot_deposits",
    "bot_top_ups",
    "contracts_for",
    "crowd_orders",
    "default_crowd",
    "fair_value",
    "fits_risk_limit",
    "maker_quotes",
    "momentum_bps",
    "orders_for_tick",
    "with_bot_settings",
]
