"""Trading: order acceptance (margin, reduce-only, risk limit), fills into positions, fees.

Design note
-----------
The order book (`book`) only matches; this module decides whether an order may go in and what a
fill does to both accounts:

* reduce-only orders are capped at the opposite position (`max_quantity`), rejected if flat;
* other orders need free balance >= the initial margin of the orders' opening part (resting
  orders included, BitMEX net-side rule, see `margin.order_margin`) plus the taker fee;
* the position after the order must fit its leverage: 1/L >= initial rate of its risk tier;
* stop-market / take-profit orders wait in the TriggerBook and go through the same checks
  when they fire.

A fill moves both positions with `trade`: pending funding is settled first, then

    increase: entry' = weighted mean of entry and fill price (harmonic for inverse, so that
              sum of value(E) is preserved); isolated margin += value(fill) / L (rounded UP)
    reduce  : realized = pnl(closed, entry, fill) (floored to units, against sys:clearing);
              isolated margin released pro rata (rounded DOWN)
    flip    : reduce to zero, then open the rest at the fill price

and charges the maker / taker fee (`fees`). Buyer PnL + seller PnL = 0 before rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchange_edu.engine.book import BookError, Fill, MatchResult, Order, OrderType, Side
from exchange_edu.engine.delta import Delta, finish
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.fees import calculate_fee
from exchange_edu.engine.funding import settle_funding
from exchange_edu.engine.ledger import settle
from exchange_edu.engine.margin import initial_margin, leverage_for, margin_mode_for, margin_summary
from exchange_edu.engine.numbers import ZERO, Rounding, in_engine_context, quantize
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import (
    SYS_CLEARING,
    SYS_FEES,
    EngineState,
    MarginMode,
    Market,
    MarketStatus,
    Position,
    evolve,
    is_system,
)
from exchange_edu.engine.work import Work


@dataclass(frozen=True, slots=True)
class OrderResult:
    order: Order
    rejected: str | None
    fills: tuple[Fill, ...]
    resting: Order | None
    delta: Delta

    @property
    def accepted(self) -> bool:
        return self.rejected is None


@in_engine_context
def place_order(state: EngineState, rules: RuleSet, order: Order, now: int) -> OrderResult:
    """Check and submit one order (a learner's, matched immediately); returns fills + delta.

    `order.order_id <= 0` gets the next engine id. Nothing in `state` is mutated.
    """
    work = Work(state, rules, now)
    order, rejected, match = submit_order(work, rules, order)
    fills = match.fills if match is not None else ()
    resting = match.resting if match is not None else None
    return OrderResult(order, rejected, fills, resting, finish(work, state.tick_seq))


def submit_order(work: Work, rules: RuleSet, order: Order) -> tuple[Order, str | None, MatchResult | None]:
    """Validate, then rest / match / park an order inside `work`."""
    if order.order_id <= 0 or order.seq <= 0:
        oid, seq = work.take_order_id()
        order = _with_ids(order, order.order_id if order.order_id > 0 else oid, order.seq if order.seq > 0 else seq)
    reason = _precheck(work, rules, order)
    if reason is not None:
        return order, _reject(work, order, reason), None
    if order.order_type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT):
        try:
            work.triggers_for_write(order.market).add(order)
        except BookError as exc:
            return order, _reject(work, order, str(exc)), None
        work.emit(EventKind.ORDER_ACCEPTED, market=order.market, account=order.account_id,
                  numbers={"order_id": order.order_id, "trigger_price": order.trigger_price},
                  inputs={"trigger_on": order.trigger_on.value}, formula="waits for its trigger price")
        return order, None, None
    max_qty = None
    if order.reduce_only:
        pos = work.position(order.account_id, order.market)
        if pos is None or not pos.size or pos.side == order.side.sign:
            return order, _reject(work, order, "reduce-only order would not reduce a position"), None
        max_qty = abs(pos.size)
    if rules.counterparty == "pool":  # DeFi pool: the LPs' pool fills at the oracle +- price impact
        from exchange_edu.engine.pool import fill_against_pool

        return fill_against_pool(work, rules, order, max_qty)
    try:
        match = work.book_for_write(order.market).submit(order, max_quantity=max_qty)
    except BookError as exc:
        return order, _reject(work, order, str(exc)), None
    for maker_id in match.expired_maker_ids:
        work.emit(EventKind.ORDER_CANCELLED, market=order.market, account=order.account_id,
                  numbers={"order_id": maker_id}, reason="self-trade prevention: resting order expired")
    if match.rejected:
        return order, _reject(work, order, match.rejected), match
    for fill in match.fills:
        apply_fill(work, rules, fill, taker_is_liquidation=order.is_liquidation)
    work.emit(EventKind.ORDER_ACCEPTED, market=order.market, account=order.account_id,
              numbers={"order_id": order.order_id, "filled": match.filled_quantity,
                       "resting": match.resting.quantity if match.resting else ZERO,
                       "cancelled": match.cancelled_quantity})
    return order, None, match


def _with_ids(order: Order, order_id: int, seq: int) -> Order:
    """`replace(order, order_id=, seq=)` without running again the checks the order has passed."""
    new = object.__new__(type(order))
    for name in type(order).__slots__:
        object.__setattr__(new, name, getattr(order, name))
    object.__setattr__(new, "order_id", order_id)
    object.__setattr__(new, "seq", seq)
    return new


def _reject(work: Work, order: Order, reason: str) -> str:
    work.emit(EventKind.ORDER_REJECTED, market=order.market, account=order.account_id,
              numbers={"order_id": order.order_id}, reason=reason)
    return reason


def _precheck(work: Work, rules: RuleSet, order: Order) -> str | None:
    if order.market not in work.market_ids():
        return f"unknown market {order.market}"
    if work.market_state(order.market).status is not MarketStatus.OPEN:
        return f"market {order.market} is not open for trading"
    if is_system(order.account_id) or order.reduce_only:
        return None
    market = work.market(order.market)
    lev = leverage_for(work, rules, order.account_id, order.market)
    if not rules.margin.risk.allows_leverage(lev):
        return f"leverage {lev} is not allowed"
    if order.order_type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT):
        return None  # checked again when it fires
    price = order.price
    book = work.book(order.market)
    if order.order_type is OrderType.MARKET:
        avg = None
        if book is not None:
            avg, _ = book.simulate_market(order.side, order.quantity, inverse=market.is_inverse,
                                          limit_price=order.price, account_id=order.account_id)
        price = avg or price or work.market_state(order.market).mark_price
    assert price is not None
    if rules.margin.account_model == "unified":  # v2+: one margin fraction for the whole account
        from exchange_edu.engine.unified import order_check

        fee = calculate_fee(rules.fees, market, order.quantity, price, is_maker=False).fee
        return order_check(work, rules, order.account_id, order.market, order.side.sign * order.quantity,
                           price, fee)
    pos = work.position(order.account_id, order.market)
    size = pos.size if pos is not None else ZERO
    new_size = size + order.side.sign * order.quantity
    if abs(new_size) > abs(size):
        entry = pos.entry_price if pos is not None and pos.size and pos.side == order.side.sign else price
        imr, _ = rules.margin.risk.rates(market.value(new_size, entry), lev)
        if 1 / lev < imr:
            return (f"position value {market.value(new_size, entry):.8f} {market.settlement_asset} needs "
                    f"initial margin {imr:.4%}: above leverage {lev}x (risk limit)")
    summary = margin_summary(work, rules, order.account_id, market.settlement_asset,
                             {order.market: ((order.side.sign, order.quantity, price),)})
    fee = calculate_fee(rules.fees, market, order.quantity, price, is_maker=False).fee
    if summary.free < max(fee, ZERO):
        return (f"insufficient margin: free {summary.free:.8f} {market.settlement_asset} after "
                f"order margin {summary.order_margin:.8f} and fee {fee:.8f}")
    return None


def apply_fill(work: Work, rules: RuleSet, fill: Fill, *, taker_is_liquidation: bool = False) -> None:
    """Both legs of a fill: positions, realized PnL, fees, last price."""
    market = work.market(fill.market)
    for account_id, side, is_maker in ((fill.maker_account_id, fill.maker_side, True),
                                       (fill.taker_account_id, fill.taker_side, False)):
        trade(work, rules, market, account_id, side.sign * fill.quantity, fill.price, fee_is_maker=is_maker)
    ms = work.market_state(fill.market)
    work.set_market_state(evolve(ms, last_price=fill.price))
    work.emit(EventKind.FILL, market=fill.market, account=fill.taker_account_id,
              numbers={"price": fill.price, "quantity": fill.quantity, "seq": fill.seq},
              inputs={"maker": fill.maker_account_id, "taker": fill.taker_account_id,
                      "taker_side": fill.taker_side.value, "liquidation": int(taker_is_liquidation)})


def trade(work: Work, rules: RuleSet, market: Market, account_id: str, signed_qty: Decimal, price: Decimal,
          *, fee_is_maker: bool | None, kind: str = "trade") -> Position | None:
    """Move one account's position by `signed_qty` at `price`; book PnL and (optionally) fee."""
    asset = market.settlement_asset
    pos = work.position(account_id, market.market_id)
    if pos is not None:
        pos = settle_funding(work, pos)
    system = is_system(account_id)
    if pos is None:
        mode = MarginMode.CROSS if system else margin_mode_for(work, rules, account_id, market.market_id)
        lev = Decimal(1) if system else leverage_for(work, rules, account_id, market.market_id)
        pos = Position(account_id, market.market_id, ZERO, price, mode, lev, ZERO,
                       work.market_state(market.market_id).funding_index)
    new, realized, margin_added = position_after_trade(market, pos, signed_qty, price)
    if new.size and (not pos.size or (new.size > 0) != (pos.size > 0)):  # opened or flipped: the new side's index
        new = evolve(new, funding_snapshot=work.market_state(market.market_id).index_for(new.size))
    if realized:
        entry = settle("realized_pnl", asset, [(account_id, realized)], SYS_CLEARING, market=market.market_id)
        posted = entry.amount_for(account_id) if entry is not None else ZERO
        work.post(entry)
        _add_period_pnl(work, account_id, asset, posted)
        work.emit(EventKind.PNL_REALIZED, market=market.market_id, account=account_id,
                  numbers={"realized_pnl": realized, "realized_pnl_usd": market.pnl_in_quote(realized, price)},
                  inputs={"contracts_closed": min(abs(signed_qty), abs(pos.size)), "entry_price": pos.entry_price,
                          "exit_price": price, "side": pos.side, "kind": kind},
                  formula="pnl = side x contracts x face x (1/entry - 1/exit)" if market.is_inverse
                  else "pnl = side x contracts x size x (exit - entry)")
    if margin_added and pos.margin_mode is MarginMode.ISOLATED:
        new = evolve(new, isolated_margin=new.isolated_margin + margin_added)
    if fee_is_maker is not None and not system:
        quote = calculate_fee(rules.fees, market, abs(signed_qty), price, is_maker=fee_is_maker)
        if quote.fee:
            work.post(settle("fee", asset, [(account_id, -quote.fee)], SYS_FEES, market=market.market_id))
            work.emit(EventKind.FEE, market=market.market_id, account=account_id,
                      numbers={"fee": quote.fee}, inputs={"rate": quote.rate, "value": quote.value,
                                                          "maker": int(quote.is_maker)},
                      formula=quote.formula)
    work.set_position(pos.key, new)
    return work.position(account_id, market.market_id)


def position_after_trade(market: Market, pos: Position, signed_qty: Decimal,
                         price: Decimal) -> tuple[Position, Decimal, Decimal]:
    """(new position, realized PnL, isolated margin to add) for a trade of `signed_qty` at `price`."""
    asset = market.settlement_asset
    size = pos.size
    realized = ZERO
    margin = pos.isolated_margin
    entry = pos.entry_price
    if size == 0 or (size > 0) == (signed_qty > 0):
        new_size = size + signed_qty
        if size == 0:
            entry = price
        elif market.is_inverse:
            entry = abs(new_size) / (abs(size) / entry + abs(signed_qty) / price)
        else:
            entry = (abs(size) * entry + abs(signed_qty) * price) / abs(new_size)
        added = quantize(initial_margin(market, signed_qty, price, pos.leverage), asset, Rounding.UP)
        return evolve(pos, size=new_size, entry_price=entry, isolated_margin=margin), ZERO, added
    closed = min(abs(signed_qty), abs(size))
    side = 1 if size > 0 else -1
    realized = market.pnl(side * closed, entry, price)
    remaining = abs(size) - closed
    if remaining == 0:
        margin_left = ZERO
    else:
        margin_left = margin - quantize(margin * closed / abs(size), asset, Rounding.DOWN)
    opening = abs(signed_qty) - closed
    if opening:
        new_sign = 1 if signed_qty > 0 else -1
        added = quantize(initial_margin(market, opening, price, pos.leverage), asset, Rounding.UP)
        return evolve(pos, size=new_sign * opening, entry_price=price, isolated_margin=margin_left), realized, added
    return evolve(pos, size=side * remaining, isolated_margin=margin_left), realized, ZERO


def merge_into_position(work: Work, market: Market, pos: Position | None, account_id: str,
                        signed_qty: Decimal, price: Decimal) -> Position | None:
    """Add `signed_qty` at `price` to a (system) position without fees; books any realized PnL."""
    return trade(work, work.rules, market, account_id, signed_qty, price, fee_is_maker=None, kind="takeover")


def cancel_account_orders(work: Work, account_id: str, market_id: str, *, reason: str) -> int:
    """Cancel an account's resting and trigger orders in one market; returns how many."""
    n = 0
    book = work.book(market_id)
    if book is not None and book.orders_of(account_id):
        n += len(work.book_for_write(market_id).cancel_account(account_id))
    tb = work.trigger_book(market_id)
    if tb is not None and len(tb) and any(o.account_id == account_id for o in tb.snapshot()):
        n += len(work.triggers_for_write(market_id).cancel_account(account_id))
    if n:
        work.emit(EventKind.ORDER_CANCELLED, market=market_id, account=account_id,
                  numbers={"orders": n}, reason=reason)
    return n


def _add_period_pnl(work: Work, account_id: str, asset: str, pnl: Decimal) -> None:
    if not pnl:
        return
    acct = work.account(account_id)
    period = dict(acct.period_pnl)
    period[asset] = period.get(asset, ZERO) + pnl
    work.set_account(evolve(acct, period_pnl=period))


__all__ = ["OrderResult", "Side", "apply_fill", "cancel_account_orders", "place_order", "trade"]
