"""Rows <-> engine dataclasses: the only module that imports both the ORM and the engine.

* `state_from_db(sandbox)` builds the EngineState of a sandbox; `load_state` serves it from a
  per-process cache when the cached copy was built at the sandbox's current `version` (every
  write to engine state bumps the version inside the same transaction, and the cache is only
  refreshed on commit, so a rolled-back or killed transaction never leaves a stale copy behind).
* `persist_delta(...)` writes what an engine call changed: market definitions and states,
  positions (created / updated / deleted), account settings, the books' orders, fills, events and
  funding records. Journal entries go through `services.ledger_post`, never through here.

Every Decimal written is exact text (see models), so `state_from_db` returns a state equal to the
one the engine produced (tests/sandbox/test_mappers.py checks it after many ticks).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Any

from django.db import transaction

from exchange_edu.engine.book import Fill as EngineFill
from exchange_edu.engine.book import Order as EngineOrder
from exchange_edu.engine.book import OrderBook, OrderType, TriggerBook
from exchange_edu.engine.delta import Delta, apply_result
from exchange_edu.engine.events import Event, EventKind
from exchange_edu.engine.lending import PoolState
from exchange_edu.engine.liquidation import build_index
from exchange_edu.engine.numbers import from_units, to_units
from exchange_edu.engine.rules import PRESETS, RuleError, RuleSet
from exchange_edu.engine.types import (
    SYS_INSURANCE,
    Account,
    ContractKind,
    EngineState,
    ExpiryKind,
    MarginMode,
    MarketState,
    MarketStatus,
    Position,
    is_system,
)
from exchange_edu.engine.types import Market as EngineMarket

from . import models
from .errors import SandboxError

# -- rules ----------------------------------------------------------------------------------


_RUNNABLE: dict[str, str | None] = {}


def preset_problem(name: str) -> str | None:
    """Why a preset of the engine cannot run yet (probed once per process), None when it can."""
    from .ops import not_runnable_reason

    if name not in _RUNNABLE:
        _RUNNABLE[name] = not_runnable_reason(PRESETS[name])
    return _RUNNABLE[name]


def available_presets() -> list[str]:
    """Presets the engine can run now (the engine's PRESETS minus those with missing mechanics)."""
    return sorted(p for p in PRESETS if preset_problem(p) is None)


_RULES_CACHE: dict[tuple[str, str], RuleSet] = {}


def rules_for(preset: str, overrides: dict[str, Any] | None) -> RuleSet:
    """The preset's RuleSet with the sandbox's overrides; errors name the field."""
    key = (preset, json.dumps(overrides or {}, sort_keys=True, default=str))
    cached = _RULES_CACHE.get(key)
    if cached is not None:
        return cached
    base = PRESETS.get(preset)
    if base is None or preset_problem(preset) is not None:
        why = "unknown preset" if base is None else f"not available yet ({preset_problem(preset)}):"
        raise SandboxError("preset", f"{why} {preset!r}; available: {', '.join(available_presets())}")
    try:
        rules = base.with_overrides(overrides or {})
    except RuleError as exc:
        raise SandboxError("overrides", f"{exc.field}: {exc.message}") from None
    _RULES_CACHE[key] = rules
    return rules


def sandbox_rules(sandbox: models.Sandbox) -> RuleSet:
    return rules_for(sandbox.preset, sandbox.overrides)


# -- account ids ----------------------------------------------------------------------------


def account_kind(account_id: str) -> str:
    if account_id == SYS_INSURANCE:
        return models.PaperAccount.Kind.INSURANCE
    if account_id.startswith("sys:pool"):
        return models.PaperAccount.Kind.POOL
    if is_system(account_id):
        return models.PaperAccount.Kind.EXCHANGE
    if account_id.startswith("bot:"):
        return models.PaperAccount.Kind.BOT
    return models.PaperAccount.Kind.USER


def account_pks(sandbox: models.Sandbox, account_ids: Iterable[str]) -> dict[str, int]:
    """PaperAccount pks by engine id; accounts the engine introduced (bots, system) are created."""
    wanted = set(account_ids)
    if not wanted:
        return {}
    found = dict(models.PaperAccount.objects.filter(sandbox=sandbox, account_id__in=wanted)
                 .values_list("account_id", "pk"))
    missing = sorted(wanted - found.keys())
    if missing:
        models.PaperAccount.objects.bulk_create(
            [models.PaperAccount(sandbox=sandbox, account_id=a, kind=account_kind(a), label=a) for a in missing])
        found.update(models.PaperAccount.objects.filter(sandbox=sandbox, account_id__in=missing)
                     .values_list("account_id", "pk"))
    return found


def market_pks(sandbox: models.Sandbox) -> dict[str, int]:
    return dict(models.Market.objects.filter(sandbox=sandbox).values_list("market_id", "pk"))


# -- JSON ----------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Decimals as strings, enums by value, dataclasses as dicts: JSON carries no floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _decimal_map(raw: dict[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in (raw or {}).items()}


# -- state: rows -> engine -----------------------------------------------------------------


def _market_from_row(r: dict[str, Any]) -> tuple[EngineMarket, MarketState]:
    market = EngineMarket(r["market_id"], r["underlying"], ContractKind(r["kind"]), r["contract_size"],
                          r["settlement_asset"], r["quote_asset"], r["tick_size"], ExpiryKind(r["expiry_kind"]),
                          r["expiry_time"], r["listed_at"])
    ms = MarketState(r["market_id"], r["index_price"], r["mark_price"], r["last_price"], MarketStatus(r["status"]),
                     r["funding_index"], r["funding_rate_next"], r["next_funding_time"], r["premium_sum"],
                     r["premium_count"], r["last_premium_sample"], r["delivery_sum"], r["delivery_count"],
                     r["last_delivery_sample"], r["delivery_price"], r["open_interest"],
                     funding_index_short=r["funding_index_short"], move_strike=r["move_strike"])
    return market, ms


_MARKET_DEF = ("underlying", "kind", "contract_size", "settlement_asset", "quote_asset", "tick_size",
               "expiry_kind", "expiry_time", "listed_at")
_MARKET_STATE = ("index_price", "mark_price", "last_price", "status", "funding_index", "funding_rate_next",
                 "next_funding_time", "premium_sum", "premium_count", "last_premium_sample", "delivery_sum",
                 "delivery_count", "last_delivery_sample", "delivery_price", "open_interest", "funding_index_short",
                 "move_strike")


def _order_from_row(r: dict[str, Any], market_id: str, account_id: str) -> EngineOrder:
    return EngineOrder(int(r["order_id"]), account_id, market_id, r["side"], r["order_type"], r["remaining"],
                       r["price"], r["time_in_force"], r["reduce_only"], r["trigger_price"], r["trigger_on"],
                       int(r["seq"]), r["is_liquidation"])


def state_from_db(sandbox: models.Sandbox, rules: RuleSet | None = None) -> EngineState:
    """The sandbox's EngineState, read from its rows (books and liquidation index rebuilt)."""
    rules = rules or sandbox_rules(sandbox)
    markets: dict[str, EngineMarket] = {}
    states: dict[str, MarketState] = {}
    fill_seq: dict[str, int] = {}
    market_by_pk: dict[int, str] = {}
    for r in models.Market.objects.filter(sandbox=sandbox).order_by("pk").values():
        m, ms = _market_from_row(r)
        markets[m.market_id] = m
        states[m.market_id] = ms
        fill_seq[m.market_id] = r["fill_seq"]
        market_by_pk[r["id"]] = m.market_id

    account_by_pk: dict[int, str] = {}
    raw_accounts: dict[str, dict[str, Any]] = {}
    for pk, aid, lev, mode, period, auto_lend, interest in models.PaperAccount.objects.filter(
            sandbox=sandbox).values_list("pk", "account_id", "leverage", "margin_mode", "period_pnl", "auto_lend",
                                         "interest_index"):
        account_by_pk[pk] = aid
        raw_accounts[aid] = {"balances": {}, "leverage": lev, "margin_mode": mode, "period_pnl": period,
                             "auto_lend": auto_lend, "interest_index": interest}
    for account_pk, asset, units in models.Balance.objects.filter(account__sandbox=sandbox).values_list(
            "account_id", "asset", "amount_units"):
        raw_accounts[account_by_pk[account_pk]]["balances"][asset] = from_units(units, asset)
    accounts = {
        aid: Account(aid, a["balances"], _decimal_map(a["leverage"]),
                     {k: MarginMode(v) for k, v in (a["margin_mode"] or {}).items()}, _decimal_map(a["period_pnl"]),
                     auto_lend=a["auto_lend"], interest_index=_decimal_map(a["interest_index"]))
        for aid, a in raw_accounts.items()
    }

    positions: dict[tuple[str, str], Position] = {}
    for account_pk, market_pk, size, entry, mode, lev, margin_units, snap in models.Position.objects.filter(
            sandbox=sandbox).values_list("account_id", "market_id", "size", "entry_price", "margin_mode", "leverage",
                                         "isolated_margin_units", "funding_snapshot"):
        aid, mid = account_by_pk[account_pk], market_by_pk[market_pk]
        asset = markets[mid].settlement_asset
        positions[(aid, mid)] = Position(aid, mid, size, entry, MarginMode(mode), lev,
                                         from_units(margin_units, asset), snap)

    resting: dict[str, list[EngineOrder]] = {m: [] for m in markets}
    waiting: dict[str, list[EngineOrder]] = {m: [] for m in markets}
    for r in models.Order.objects.filter(sandbox=sandbox, status__in=("open", "waiting")).values(
            "order_id", "seq", "side", "order_type", "time_in_force", "remaining", "price", "trigger_price",
            "trigger_on", "reduce_only", "is_liquidation", "status", "market_id", "account_id"):
        mid = market_by_pk[r["market_id"]]
        order = _order_from_row(r, mid, account_by_pk[r["account_id"]])
        (resting if r["status"] == "open" else waiting)[mid].append(order)
    books = {m: OrderBook.from_orders(m, markets[m].tick_size, resting[m], fill_seq=fill_seq[m]) for m in markets}
    triggers = {m: TriggerBook.from_orders(m, sorted(waiting[m], key=lambda o: o.seq)) for m in markets}

    state = EngineState(epoch=sandbox.epoch, now=int(sandbox.sim_time), tick_seq=int(sandbox.tick_seq),
                        markets=markets, market_states=states, accounts=accounts, positions=positions,
                        books=books, triggers=triggers, next_order_id=int(sandbox.next_order_id),
                        next_order_seq=int(sandbox.next_order_seq), pools=_pools_from_db(sandbox))
    index = {m: build_index(state, rules, m) for m in markets}
    return dataclasses.replace(state, liquidation_index=index)


def _persist_interest(sandbox: models.Sandbox, delta: Delta, tick_seq: int, acct_pk: dict[str, int]) -> None:
    """InterestAccrual rows from the v3 interest events: balances (index growth) and uPnL (rate)."""
    rows = []
    upnl_asset = None  # the settlement asset, looked up once and only when needed
    for ev in delta.events:
        if ev.account not in acct_pk:
            continue
        if ev.kind is EventKind.INTEREST_SETTLED:
            asset = ev.inputs["asset"]
            rate = Decimal(str(ev.inputs["index_now"])) / Decimal(str(ev.inputs["index_then"] or 1)) - 1
            amount = Decimal(str(ev.numbers.get("posted", 0)))
        elif ev.kind is EventKind.UPNL_INTEREST:
            upnl_asset = upnl_asset or next(iter(sandbox_settlement_assets(sandbox)), "USDC")
            asset = upnl_asset
            upnl = Decimal(str(ev.inputs["upnl"]))
            rate = Decimal(str(ev.inputs["lend_rate" if upnl > 0 else "borrow_rate"]))
            amount = Decimal(str(ev.numbers["interest"]))
        else:
            continue
        rows.append(models.InterestAccrual(sandbox=sandbox, account_id=acct_pk[ev.account], asset=asset,
                                           tick_seq=tick_seq, sim_time=ev.time, rate=rate,
                                           amount_units=to_units(amount.quantize(from_units(1, asset)), asset)))
    if rows:
        models.InterestAccrual.objects.bulk_create(rows, batch_size=500)


def sandbox_settlement_assets(sandbox: models.Sandbox) -> list[str]:
    return sorted(set(models.Market.objects.filter(sandbox=sandbox).values_list("settlement_asset", flat=True)))


_POOL_FIELDS = ("lent_scaled", "borrowed_scaled", "lend_index", "borrow_index", "next_accrual_time", "borrow_rate",
                "lend_rate", "auto_lend_default")


def _pools_from_db(sandbox: models.Sandbox) -> dict[str, PoolState]:
    return {r["asset"]: PoolState(r["asset"], **{f: r[f] for f in _POOL_FIELDS})
            for r in models.LendingPool.objects.filter(sandbox=sandbox).values("asset", *_POOL_FIELDS)}


def persist_pools(sandbox: models.Sandbox, pools: dict[str, PoolState]) -> None:
    """Upsert the lending pools a delta (or genesis) changed."""
    for asset, pool in pools.items():
        models.LendingPool.objects.update_or_create(
            sandbox=sandbox, asset=asset, defaults={f: getattr(pool, f) for f in _POOL_FIELDS})


# -- the per-process state cache -------------------------------------------------------------

_CACHE_LOCK = threading.Lock()
_STATE_CACHE: dict[int, tuple[int, str, EngineState]] = {}
CACHE_ENABLED = True


def _rules_key(sandbox: models.Sandbox) -> str:
    return json.dumps([sandbox.preset, sandbox.overrides], sort_keys=True, default=str)


def load_state(sandbox: models.Sandbox, rules: RuleSet | None = None) -> EngineState:
    """`state_from_db`, served from the cache when it was built at this exact version."""
    if CACHE_ENABLED:
        with _CACHE_LOCK:
            hit = _STATE_CACHE.get(sandbox.pk)
        if hit is not None and hit[0] == sandbox.version and hit[1] == _rules_key(sandbox):
            return hit[2]
    return state_from_db(sandbox, rules)


def remember_state_on_commit(sandbox: models.Sandbox, version: int, state: EngineState, delta: Any) -> None:
    """After the transaction commits, cache `state` + `delta` as the state at `version`."""
    if not CACHE_ENABLED:
        return
    sandbox_pk, key = sandbox.pk, _rules_key(sandbox)

    def _store() -> None:
        new_state = apply_result(state, delta) if delta is not None else state
        with _CACHE_LOCK:
            _STATE_CACHE[sandbox_pk] = (version, key, new_state)

    transaction.on_commit(_store)


def forget_state(sandbox_pk: int | None = None) -> None:
    with _CACHE_LOCK:
        if sandbox_pk is None:
            _STATE_CACHE.clear()
        else:
            _STATE_CACHE.pop(sandbox_pk, None)


# -- engine -> rows ---------------------------------------------------------------------------


def market_row_values(market: EngineMarket) -> dict[str, Any]:
    return {"underlying": market.underlying, "kind": market.kind.value, "contract_size": market.contract_size,
            "settlement_asset": market.settlement_asset, "quote_asset": market.quote_asset,
            "tick_size": market.tick_size, "expiry_kind": market.expiry_kind.value,
            "expiry_time": market.expiry_time, "listed_at": market.listed_at}


def market_state_values(ms: MarketState) -> dict[str, Any]:
    return {"index_price": ms.index_price, "mark_price": ms.mark_price, "last_price": ms.last_price,
            "status": ms.status.value, "funding_index": ms.funding_index,
            "funding_rate_next": ms.funding_rate_next, "next_funding_time": ms.next_funding_time,
            "premium_sum": ms.premium_sum, "premium_count": ms.premium_count,
            "last_premium_sample": ms.last_premium_sample, "delivery_sum": ms.delivery_sum,
            "delivery_count": ms.delivery_count, "last_delivery_sample": ms.last_delivery_sample,
            "delivery_price": ms.delivery_price, "open_interest": ms.open_interest}


def persist_markets(sandbox: models.Sandbox, markets: dict[str, EngineMarket], states: dict[str, MarketState],
                    books: dict[str, Any]) -> dict[str, int]:
    """Create or update market rows (definition, state, fill seq); returns pks by market id."""
    existing = {r.market_id: r for r in models.Market.objects.filter(sandbox=sandbox)}
    create, update = [], []
    for mid in dict.fromkeys([*markets, *states, *books]):
        row = existing.get(mid)
        if row is None:
            row = models.Market(sandbox=sandbox, market_id=mid)
            create.append(row)
        else:
            update.append(row)
        if mid in markets:
            for k, v in market_row_values(markets[mid]).items():
                setattr(row, k, v)
        if mid in states:
            for k, v in market_state_values(states[mid]).items():
                setattr(row, k, v)
        if mid in books:
            row.fill_seq = books[mid].next_fill_seq
    if create:
        models.Market.objects.bulk_create(create)
    if update:
        models.Market.objects.bulk_update(update, [*_MARKET_DEF, *_MARKET_STATE, "fill_seq"])
    return market_pks(sandbox)


@dataclasses.dataclass
class PersistSummary:
    positions_written: int = 0
    positions_deleted: int = 0
    orders_written: int = 0
    fills: int = 0
    events: int = 0
    liquidations: int = 0
    adl_events: int = 0
    clawbacks: int = 0
    deliveries: int = 0


def persist_delta(sandbox: models.Sandbox, delta: Delta, *, tick_seq: int,
                  known_fills: tuple[EngineFill, ...] = (), placed: tuple[EngineOrder, Any] | None = None,
                  ) -> PersistSummary:
    """Write the rows an engine delta changed (not the journal: see services.ledger_post)."""
    summary = PersistSummary()
    touched_ids = {a for a, _ in delta.positions} | set(delta.accounts)
    for ev in delta.events:
        if ev.account:
            touched_ids.add(ev.account)
    for book in (*delta.books.values(), *delta.triggers.values()):
        touched_ids.update(o.account_id for o in book.snapshot())
    if placed is not None:
        touched_ids.add(placed[0].account_id)
    acct_pk = account_pks(sandbox, touched_ids)

    if delta.markets or delta.market_states or delta.books or delta.triggers:
        mkt_pk = persist_markets(sandbox, delta.markets, delta.market_states, delta.books)
    else:
        mkt_pk = market_pks(sandbox)

    _persist_accounts(sandbox, delta, acct_pk)
    if delta.pools:
        persist_pools(sandbox, delta.pools)
    _persist_positions(sandbox, delta, acct_pk, mkt_pk, summary)
    fills = _persist_fills(sandbox, delta, tick_seq, known_fills, mkt_pk)
    summary.fills = fills
    _persist_orders(sandbox, delta, tick_seq, known_fills, placed, acct_pk, mkt_pk, summary)
    _persist_events(sandbox, delta, tick_seq, acct_pk, mkt_pk, summary)
    return summary


def _persist_accounts(sandbox: models.Sandbox, delta: Delta, acct_pk: dict[str, int]) -> None:
    if not delta.accounts:
        return
    rows = []
    for aid, acct in delta.accounts.items():
        rows.append(models.PaperAccount(
            pk=acct_pk[aid], leverage={k: str(v) for k, v in acct.leverage.items()},
            margin_mode={k: v.value for k, v in acct.margin_mode.items()},
            period_pnl={k: str(v) for k, v in acct.period_pnl.items() if v}, auto_lend=acct.auto_lend,
            interest_index={k: str(v) for k, v in acct.interest_index.items()}))
    models.PaperAccount.objects.bulk_update(
        rows, ["leverage", "margin_mode", "period_pnl", "auto_lend", "interest_index"], batch_size=500)


def position_key(account_id: str, market_id: str) -> str:
    return f"{account_id}|{market_id}"


def _persist_positions(sandbox: models.Sandbox, delta: Delta, acct_pk: dict[str, int], mkt_pk: dict[str, int],
                       summary: PersistSummary) -> None:
    if not delta.positions:
        return
    keys = {position_key(a, m): (a, m) for a, m in delta.positions}
    existing = dict(models.Position.objects.filter(sandbox=sandbox, key__in=list(keys)).values_list("key", "pk"))
    create, update, delete = [], [], []
    for key, (aid, mid) in keys.items():
        pos = delta.positions[(aid, mid)]
        if pos is None:
            if key in existing:
                delete.append(existing[key])
            continue
        asset = delta.markets[mid].settlement_asset if mid in delta.markets else _market_asset(sandbox, mid)
        row = models.Position(
            pk=existing.get(key), sandbox=sandbox, account_id=acct_pk[aid], market_id=mkt_pk[mid], key=key,
            size=pos.size, entry_price=pos.entry_price, margin_mode=pos.margin_mode.value, leverage=pos.leverage,
            isolated_margin_units=to_units(pos.isolated_margin, asset),
            funding_snapshot=pos.funding_snapshot)
        (update if row.pk else create).append(row)
    if delete:
        models.Position.objects.filter(pk__in=delete).delete()
    if create:
        models.Position.objects.bulk_create(create, batch_size=500)
    if update:
        models.Position.objects.bulk_update(update, ["size", "entry_price", "margin_mode", "leverage",
                                                     "isolated_margin_units", "funding_snapshot"], batch_size=500)
    summary.positions_written = len(create) + len(update)
    summary.positions_deleted = len(delete)


_ASSET_CACHE: dict[tuple[int, str], str] = {}


def _market_asset(sandbox: models.Sandbox, market_id: str) -> str:
    key = (sandbox.pk, market_id)
    asset = _ASSET_CACHE.get(key)
    if asset is None:
        asset = models.Market.objects.filter(sandbox=sandbox, market_id=market_id).values_list(
            "settlement_asset", flat=True).get()
        _ASSET_CACHE[key] = asset
    return asset


def _fill_events(delta: Delta) -> list[Event]:
    return [e for e in delta.events if e.kind is EventKind.FILL]


def _persist_fills(sandbox: models.Sandbox, delta: Delta, tick_seq: int, known: tuple[EngineFill, ...],
                   mkt_pk: dict[str, int]) -> int:
    by_seq = {(f.market, f.seq): f for f in known}
    rows = []
    for ev in _fill_events(delta):
        assert ev.market is not None
        seq = int(ev.numbers["seq"])
        f = by_seq.get((ev.market, seq))
        rows.append(models.Fill(
            sandbox=sandbox, market_id=mkt_pk[ev.market], seq=seq, tick_seq=tick_seq, sim_time=ev.time,
            price=ev.numbers["price"], quantity=ev.numbers["quantity"],
            maker_account_id=str(ev.inputs["maker"]), taker_account_id=str(ev.inputs["taker"]),
            taker_side=str(ev.inputs["taker_side"]), maker_order_id=f.maker_order_id if f else None,
            taker_order_id=f.taker_order_id if f else None, is_liquidation=bool(ev.inputs.get("liquidation"))))
    if rows:
        models.Fill.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _persist_orders(sandbox: models.Sandbox, delta: Delta, tick_seq: int, known: tuple[EngineFill, ...],
                    placed: tuple[EngineOrder, Any] | None, acct_pk: dict[str, int], mkt_pk: dict[str, int],
                    summary: PersistSummary) -> None:
    """Diff the touched books against the open / waiting order rows."""
    filled_makers = {f.maker_order_id for f in known}
    maker_accounts: dict[str, set[str]] = {}
    for ev in _fill_events(delta):
        maker_accounts.setdefault(ev.market or "", set()).add(str(ev.inputs["maker"]))
    triggered = {int(ev.numbers["order_id"]) for ev in delta.events if ev.kind is EventKind.ORDER_TRIGGERED}
    placed_order = placed[0] if placed else None
    placed_result = placed[1] if placed else None
    create: list[models.Order] = []
    update: list[models.Order] = []
    for status, books in (("open", delta.books), ("waiting", delta.triggers)):
        for mid, book in books.items():
            live = {o.order_id: o for o in book.snapshot()}
            rows = list(models.Order.objects.filter(sandbox=sandbox, market_id=mkt_pk[mid], status=status)
                        .select_related("account")
                        .only("pk", "order_id", "quantity", "remaining", "status", "account__account_id"))
            seen = set()
            for row in rows:
                seen.add(row.order_id)
                now_live = live.get(row.order_id)
                if now_live is not None:
                    if now_live.quantity != row.remaining:
                        row.remaining = now_live.quantity
                        row.filled_quantity = row.quantity - now_live.quantity
                        update.append(row)
                    continue
                account_id = row.account.account_id
                if row.order_id in filled_makers or row.order_id in triggered or \
                        account_id in maker_accounts.get(mid, ()):
                    row.status = models.Order.Status.FILLED
                    row.filled_quantity = row.quantity
                else:
                    row.status = models.Order.Status.CANCELLED
                    row.filled_quantity = row.quantity - row.remaining
                row.remaining = Decimal(0)
                update.append(row)
            for oid, o in live.items():
                if oid in seen:
                    continue
                original = placed_order.quantity if placed_order is not None and placed_order.order_id == oid \
                    else o.quantity
                create.append(_order_row(sandbox, o, status, tick_seq, acct_pk, mkt_pk, quantity=original))
    if placed_order is not None and placed_result is not None:
        rests = any(r.order_id == placed_order.order_id for r in create) or \
            placed_order.order_type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT)
        if not rests:
            filled = sum((f.quantity for f in placed_result.fills), Decimal(0))
            row = _order_row(sandbox, placed_order, "filled" if filled == placed_order.quantity else "cancelled",
                             tick_seq, acct_pk, mkt_pk, quantity=placed_order.quantity)
            row.remaining = Decimal(0)
            row.filled_quantity = filled
            create.append(row)
    if create:
        models.Order.objects.bulk_create(create, batch_size=500)
    if update:
        models.Order.objects.bulk_update(update, ["remaining", "filled_quantity", "status"], batch_size=500)
    summary.orders_written = len(create) + len(update)


def _order_row(sandbox: models.Sandbox, o: EngineOrder, status: str, tick_seq: int, acct_pk: dict[str, int],
               mkt_pk: dict[str, int], *, quantity: Decimal) -> models.Order:
    return models.Order(
        sandbox=sandbox, market_id=mkt_pk[o.market], account_id=acct_pk[o.account_id], order_id=o.order_id,
        seq=o.seq, side=o.side.value, order_type=o.order_type.value, time_in_force=o.time_in_force.value,
        quantity=quantity, remaining=o.quantity, filled_quantity=quantity - o.quantity, price=o.price,
        trigger_price=o.trigger_price, trigger_on=o.trigger_on.value, reduce_only=o.reduce_only,
        is_liquidation=o.is_liquidation, status=status, tick_seq=tick_seq)


_COUNTED = {EventKind.LIQUIDATION: "liquidations", EventKind.ADL: "adl_events", EventKind.CLAWBACK: "clawbacks",
            EventKind.DELIVERY: "deliveries"}


def _persist_events(sandbox: models.Sandbox, delta: Delta, tick_seq: int, acct_pk: dict[str, int],
                    mkt_pk: dict[str, int], summary: PersistSummary) -> None:
    if not delta.events:
        return
    start = sandbox.next_event_no
    rows, funding = [], []
    for i, ev in enumerate(delta.events):
        rows.append(models.EventLog(
            sandbox=sandbox, event_no=start + i, tick_seq=tick_seq, sim_time=ev.time, kind=ev.kind.value,
            market_id=ev.market or "", account_id=ev.account or "", numbers=to_jsonable(ev.numbers),
            inputs=to_jsonable(ev.inputs), formula=ev.formula, reason=ev.reason))
        counter = _COUNTED.get(ev.kind)
        if counter:
            setattr(summary, counter, getattr(summary, counter) + 1)
        if ev.kind is EventKind.FUNDING_PAID and ev.market in mkt_pk:
            funding.append(models.FundingPayment(
                sandbox=sandbox, market_id=mkt_pk[ev.market], tick_seq=tick_seq, sim_time=ev.time,
                rate=ev.inputs.get("rate"), index_increment=ev.numbers.get("index_increment"),
                contracts=ev.numbers.get("open_interest")))
        elif ev.kind is EventKind.FUNDING_SETTLED and ev.market in mkt_pk and ev.account in acct_pk:
            asset = _market_asset(sandbox, ev.market) if ev.market not in delta.markets \
                else delta.markets[ev.market].settlement_asset
            posted_paid = Decimal(str(ev.numbers.get("posted", 0)))
            funding.append(models.FundingPayment(
                sandbox=sandbox, market_id=mkt_pk[ev.market], account_id=acct_pk[ev.account], tick_seq=tick_seq,
                sim_time=ev.time, contracts=ev.inputs.get("contracts"), amount_units=-to_units(posted_paid, asset)))
    models.EventLog.objects.bulk_create(rows, batch_size=1000)
    _persist_interest(sandbox, delta, tick_seq, acct_pk)
    if funding:
        models.FundingPayment.objects.bulk_create(funding, batch_size=500)
    sandbox.next_event_no = start + len(rows)
    summary.events = len(rows)
