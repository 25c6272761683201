"""The sandbox JSON API: /api/v1/sandboxes/... (yours only), /presets, /sources and /replay.

Routes parse input, check ownership, call one service (writes) or selectors (reads) and shape
the answer; no exchange rule lives here.

* Ownership: a sandbox belongs to `Sandbox.owner`; any other id, existing or not, answers 404.
* Your account: the first route that needs your paper account in a sandbox opens it (with the
  preset's faucet) through `services.account_open`; after a reset the fresh account is used.
* Pagination: keyset cursors. Each list returns `{"items": [...], "next_after": n | null}`; pass
  `?after=n` for the next page (`limit` 1..500, default 100). Cursors are the append-only
  numbers the rows already carry (sandbox id, order id, fill seq, journal entry no, event no,
  funding tick), so a page never shifts while new rows arrive and a poller asks for "newer than n".
* Order rate limit: ORDER_RATE_LIMIT orders per ORDER_RATE_WINDOW_S seconds per account (fixed
  window in Django's cache; settings SANDBOX_API_ORDER_RATE = (count, seconds) overrides it),
  placing and closing both count; beyond it 429 with Retry-After.
* Times are ISO-8601 UTC: sim seconds + the sandbox's epoch.
"""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.core.cache import cache
from ninja import Path, Query, Router, Status

from exchange_edu import pricesources
from exchange_edu.core.auth import api_auth

from . import mappers, selectors, services
from . import schemas as s
from .errors import SandboxError

router = Router(auth=api_auth, tags=["sandboxes"])
catalog_router = Router(tags=["presets and sources"])

MAX_ID = 2**62
MAX_SANDBOXES_PER_USER = 20
ORDER_RATE_LIMIT = 20
ORDER_RATE_WINDOW_S = 10
TOUCH_EVERY = timedelta(seconds=60)
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}

SandboxId = Annotated[int, Path(ge=1, le=MAX_ID, description="a sandbox id from GET /sandboxes")]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]
Symbol = Annotated[str, Path(max_length=40, description="a market symbol from GET /sandboxes/{id}/markets")]
After = Annotated[int | None, Query(ge=0, le=MAX_ID, description="the next_after of the previous page")]
Limit = Annotated[int, Query(ge=1, le=s.MAX_PAGE)]


def _errors(*codes: int) -> dict[int, type[s.ErrorOut]]:
    return {code: s.ErrorOut for code in (401, 422, *codes)}


class RateLimited(Exception):
    """Too many orders from one account in the current window (mapped to 429 in exchange_edu.api)."""

    def __init__(self, limit: int, window_s: int, retry_after_s: int) -> None:
        self.message = f"at most {limit} orders per {window_s} seconds per account; retry in {retry_after_s} s"
        super().__init__(self.message)
        self.retry_after_s = retry_after_s


# field names of the services -> names of this API's inputs
_API_FIELDS = {"market": "symbol", "order_type": "type", "price_source": "source", "sandbox_id": "id"}


@contextmanager
def _api_fields() -> Iterator[None]:
    try:
        yield
    except SandboxError as exc:
        if exc.field not in _API_FIELDS:
            raise
        raise SandboxError(_API_FIELDS[exc.field], exc.message, status=exc.status) from None


# -- helpers ---------------------------------------------------------------------------------------


def _sandbox(request: Any, sandbox_id: int) -> selectors.SandboxInfo:
    """The caller's sandbox (404 otherwise); marks it viewed now and then, which also resumes a
    sandbox that paused itself for idleness, so a script keeps its sandbox running."""
    sb = selectors.sandbox_for_user(sandbox_id=sandbox_id, user=request.auth)
    seen = sb.last_viewed_at
    if seen is None or seen < datetime.now(UTC) - TOUCH_EVERY or sb.pause_reason == "idle":
        services.sandbox_touch(sandbox_id=sb.id)
        sb = selectors.sandbox_for_user(sandbox_id=sandbox_id, user=request.auth)
    return sb


def _account(request: Any, sb: selectors.SandboxInfo) -> selectors.AccountRef:
    """The caller's active account in the sandbox, opened on first use."""
    ref = selectors.active_account(sandbox_id=sb.id, user=request.auth)
    if ref is None:
        services.account_open(sandbox_id=sb.id, user=request.auth, label=request.auth.get_username())
        ref = selectors.active_account(sandbox_id=sb.id, user=request.auth)
    assert ref is not None
    return ref


def _at(sb: selectors.SandboxInfo, seconds: int | None) -> datetime | None:
    return selectors.sim_datetime(sb.epoch, seconds)


def _from(after: int | None) -> int:
    return -1 if after is None else after  # fill seqs start at 0, the other numbers at 1


def _page(items: list[Any], key: str, limit: int) -> dict[str, Any]:
    return {"items": items, "next_after": items[-1][key] if len(items) == limit else None}


def _order_rate_check(account_pk: int) -> None:
    limit, window = getattr(settings, "SANDBOX_API_ORDER_RATE", (ORDER_RATE_LIMIT, ORDER_RATE_WINDOW_S))
    now = time.time()
    slot = int(now // window)
    key = f"sandbox-api:orders:{account_pk}:{slot}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        raise RateLimited(limit, window, max(1, math.ceil((slot + 1) * window - now)))


def _sandbox_out(sb: selectors.SandboxInfo) -> dict[str, Any]:
    return {"id": sb.id, "name": sb.name, "preset": sb.preset, "source": sb.price_source, "seed": sb.seed,
            "status": sb.status, "pause_reason": sb.pause_reason, "epoch": sb.epoch, "time": _at(sb, sb.sim_time),
            "tick_seq": sb.tick_seq, "tick_seconds": sb.tick_seconds, "tick_interval_s": sb.tick_interval_s,
            "created_at": sb.created_at}


def _order_out(o: selectors.OrderView) -> dict[str, Any]:
    return {"id": o.order_id, "symbol": o.symbol, "side": o.side, "type": o.order_type,
            "time_in_force": o.time_in_force, "quantity": o.quantity, "remaining": o.remaining,
            "filled_quantity": o.filled_quantity, "price": o.price, "trigger_price": o.trigger_price,
            "trigger_on": o.trigger_on, "reduce_only": o.reduce_only, "status": o.status, "tick_seq": o.tick_seq,
            "created_at": o.created_at}


def _placed_out(sb: selectors.SandboxInfo, acct: selectors.AccountRef, out: services.OrderOutcome) -> dict[str, Any]:
    row = selectors.order(sandbox_id=sb.id, account_pk=acct.pk, order_id=out.order_id)
    return {**_order_out(row), "average_price": out.average_price,
            "fills": [{"price": f.price, "quantity": f.quantity} for f in out.fills]}


def _account_out(sb: selectors.SandboxInfo, acct: selectors.AccountRef) -> dict[str, Any]:
    a = selectors.account_summary(sandbox_id=sb.id, account_pk=acct.pk)
    return {"account_id": a.account_id, "label": a.label, "margin_model": a.margin_model,
            "balances": [{"asset": k, "amount": v} for k, v in sorted(a.balances.items())],
            "margin": [vars(m) for m in a.margin], "margin_fraction": a.margin_fraction,
            "positions": [{**vars(p), "side": "long" if p.size > 0 else "short"} for p in a.positions]}


# -- sandboxes -------------------------------------------------------------------------------------


@router.post("", response={201: s.SandboxOut, **_errors(400, 409)})
def sandbox_create(request, payload: s.SandboxIn):
    """A new sandbox exchange of yours: the preset's markets listed, its clock running."""
    if selectors.sandbox_count_of_user(user=request.auth) >= MAX_SANDBOXES_PER_USER:
        raise SandboxError("sandbox", f"you have {MAX_SANDBOXES_PER_USER} sandboxes already", status=409)
    with _api_fields():
        sb = services.sandbox_create(preset=payload.preset, price_source=payload.source, seed=payload.seed,
                                     tick_seconds=payload.tick_seconds, owner=request.auth, name=payload.name,
                                     bots=payload.bots)
    return Status(201, _sandbox_out(selectors.sandbox_for_user(sandbox_id=sb.pk, user=request.auth)))


@router.get("", response={200: s.SandboxPage, **_errors()})
def sandbox_list(request, after: After = None, limit: Limit = 100):
    """Your sandboxes, oldest first."""
    rows = selectors.sandboxes_of_user(user=request.auth, after=_from(after), limit=limit)
    items = [_sandbox_out(sb) for sb in rows]
    return _page(items, "id", limit)


@router.get("/{sandbox_id}", response={200: s.SandboxOut, **_errors(404)})
def sandbox_detail(request, sandbox_id: SandboxId):
    return _sandbox_out(_sandbox(request, sandbox_id))


# -- markets ---------------------------------------------------------------------------------------


@router.get("/{sandbox_id}/markets", response={200: list[s.MarketOut], **_errors(404)})
def market_list(request, sandbox_id: SandboxId):
    sb = _sandbox(request, sandbox_id)
    return [{**vars(m), "expiry_time": _at(sb, m.expiry_time)} for m in selectors.markets(sandbox_id=sb.id)]


@router.get("/{sandbox_id}/markets/{symbol}/ticker", response={200: s.TickerOut, **_errors(404)})
def market_ticker(request, sandbox_id: SandboxId, symbol: Symbol):
    """Index, mark and last price, top of the book, and the funding rate fixed for the next time."""
    sb = _sandbox(request, sandbox_id)
    t = selectors.ticker(sandbox_id=sb.id, symbol=symbol)
    return {**vars(t), "time": _at(sb, t.sim_time), "next_funding_time": _at(sb, t.next_funding_time)}


@router.get("/{sandbox_id}/markets/{symbol}/book", response={200: s.BookOut, **_errors(404)})
def market_book(request, sandbox_id: SandboxId, symbol: Symbol,
                depth: Annotated[int, Query(ge=1, le=200, description="price levels per side")] = 20):
    sb = _sandbox(request, sandbox_id)
    b = selectors.book(sandbox_id=sb.id, symbol=symbol, depth=depth)
    return {"symbol": b.symbol, "tick_seq": b.tick_seq, "bids": [vars(x) for x in b.bids],
            "asks": [vars(x) for x in b.asks]}


@router.get("/{sandbox_id}/markets/{symbol}/trades", response={200: s.TradePage, **_errors(404)})
def market_trades(request, sandbox_id: SandboxId, symbol: Symbol, after: After = None,
                  limit: Limit = 100):
    """The market's trades in order (cursor: seq); `liquidity` marks your own."""
    sb = _sandbox(request, sandbox_id)
    mine = selectors.account_ids_of_user(sandbox_id=sb.id, user=request.auth)
    rows = selectors.trades(sandbox_id=sb.id, symbol=symbol, account_ids=mine, after=_from(after), limit=limit)
    return _page([{**vars(t), "time": _at(sb, t.sim_time)} for t in rows], "seq", limit)


@router.get("/{sandbox_id}/markets/{symbol}/candles", response={200: list[s.CandleOut], **_errors(404)})
def market_candles(request, sandbox_id: SandboxId, symbol: Symbol,
                   interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1h",
                   after: Annotated[datetime | None, Query(description="only candles starting after this time")] = None,
                   price: Literal["mark", "index", "last"] = "mark",
                   limit: Annotated[int, Query(ge=1, le=s.MAX_PAGE)] = 200):
    """OHLC candles in sim time; without `after` the latest `limit`. The last one may still be forming:
    to refresh it, pass the start of the candle before it."""
    sb = _sandbox(request, sandbox_id)
    after_s = None
    if after is not None:
        after = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
        after_s = max(-MAX_ID, min(MAX_ID, int((after - sb.epoch).total_seconds())))
    rows = selectors.market_candles(sandbox_id=sb.id, symbol=symbol, seconds=INTERVALS[interval], after=after_s,
                                    price=price, limit=limit)
    return [{"time": _at(sb, c.start), "open": c.open, "high": c.high, "low": c.low, "close": c.close} for c in rows]


@router.get("/{sandbox_id}/markets/{symbol}/funding-history", response={200: s.FundingPage, **_errors(404)})
def market_funding(request, sandbox_id: SandboxId, symbol: Symbol, after: After = None,
                   limit: Limit = 100):
    """Funding paid at each funding time (cursor: tick_seq); your own payments are in the ledger."""
    sb = _sandbox(request, sandbox_id)
    rows = selectors.funding_history(sandbox_id=sb.id, symbol=symbol, after=_from(after), limit=limit)
    items = [{"time": _at(sb, f.sim_time), "tick_seq": f.tick_seq, "rate": f.rate,
              "index_increment": f.index_increment, "open_interest": f.open_interest} for f in rows]
    return _page(items, "tick_seq", limit)


# -- your account ----------------------------------------------------------------------------------


@router.get("/{sandbox_id}/account", response={200: s.AccountOut, **_errors(404)})
def account_detail(request, sandbox_id: SandboxId):
    """Balances, margin (equity, initial / maintenance, available) and positions; opened on first use."""
    sb = _sandbox(request, sandbox_id)
    return _account_out(sb, _account(request, sb))


@router.post("/{sandbox_id}/account/reset", response={200: s.AccountOut, **_errors(400, 404, 409)})
def account_reset(request, sandbox_id: SandboxId):
    """Start over: orders cancelled, positions closed at mark, a fresh account with the faucet."""
    sb = _sandbox(request, sandbox_id)
    with _api_fields():
        services.account_reset(sandbox_id=sb.id, account_pk=_account(request, sb).pk)
    return _account_out(sb, _account(request, sb))


@router.get("/{sandbox_id}/orders", response={200: s.OrderPage, **_errors(404)})
def order_list(request, sandbox_id: SandboxId,
               status: Literal["open", "waiting", "filled", "cancelled"] | None = None,
               symbol: Annotated[str | None, Query(max_length=40)] = None, after: After = None, limit: Limit = 100):
    """Your orders (cursor: order id)."""
    sb = _sandbox(request, sandbox_id)
    acct = _account(request, sb)
    rows = selectors.orders(sandbox_id=sb.id, account_pk=acct.pk, status=status, symbol=symbol, after=_from(after),
                            limit=limit)
    return _page([_order_out(o) for o in rows], "id", limit)


@router.post("/{sandbox_id}/orders", response={201: s.PlacedOrderOut, 429: s.ErrorOut, **_errors(400, 404, 409)})
def order_place(request, payload: s.OrderIn, sandbox_id: SandboxId):
    """Place an order; it is matched at once. Rate-limited per account (429 with Retry-After)."""
    sb = _sandbox(request, sandbox_id)
    acct = _account(request, sb)
    _order_rate_check(acct.pk)
    with _api_fields():
        out = services.order_place(
            sandbox_id=sb.id, account_pk=acct.pk, market=payload.symbol, side=payload.side, order_type=payload.type,
            quantity=payload.quantity, price=payload.price, trigger_price=payload.trigger_price,
            trigger_on=payload.trigger_on, time_in_force=payload.time_in_force, reduce_only=payload.reduce_only,
            leverage=payload.leverage, margin_mode=payload.margin_mode)
    return Status(201, _placed_out(sb, acct, out))


@router.get("/{sandbox_id}/orders/{order_id}", response={200: s.OrderOut, **_errors(404)})
def order_detail(request, sandbox_id: SandboxId, order_id: OrderId):
    sb = _sandbox(request, sandbox_id)
    return _order_out(selectors.order(sandbox_id=sb.id, account_pk=_account(request, sb).pk, order_id=order_id))


@router.delete("/{sandbox_id}/orders/{order_id}", response={200: s.OrderOut, **_errors(400, 404, 409)})
def order_cancel(request, sandbox_id: SandboxId, order_id: OrderId):
    """Cancel a resting or waiting order of yours; answers the order as it is now."""
    sb = _sandbox(request, sandbox_id)
    acct = _account(request, sb)
    with _api_fields():
        services.order_cancel(sandbox_id=sb.id, account_pk=acct.pk, order_id=order_id)
    return _order_out(selectors.order(sandbox_id=sb.id, account_pk=acct.pk, order_id=order_id))


@router.get("/{sandbox_id}/positions", response={200: list[s.PositionOut], **_errors(404)})
def position_list(request, sandbox_id: SandboxId):
    """Your open positions with liquidation and bankruptcy prices (the same as in /account)."""
    sb = _sandbox(request, sandbox_id)
    return _account_out(sb, _account(request, sb))["positions"]


@router.post("/{sandbox_id}/positions/{symbol}/close",
             response={201: s.PlacedOrderOut, 429: s.ErrorOut, **_errors(400, 404, 409)})
def position_close(request, sandbox_id: SandboxId, symbol: Symbol):
    """Close the whole position with a reduce-only market order (counts toward the order rate limit)."""
    sb = _sandbox(request, sandbox_id)
    acct = _account(request, sb)
    _order_rate_check(acct.pk)
    with _api_fields():
        out = services.position_close(sandbox_id=sb.id, account_pk=acct.pk, market=symbol)
    return Status(201, _placed_out(sb, acct, out))


@router.get("/{sandbox_id}/ledger", response={200: s.LedgerPage, **_errors(404)})
def ledger(request, sandbox_id: SandboxId, after: After = None, limit: Limit = 100):
    """Your account's journal lines (cursor: entry_no): faucet, fees, PnL, funding, ..."""
    sb = _sandbox(request, sandbox_id)
    acct = _account(request, sb)
    rows = selectors.ledger_lines(sandbox_id=sb.id, account_pk=acct.pk, after=_from(after), limit=limit)
    return _page([{**vars(x), "time": _at(sb, x.sim_time)} for x in rows], "entry_no", limit)


@router.get("/{sandbox_id}/events", response={200: s.EventPage, **_errors(404)})
def event_list(request, sandbox_id: SandboxId, after: After = None, limit: Limit = 100,
               kind: Annotated[str | None, Query(max_length=32)] = None):
    """Market-wide events and your own (cursor: event_no), each with the numbers and formula behind it."""
    sb = _sandbox(request, sandbox_id)
    mine = selectors.account_ids_of_user(sandbox_id=sb.id, user=request.auth)
    rows = selectors.events(sandbox_id=sb.id, account_ids=mine, after=_from(after), kind=kind, limit=limit)
    return _page([{**vars(e), "time": _at(sb, e.sim_time)} for e in rows], "event_no", limit)


@router.get("/{sandbox_id}/lending", response={200: s.SandboxLendingOut, **_errors(404)})
def lending(request, sandbox_id: SandboxId):
    """v3 lending pools and rates; presets without a pool answer 200 with available=false and why."""
    sb = _sandbox(request, sandbox_id)
    v = selectors.lending(sandbox_id=sb.id)
    return {"available": v.available, "reason": v.reason, "curve": v.curve, "pools": [vars(p) for p in v.pools]}


# -- presets, sources, replay ------------------------------------------------------------------------


@catalog_router.get("/presets", response=list[s.PresetOut], auth=None)
def preset_list(request):
    """The RuleSets a sandbox can run, with their parameters (public)."""
    out = []
    for name in mappers.available_presets():
        r = mappers.rules_for(name, None)
        risk = r.margin.risk
        out.append({
            "name": r.name, "description": r.description, "contract_kind": r.contract.kind.value,
            "settlement_asset": r.contract.settlement_asset, "margin_model": r.margin.account_model,
            "margin_modes": [m.value for m in r.margin.modes], "default_leverage": r.margin.default_leverage,
            "max_leverage": Decimal(risk.max_leverage()), "mark_method": r.pricing.mark_method,
            "funding_style": r.funding.style, "funding_interval_seconds": r.funding.interval_seconds,
            "maker_fee_rate": r.fees.maker_rate, "taker_fee_rate": r.fees.taker_rate,
            "loss_waterfall": list(r.loss_waterfall), "has_lending_pool": bool(r.lending.enabled),
            "parameters": mappers.to_jsonable(r)})
    return out


@catalog_router.get("/sources", response=list[s.SourceOut], auth=None)
def source_list(request):
    """Price sources with their attribution and licence (public)."""
    return [{"name": x.name, "title": x.title, "description": x.description, "asset": x.asset, "kind": x.kind,
             "resolution_seconds": x.resolution_seconds, "start": x.start, "end": x.end,
             "max_step_seconds": x.max_step_seconds, "has_funding_history": x.funding is not None,
             "attribution": x.attribution, "licence": x.licence} for x in pricesources.list_sources()]


@catalog_router.post("/replay", response={200: s.ReplayOut, **_errors(400)}, auth=api_auth, tags=["replay"])
def replay(request, payload: s.ReplayIn):
    """One price path and one position through up to 4 presets side by side (at most 2,000 steps).

    The path is either `prices` (one per step, `step_seconds` apart) or a `source` with `seed`
    and `steps`. Each run reports a row per step, its notable events and where it was liquidated."""
    p, pos = payload.path, payload.position
    report = selectors.replay_compare(
        presets=payload.presets, is_long=pos.side == "long", notional_usd=pos.notional_usd, leverage=pos.leverage,
        deposit_usd=pos.deposit_usd, margin_mode=pos.margin_mode, prices=p.prices, source=p.source, seed=p.seed,
        steps=p.steps, step_seconds=p.step_seconds)

    def at(t: int | None) -> datetime | None:
        return selectors.sim_datetime(report.epoch, t)

    runs = [{"preset": run.name, "settlement_asset": report.settlement_assets[run.name],
             "liquidated_at": at(run.liquidated_at), "final_equity": run.final_equity,
             "final_equity_usd": run.final_equity_usd, "notes": list(run.notes),
             "events": [{"time": at(e.time), "kind": e.kind.value, "market": e.market, "reason": e.reason}
                        for e in run.events],
             "rows": [{"time": at(r.time), "index": r.index, "mark": r.mark, "equity": r.equity,
                       "equity_usd": r.equity_usd, "funding_paid": r.funding_paid, "has_position": r.has_position}
                      for r in run.rows]} for run in report.runs]
    return {"steps": report.steps, "runs": runs}
