"""Writes of the sandbox app. Each public function is one transaction, keyword-only, and raises
`SandboxError(field, message)` for bad input, leaving nothing changed.

Serialization: every write to a sandbox's engine state first takes the sandbox lock
(`_lock_sandbox`: SELECT ... FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction already
holds the database write lock) and ends with a conditional UPDATE of `Sandbox.version` (and, for a
tick, `tick_seq`): zero rows updated means another writer got there first, and the transaction
is rolled back. So learner orders and ticks never interleave, and a tick is applied exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from . import crowd, mappers, models, ops, prices
from .errors import SandboxError

IDLE_PAUSE_AFTER = timedelta(minutes=15)
MAX_TICK_SECONDS = 7 * 86400
SHOCK_KINDS_AVAILABLE = ("gap", "wick", "insurance_drain", "funding_spike", "utilization_spike")


class LedgerIntegrityError(AssertionError):
    """A journal that would not balance, or cached balances that disagree with the engine."""


class _Lost(Exception):
    """The conditional UPDATE found the sandbox changed: roll back and report a skip."""


@dataclass(frozen=True)
class TickOutcome:
    sandbox_id: int
    tick_seq: int
    applied: bool
    reason: str = ""
    sim_time: int = 0
    index_prices: dict[str, str] = field(default_factory=dict)
    liquidations: int = 0
    adl_events: int = 0
    clawbacks: int = 0
    deliveries: int = 0
    entries: int = 0
    events: int = 0
    lag_s: float = 0.0
    duration_ms: float = 0.0


@dataclass(frozen=True)
class FillOut:
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class OrderOutcome:
    order_id: int
    status: str  # open | waiting | filled | cancelled
    quantity: Decimal
    filled_quantity: Decimal
    average_price: Decimal | None
    fills: tuple[FillOut, ...]


# -- input checks ---------------------------------------------------------------------------


def _decimal_arg(name: str, value: Any, *, positive: bool = True, allow_none: bool = False) -> Decimal | None:
    if value is None:
        if allow_none:
            return None
        raise SandboxError(name, "is required")
    if isinstance(value, (bool, float)):
        raise SandboxError(name, f"must be a decimal number given as text or Decimal, got {value!r}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SandboxError(name, f"must be a decimal number, got {value!r}") from None
    if not d.is_finite():
        raise SandboxError(name, f"must be a finite number, got {value}")
    if positive and d <= 0:
        raise SandboxError(name, f"must be greater than 0, got {d}")
    if abs(d) >= Decimal("1e15") or (d != 0 and d.as_tuple().exponent < -18):
        raise SandboxError(name, f"{d} is out of range")
    return d


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise SandboxError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _lock_sandbox(sandbox_id: Any) -> models.Sandbox:
    if not isinstance(sandbox_id, int) or isinstance(sandbox_id, bool):
        raise SandboxError("sandbox_id", f"must be an integer id, got {sandbox_id!r}")
    qs = models.Sandbox.objects.all()
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=sandbox_id)
    except models.Sandbox.DoesNotExist:
        raise SandboxError("sandbox_id", f"sandbox {sandbox_id} does not exist", status=404) from None


def _bump(sb: models.Sandbox, **fields: Any) -> None:
    """Conditional version bump: the last statement of every state-changing transaction."""
    n = models.Sandbox.objects.filter(pk=sb.pk, version=sb.version).update(version=sb.version + 1, **fields)
    if n != 1:
        raise SandboxError("sandbox", "the sandbox changed while this request ran; try again", status=409)
    sb.version += 1
    for k, v in fields.items():
        setattr(sb, k, v)


def _account(sb: models.Sandbox, account_pk: Any, *, active: bool = True) -> models.PaperAccount:
    if not isinstance(account_pk, int) or isinstance(account_pk, bool):
        raise SandboxError("account", f"must be an account id, got {account_pk!r}")
    acct = models.PaperAccount.objects.filter(pk=account_pk, sandbox=sb).first()
    if acct is None:
        raise SandboxError("account", f"account {account_pk} is not in sandbox {sb.pk}", status=404)
    if acct.kind != models.PaperAccount.Kind.USER:
        raise SandboxError("account", "only learner accounts can be used here")
    if active and not acct.active:
        raise SandboxError("account", "this account was reset; use the new one", status=409)
    return acct


def _require_running(sb: models.Sandbox) -> None:
    if sb.status != models.Sandbox.Status.RUNNING:
        raise SandboxError("sandbox", "the sandbox is paused; resume it to trade", status=409)


# -- the ledger ------------------------------------------------------------------------------


def ledger_post(*, sandbox: models.Sandbox, entries: Sequence[Any], tick_seq: int,
                sim_time: int) -> dict[tuple[str, str], int]:
    """Append journal entries and lines and update the cached balances; the only writer of all
    three. Returns the new balance (units) of every (account id, asset) it touched."""
    from exchange_edu.engine.numbers import to_units

    entries = [e for e in entries if e is not None]
    if not entries:
        return {}
    with transaction.atomic():
        unit_lines: list[list[tuple[str, str, int]]] = []
        for e in entries:
            lines = [(ln.account_id, ln.asset, to_units(ln.amount, ln.asset)) for ln in e.lines]
            totals: dict[str, int] = {}
            for _, asset, units in lines:
                totals[asset] = totals.get(asset, 0) + units
            if any(totals.values()):
                raise LedgerIntegrityError(f"entry {e.kind} does not balance: {totals}")
            unit_lines.append(lines)
        acct_pk = mappers.account_pks(sandbox, {a for lines in unit_lines for a, _, _ in lines})
        start = sandbox.next_entry_no
        rows = [models.JournalEntry(sandbox=sandbox, entry_no=start + i, tick_seq=tick_seq, sim_time=sim_time,
                                    kind=e.kind[:32], market_id=e.market or "", memo=(e.memo or "")[:200])
                for i, e in enumerate(entries)]
        models.JournalEntry.objects.bulk_create(rows, batch_size=500)
        line_rows = []
        net: dict[tuple[int, str], int] = {}
        for row, lines in zip(rows, unit_lines, strict=True):
            for account_id, asset, units in lines:
                pk = acct_pk[account_id]
                line_rows.append(models.JournalLine(entry_id=row.pk, sandbox=sandbox, account_id=pk, asset=asset,
                                                    amount_units=units))
                net[(pk, asset)] = net.get((pk, asset), 0) + units
        models.JournalLine.objects.bulk_create(line_rows, batch_size=1000)
        existing = {(b.account_id, b.asset): b for b in models.Balance.objects.filter(
            account_id__in={pk for pk, _ in net})}
        create, update = [], []
        for (pk, asset), units in net.items():
            b = existing.get((pk, asset))
            if b is None:
                create.append(models.Balance(account_id=pk, asset=asset, amount_units=units))
            else:
                b.amount_units += units
                update.append(b)
        if create:
            models.Balance.objects.bulk_create(create, batch_size=500)
        if update:
            models.Balance.objects.bulk_update(update, ["amount_units"], batch_size=500)
        sandbox.next_entry_no = start + len(rows)
        models.Sandbox.objects.filter(pk=sandbox.pk).update(next_entry_no=sandbox.next_entry_no)
        by_pk = {v: k for k, v in acct_pk.items()}
        return {(by_pk[pk], asset): b.amount_units for b in (*create, *update) for pk, asset in
                [(b.account_id, b.asset)]}


def _check_balances(delta: Any, balances: dict[tuple[str, str], int]) -> None:
    from exchange_edu.engine.numbers import to_units

    for (account_id, asset), units in balances.items():
        acct = delta.accounts.get(account_id)
        engine_units = to_units(acct.balance(asset), asset) if acct is not None else None
        if engine_units != units:
            raise LedgerIntegrityError(f"{account_id} {asset}: ledger {units} units, engine {engine_units}")


def _commit_delta(sb: models.Sandbox, state: Any, delta: Any, *, known_fills: tuple = (),
                  placed: tuple | None = None) -> mappers.PersistSummary:
    """Persist an engine delta outside a tick (orders, transfers), bump the version, cache."""
    summary = mappers.persist_delta(sb, delta, tick_seq=sb.tick_seq, known_fills=known_fills, placed=placed)
    balances = ledger_post(sandbox=sb, entries=delta.entries, tick_seq=sb.tick_seq, sim_time=sb.sim_time)
    _check_balances(delta, balances)
    _bump(sb, next_event_no=sb.next_event_no, next_order_id=delta.next_order_id,
          next_order_seq=delta.next_order_seq)
    mappers.remember_state_on_commit(sb, sb.version, state, delta)
    return summary


# -- sandboxes -------------------------------------------------------------------------------


@transaction.atomic
def sandbox_create(*, preset: str, overrides: dict[str, Any] | None = None, price_source: str = "synthetic",
                   seed: int = 0, tick_seconds: int = 60, tick_interval_s: float = 1.0, owner: Any = None,
                   name: str = "", running: bool = True, bots: int = 0) -> models.Sandbox:
    """A new sandbox exchange: the preset's markets listed, the insurance fund seeded, and
    `bots` traders (plus market makers) funded and configured when asked for."""
    if not isinstance(preset, str):
        raise SandboxError("preset", "must be a preset name")
    if overrides is not None and not isinstance(overrides, dict):
        raise SandboxError("overrides", "must be an object of dotted rule paths to values")
    rules = mappers.rules_for(preset, overrides)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**62:
        raise SandboxError("seed", "must be a non-negative integer")
    if not isinstance(tick_seconds, int) or isinstance(tick_seconds, bool) or not 1 <= tick_seconds <= MAX_TICK_SECONDS:
        raise SandboxError("tick_seconds", f"must be an integer from 1 to {MAX_TICK_SECONDS}")
    if not isinstance(tick_interval_s, (int, float)) or not 0.2 <= float(tick_interval_s) <= 3600:
        raise SandboxError("tick_interval_s", "must be between 0.2 and 3600 seconds")
    if not isinstance(bots, int) or isinstance(bots, bool) or not 0 <= bots <= crowd.MAX_BOTS:
        raise SandboxError("bots", f"must be an integer from 0 to {crowd.MAX_BOTS}")
    prices.validate_source(price_source, step_seconds=tick_seconds)
    p0, base = prices.index_price(price_source, seed=seed, step_seconds=tick_seconds, t=0, tick_seq=0)
    state, entries = ops.genesis(rules, p0, prices.source_epoch(price_source))
    now = timezone.now()
    sb = models.Sandbox.objects.create(
        name=name[:120], owner=owner, preset=preset, overrides=overrides or {}, price_source=price_source,
        seed=seed, epoch=state.epoch, tick_seconds=tick_seconds, price_step_seconds=tick_seconds,
        tick_interval_s=float(tick_interval_s),
        status=models.Sandbox.Status.RUNNING if running else models.Sandbox.Status.PAUSED,
        pause_reason="" if running else models.Sandbox.PauseReason.MANUAL,
        next_tick_at=now + timedelta(seconds=float(tick_interval_s)), last_viewed_at=now,
        next_order_id=state.next_order_id, next_order_seq=state.next_order_seq, source_price=base)
    mappers.persist_markets(sb, state.markets, state.market_states, state.books)
    mappers.account_pks(sb, ops.system_account_ids())
    mappers.persist_pools(sb, state.pools)
    ledger_post(sandbox=sb, entries=entries, tick_seq=0, sim_time=0)
    if bots:
        _populate_crowd(sb, rules, p0, bots)
    return sb


def _populate_crowd(sb: models.Sandbox, rules: Any, reference_price: Decimal, count: int) -> None:
    """Open, fund and configure the sandbox's bots (inside sandbox_create's transaction)."""
    models.Sandbox.objects.filter(pk=sb.pk).update(bot_count=count, bot_reference_price=reference_price)
    sb.bot_count, sb.bot_reference_price = count, reference_price
    bots = crowd.crowd_of(sb, rules)
    mappers.account_pks(sb, [spec.account_id for spec in bots])
    state = mappers.load_state(sb, rules)
    moves = [("deposit", asset, amount, ops.SYS_EXTERNAL_ID, account_id)
             for account_id, wallet in sorted(crowd.deposits(rules, bots).items())
             for asset, amount in sorted(wallet.items())]
    delta = ops.transfers_delta(state, rules, moves)
    _commit_delta(sb, state, delta)
    crowd.with_settings(sb, rules, mappers.state_from_db(sb, rules), bots)
    _bump(sb)  # the cached state lacks the bots' settings: a new version makes it stale
    state = mappers.state_from_db(sb, rules)
    if state.pools.get(rules.contract.settlement_asset) is not None:
        # a lending preset's crowd includes borrowers: idle balances earn from the first hour
        _commit_delta(sb, state, ops.utilization_delta(state, rules, crowd.BACKGROUND_UTILIZATION))


def _set_status(sandbox_id: int, status: str, reason: str) -> models.Sandbox:
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        fields: dict[str, Any] = {"status": status, "pause_reason": reason}
        if status == models.Sandbox.Status.RUNNING and sb.status != status:
            fields["next_tick_at"] = timezone.now()
        models.Sandbox.objects.filter(pk=sb.pk).update(**fields)
        for k, v in fields.items():
            setattr(sb, k, v)
        return sb


def sandbox_pause(*, sandbox_id: int) -> models.Sandbox:
    """Stop the clock (an explicit pause: viewing the sandbox does not resume it)."""
    return _set_status(sandbox_id, models.Sandbox.Status.PAUSED, models.Sandbox.PauseReason.MANUAL)


def sandbox_resume(*, sandbox_id: int) -> models.Sandbox:
    return _set_status(sandbox_id, models.Sandbox.Status.RUNNING, "")


def sandbox_set_speed(*, sandbox_id: int, tick_seconds: int, tick_interval_s: float | None = None) -> models.Sandbox:
    """Sim seconds per tick (and optionally wall seconds between ticks)."""
    if not isinstance(tick_seconds, int) or isinstance(tick_seconds, bool) or not 1 <= tick_seconds <= MAX_TICK_SECONDS:
        raise SandboxError("tick_seconds", f"must be an integer from 1 to {MAX_TICK_SECONDS}")
    if tick_interval_s is not None and (not isinstance(tick_interval_s, (int, float))
                                        or not 0.2 <= float(tick_interval_s) <= 3600):
        raise SandboxError("tick_interval_s", "must be between 0.2 and 3600 seconds")
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        fields: dict[str, Any] = {"tick_seconds": tick_seconds}
        if tick_interval_s is not None:
            fields["tick_interval_s"] = float(tick_interval_s)
        models.Sandbox.objects.filter(pk=sb.pk).update(**fields)
        for k, v in fields.items():
            setattr(sb, k, v)
        return sb


def sandbox_touch(*, sandbox_id: int) -> models.Sandbox:
    """Someone is looking: remember when, and resume a sandbox that paused itself for idleness."""
    now = timezone.now()
    with transaction.atomic():
        n = models.Sandbox.objects.filter(pk=sandbox_id, status=models.Sandbox.Status.PAUSED,
                                          pause_reason=models.Sandbox.PauseReason.IDLE).update(
            status=models.Sandbox.Status.RUNNING, pause_reason="", next_tick_at=now, last_viewed_at=now)
        if not n:
            models.Sandbox.objects.filter(pk=sandbox_id).update(last_viewed_at=now)
        sb = models.Sandbox.objects.filter(pk=sandbox_id).first()
    if sb is None:
        raise SandboxError("sandbox_id", f"sandbox {sandbox_id} does not exist", status=404)
    return sb


def sandbox_pause_idle(*, now: datetime | None = None, idle_after: timedelta = IDLE_PAUSE_AFTER) -> int:
    """Pause running sandboxes nobody viewed for `idle_after`; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        return models.Sandbox.objects.filter(status=models.Sandbox.Status.RUNNING).filter(
            Q(last_viewed_at__lt=now - idle_after) | Q(last_viewed_at__isnull=True)).update(
            status=models.Sandbox.Status.PAUSED, pause_reason=models.Sandbox.PauseReason.IDLE)


# -- accounts and money -----------------------------------------------------------------------


def _state(sb: models.Sandbox) -> tuple[Any, Any]:
    rules = mappers.sandbox_rules(sb)
    return rules, mappers.load_state(sb, rules)


def _next_account_id(sb: models.Sandbox, user: Any) -> str:
    base = f"u:{user.pk}" if user is not None else "u:anon"
    taken = set(models.PaperAccount.objects.filter(sandbox=sb, account_id__startswith=base)
                .values_list("account_id", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}:{n}" in taken:
        n += 1
    return f"{base}:{n}"


def _open(sb: models.Sandbox, user: Any, label: str, state: Any, rules: Any) -> tuple[models.PaperAccount, Any]:
    account_id = _next_account_id(sb, user)
    acct = models.PaperAccount.objects.create(sandbox=sb, account_id=account_id, kind=models.PaperAccount.Kind.USER,
                                              user=user, label=label[:80] or account_id)
    moves = [("faucet", asset, amount, ops.SYS_EXTERNAL_ID, account_id)
             for asset, amount in sorted(ops.faucet(rules).items())]
    return acct, ops.transfers_delta(state, rules, moves)


def account_open(*, sandbox_id: int, user: Any = None, label: str = "") -> models.PaperAccount:
    """The user's active paper account in the sandbox, opened with the preset's faucet if new."""
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        if user is not None:
            existing = models.PaperAccount.objects.filter(sandbox=sb, user=user, active=True,
                                                          kind=models.PaperAccount.Kind.USER).first()
            if existing is not None:
                return existing
        rules, state = _state(sb)
        acct, delta = _open(sb, user, label, state, rules)
        _commit_delta(sb, state, delta)
        return acct


def account_reset(*, sandbox_id: int, account_pk: int) -> models.PaperAccount:
    """Start over: orders cancelled, positions handed to the liquidation engine at mark, the
    balance paid out; the old account is kept (inactive, for the record) and a fresh one opened."""
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        old = _account(sb, account_pk)
        rules, state = _state(sb)
        delta = ops.close_account_delta(state, rules, old.account_id)
        _commit_delta(sb, state, delta)
        models.PaperAccount.objects.filter(pk=old.pk).update(active=False)
        state = mappers.state_from_db(sb, rules)
        acct, delta = _open(sb, old.user, old.label, state, rules)
        _commit_delta(sb, state, delta)
        return acct


def _asset_arg(sb: models.Sandbox, state: Any, rules: Any, asset: Any) -> str:
    allowed = sorted(set(ops.faucet(rules)) | set(ops.settlement_assets(state)))
    return _choice("asset", asset, allowed)


def deposit(*, sandbox_id: int, account_pk: int, asset: str, amount: Decimal | str | int) -> dict[str, Decimal]:
    """Paper money in from outside; returns the account's balances."""
    return _move_money(sandbox_id, account_pk, asset, amount, incoming=True)


def withdraw(*, sandbox_id: int, account_pk: int, asset: str, amount: Decimal | str | int) -> dict[str, Decimal]:
    """Paper money out, never what margin, pending funding or open orders need."""
    return _move_money(sandbox_id, account_pk, asset, amount, incoming=False)


def _move_money(sandbox_id: int, account_pk: int, asset: Any, amount: Any, *, incoming: bool) -> dict[str, Decimal]:
    value = _decimal_arg("amount", amount)
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        acct = _account(sb, account_pk)
        rules, state = _state(sb)
        asset = _asset_arg(sb, state, rules, asset)
        value = ops.quantize_down(value, asset)
        if value <= 0:
            raise SandboxError("amount", f"is less than the smallest unit of {asset}")
        if incoming:
            if value > 1_000_000 * max(ops.faucet(rules).get(asset, Decimal(1)), Decimal(1)):
                raise SandboxError("amount", "is more paper money than a sandbox hands out")
            move = ("deposit", asset, value, ops.SYS_EXTERNAL_ID, acct.account_id)
        else:
            free = ops.withdrawable(state, rules, acct.account_id, asset)
            if value > free:
                raise SandboxError("amount", f"only {free} {asset} can be withdrawn; the rest backs margin, "
                                             "pending funding or open orders")
            move = ("withdrawal", asset, value, acct.account_id, ops.SYS_EXTERNAL_ID)
        delta = ops.transfers_delta(state, rules, [move])
        _commit_delta(sb, state, delta)
        return dict(delta.accounts[acct.account_id].balances)


# -- orders ----------------------------------------------------------------------------------


_FIELDS = ("price", "quantity", "trigger_price", "side", "order_type", "time_in_force", "market", "leverage")


def _rejection(reason: str) -> SandboxError:
    head, _, rest = reason.partition(":")
    if rest and head in _FIELDS:
        return SandboxError(head, rest.strip())
    return SandboxError("order", reason)


def _outcome(order: Any, result: Any) -> OrderOutcome:
    fills = tuple(FillOut(f.price, f.quantity) for f in result.fills)
    filled = sum((f.quantity for f in fills), Decimal(0))
    if filled:
        # average fill price: plain for linear; the engine's entry averaging handles inverse
        avg = sum((f.price * f.quantity for f in fills), Decimal(0)) / filled
    else:
        avg = None
    if result.resting is not None:
        status = "open"
    elif order.order_type in ("stop_market", "take_profit"):
        status = "waiting"
    else:
        status = "filled" if filled == order.quantity else "cancelled"
    return OrderOutcome(order.order_id, status, order.quantity, filled, avg, fills)


def _place(sb: models.Sandbox, acct: models.PaperAccount, order_fields: dict[str, Any], *,
           leverage: Decimal | None = None, margin_mode: str | None = None) -> OrderOutcome:
    rules, state = _state(sb)
    market_id = order_fields["market_id"]
    if market_id not in state.markets:
        open_ids = [m for m, s in state.market_states.items() if s.status.value == "open"]
        raise SandboxError("market", f"unknown market {market_id!r}; open markets: {', '.join(open_ids)}",
                           status=404)
    if state.market_states[market_id].status.value != "open":
        raise SandboxError("market", f"market {market_id} has expired")
    if leverage is not None or margin_mode is not None:
        if leverage is not None and not ops.allows_leverage(rules, leverage):
            raise SandboxError("leverage", f"{leverage}x is not allowed in {sb.preset}; "
                                           f"at most {ops.max_leverage(rules)}x")
        if margin_mode is not None:
            _choice("margin_mode", margin_mode, ops.margin_modes(rules))
        pos = state.position(acct.account_id, market_id)
        current = state.account(acct.account_id)
        changes = (leverage is not None and current.leverage.get(market_id) != leverage) or \
            (margin_mode is not None and getattr(current.margin_mode.get(market_id), "value", None) != margin_mode)
        if changes and pos is not None and pos.size:
            raise SandboxError("leverage", "close the position before changing its leverage or margin mode")
        if changes:
            state = ops.with_settings(state, acct.account_id, market_id, leverage=leverage, margin_mode=margin_mode)
            a = state.account(acct.account_id)
            models.PaperAccount.objects.filter(pk=acct.pk).update(
                leverage={k: str(v) for k, v in a.leverage.items()},
                margin_mode={k: v.value for k, v in a.margin_mode.items()})
    try:
        order = ops.build_order(account_id=acct.account_id, **order_fields)
    except ops.OpError as exc:
        raise SandboxError(exc.field, exc.message) from None
    result = ops.place(state, rules, order)
    if result.rejected is not None:
        raise _rejection(result.rejected)
    _commit_delta(sb, state, result.delta, known_fills=result.fills, placed=(result.order, result))
    return _outcome(result.order, result)


def order_place(*, sandbox_id: int, account_pk: int, market: str, side: str, quantity: Decimal | str | int,
                order_type: str = "limit", price: Decimal | str | int | None = None,
                trigger_price: Decimal | str | int | None = None, trigger_on: str = "mark",
                time_in_force: str = "gtc", reduce_only: bool = False, leverage: Decimal | str | int | None = None,
                margin_mode: str | None = None) -> OrderOutcome:
    """Validate and match an order now, under the sandbox lock (never waiting for the beat)."""
    side = _choice("side", side, ("buy", "sell"))
    order_type = _choice("order_type", order_type, ("limit", "market", "stop_market", "take_profit"))
    time_in_force = _choice("time_in_force", time_in_force, ("gtc", "ioc", "post_only"))
    trigger_on = _choice("trigger_on", trigger_on, ("mark", "last", "index"))
    qty = _decimal_arg("quantity", quantity)
    px = _decimal_arg("price", price, allow_none=True)
    trig = _decimal_arg("trigger_price", trigger_price, allow_none=True)
    lev = _decimal_arg("leverage", leverage, allow_none=True)
    if order_type == "limit" and px is None:
        raise SandboxError("price", "a limit order needs a price")
    if not isinstance(market, str) or not market:
        raise SandboxError("market", "is required")
    if not isinstance(reduce_only, bool):
        raise SandboxError("reduce_only", "must be true or false")
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        _require_running(sb)
        acct = _account(sb, account_pk)
        fields = {"market_id": market, "side": side, "order_type": order_type, "quantity": qty, "price": px,
                  "trigger_price": trig, "trigger_on": trigger_on, "time_in_force": time_in_force,
                  "reduce_only": reduce_only}
        return _place(sb, acct, fields, leverage=lev, margin_mode=margin_mode)


def order_cancel(*, sandbox_id: int, account_pk: int, order_id: int) -> None:
    """Take a resting or waiting order off the book."""
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise SandboxError("order_id", f"must be an integer, got {order_id!r}")
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        _require_running(sb)
        acct = _account(sb, account_pk)
        row = models.Order.objects.filter(sandbox=sb, order_id=order_id, account=acct).select_related("market").first()
        if row is None:
            raise SandboxError("order_id", f"order {order_id} is not one of this account's orders", status=404)
        if row.status not in (models.Order.Status.OPEN, models.Order.Status.WAITING):
            raise SandboxError("order_id", f"order {order_id} is already {row.status}", status=409)
        rules, state = _state(sb)
        try:
            delta = ops.cancel_delta(state, rules, row.market.market_id, order_id, acct.account_id)
        except ops.OpError as exc:
            raise SandboxError(exc.field, exc.message) from None
        _commit_delta(sb, state, delta)


def position_close(*, sandbox_id: int, account_pk: int, market: str) -> OrderOutcome:
    """Close the whole position with a reduce-only market order."""
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        _require_running(sb)
        acct = _account(sb, account_pk)
        _rules, state = _state(sb)
        if market not in state.markets:
            raise SandboxError("market", f"unknown market {market!r}", status=404)
        order = ops.closing_order(state, acct.account_id, market)
        if order is None:
            raise SandboxError("market", f"no open position in {market}", status=409)
        fields = {"market_id": market, "side": order.side.value, "order_type": "market", "quantity": order.quantity,
                  "price": None, "trigger_price": None, "trigger_on": "mark", "time_in_force": "gtc",
                  "reduce_only": True}
        return _place(sb, acct, fields)


# -- ticks -----------------------------------------------------------------------------------


def default_bots() -> ops.BotsFn | None:
    """The crowd: `settings.SANDBOX_BOTS` (a dotted path to `orders_for_tick`), else none."""
    path = getattr(settings, "SANDBOX_BOTS", None)
    return import_string(path) if path else None


def _active_shocks(sb: models.Sandbox, tick_seq: int) -> list[models.SandboxShock]:
    return [s for s in models.SandboxShock.objects.filter(sandbox=sb, start_seq__lte=tick_seq,
                                                          kind__in=("gap", "wick"))]


def sandbox_advance(*, sandbox_id: int, expected_tick_seq: int | None = None, bots: ops.BotsFn | None = None,
                    require_running: bool = True, now: datetime | None = None) -> TickOutcome:
    """Apply the sandbox's next tick, exactly once: `expected_tick_seq` is the tick_seq the caller
    saw (the tick applied is expected + 1); a duplicate or late delivery returns applied=False.

    `bots(state, rules, seed, tick_seq) -> (orders, cancels)` supplies the crowd's orders.
    """
    t0 = time.perf_counter()
    wall = now or timezone.now()
    try:
        with transaction.atomic():
            sb = _lock_sandbox(sandbox_id)
            n = int(sb.tick_seq)
            if expected_tick_seq is not None and n != expected_tick_seq:
                return TickOutcome(sb.pk, n, False, "already applied" if n > expected_tick_seq else "not yet due")
            if require_running and sb.status != models.Sandbox.Status.RUNNING:
                return TickOutcome(sb.pk, n, False, "paused")
            seq, t_next = n + 1, int(sb.sim_time) + int(sb.tick_seconds)
            scheduled = sb.next_tick_at or wall
            lag = max(0.0, (wall - scheduled).total_seconds())
            interval = timedelta(seconds=sb.tick_interval_s)
            next_at = max(scheduled + interval, wall)
            claim = models.Sandbox.objects.filter(pk=sb.pk, tick_seq=n, version=sb.version)
            if require_running:
                claim = claim.filter(status=models.Sandbox.Status.RUNNING)
            if not claim.update(tick_seq=seq, sim_time=t_next, version=sb.version + 1, next_tick_at=next_at,
                                last_tick_at=wall, last_tick_lag_s=lag):
                raise _Lost
            return _apply_tick(sb, seq, t_next, bots, scheduled, wall, lag, next_at, t0)
    except _Lost:
        return TickOutcome(sandbox_id, -1, False, "claimed by another worker")


def _apply_tick(sb: models.Sandbox, seq: int, t_next: int, bots: ops.BotsFn | None, scheduled: datetime,
                wall: datetime, lag: float, next_at: datetime, t0: float) -> TickOutcome:
    rules, state = _state(sb)  # the state at sb.version (before the claim)
    index, base = prices.index_price(sb.price_source, seed=int(sb.seed), step_seconds=int(sb.price_step_seconds),
                                     t=t_next, tick_seq=seq, shocks=_active_shocks(sb, seq))
    bot_specs = crowd.crowd_of(sb, rules)
    if bot_specs:
        state = crowd.with_settings(sb, rules, state, bot_specs)
    if bots is not None:
        orders, cancels = bots(state, rules, int(sb.seed), seq)
    elif bot_specs:
        orders, cancels = crowd.orders(state, rules, bot_specs, seed=int(sb.seed), tick_seq=seq)
    else:
        orders, cancels = (), ()
    tick_seed = (int(sb.seed) * 1_000_003 + seq) % (2**63)
    result = ops.tick(state, rules, tick_seq=seq, now=t_next,
                      index_prices={u: index for u in ops.underlyings(state)}, orders=orders, cancels=cancels,
                      seed=tick_seed)
    if result.skipped:  # the engine's own guard: the row and the state disagree
        raise LedgerIntegrityError(f"engine skipped tick {seq} of sandbox {sb.pk}")
    delta = result.delta
    summary = mappers.persist_delta(sb, delta, tick_seq=seq)
    balances = ledger_post(sandbox=sb, entries=delta.entries, tick_seq=seq, sim_time=t_next)
    _check_balances(delta, balances)
    mkt_pk = mappers.market_pks(sb)
    ticks = []
    for mid, pk in mkt_pk.items():
        ms = delta.market_states.get(mid) or state.market_states.get(mid)
        if ms is None or ms.status.value != "open":
            continue
        ticks.append(models.PriceTick(sandbox=sb, market_id=pk, tick_seq=seq, sim_time=t_next,
                                      index_price=ms.index_price, mark_price=ms.mark_price, last_price=ms.last_price))
    models.PriceTick.objects.bulk_create(ticks)
    duration_ms = (time.perf_counter() - t0) * 1000
    models.TickRecord.objects.create(sandbox=sb, tick_seq=seq, sim_time=t_next, scheduled_at=scheduled,
                                     applied_at=wall, lag_s=lag, duration_ms=duration_ms,
                                     liquidations=summary.liquidations, entries=len(delta.entries),
                                     events=summary.events)
    version = sb.version + 1
    models.Sandbox.objects.filter(pk=sb.pk).update(
        next_event_no=sb.next_event_no, next_order_id=delta.next_order_id, next_order_seq=delta.next_order_seq,
        source_price=base)
    mappers.remember_state_on_commit(sb, version, state, delta)
    return TickOutcome(sb.pk, seq, True, "", t_next, {"index": str(index)}, summary.liquidations,
                       summary.adl_events, summary.clawbacks, summary.deliveries, len(delta.entries),
                       summary.events, lag, duration_ms)


# -- instructor shocks -----------------------------------------------------------------------


def shock_apply(*, sandbox_id: int, kind: str, magnitude: Decimal | str | int, ticks: int = 1,
                created_by: Any = None) -> models.SandboxShock | None:
    """gap / wick: move the price by `magnitude` (e.g. "-0.2") over `ticks` ticks (a wick returns
    over as many again); insurance_drain: take `magnitude` (0..1) of the fund away now;
    funding_spike: the next funding rate of every perpetual becomes `magnitude` (e.g. "0.003"),
    within the preset's cap; utilization_spike: the lending pool's utilization becomes
    `magnitude` (0..0.95) through a background borrower (presets with a lending pool)."""
    kind = _choice("kind", kind, [k.value for k in models.SandboxShock.Kind])
    if kind not in SHOCK_KINDS_AVAILABLE:
        raise SandboxError("kind", f"{kind.replace('_', ' ')} is not available for this preset (it needs the "
                                   f"v3 lending engine); available: {', '.join(SHOCK_KINDS_AVAILABLE)}")
    m = _decimal_arg("magnitude", magnitude, positive=False)
    assert m is not None
    if not isinstance(ticks, int) or isinstance(ticks, bool) or not 1 <= ticks <= 10_000:
        raise SandboxError("ticks", "must be an integer from 1 to 10000")
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        if kind in ("gap", "wick"):
            if not Decimal("-0.95") <= m <= Decimal(10) or m == 0:
                raise SandboxError("magnitude", "must be a non-zero fraction between -0.95 and 10 (e.g. -0.2)")
            return models.SandboxShock.objects.create(sandbox=sb, kind=kind, magnitude=m, start_seq=sb.tick_seq + 1,
                                                      ticks=ticks, created_by=created_by)
        if kind == "utilization_spike":
            if not Decimal(0) <= m <= Decimal("0.95"):
                raise SandboxError("magnitude", "must be a utilization between 0 and 0.95 (e.g. 0.9)")
            return _shock_delta(sb, kind, m, created_by, ops.utilization_delta)
        if kind == "funding_spike":
            if not Decimal("-0.1") <= m <= Decimal("0.1") or m == 0:
                raise SandboxError("magnitude", "must be a non-zero rate between -0.1 and 0.1 (e.g. 0.003)")
            return _shock_delta(sb, kind, m, created_by, ops.funding_spike_delta)
        if not Decimal(0) < m <= Decimal(1):
            raise SandboxError("magnitude", "must be a fraction of the fund between 0 and 1")
        rules, state = _state(sb)
        moves = []
        for asset in ops.settlement_assets(state):
            amount = ops.quantize_down(ops.insurance_balance(state, asset) * m, asset)
            if amount > 0:
                moves.append(("insurance_drain", asset, amount, ops.SYS_INSURANCE_ID, ops.SYS_EXTERNAL_ID))
        if not moves:
            raise SandboxError("magnitude", "the insurance fund is empty")
        delta = ops.transfers_delta(state, rules, moves)
        _commit_delta(sb, state, delta)
        return models.SandboxShock.objects.create(sandbox=sb, kind=kind, magnitude=m, start_seq=sb.tick_seq,
                                                  ticks=1, created_by=created_by)


def _shock_delta(sb: models.Sandbox, kind: str, magnitude: Decimal, created_by: Any,
                 build: Any) -> models.SandboxShock:
    """A shock that changes the engine state now: `build(state, rules, magnitude) -> Delta`."""
    rules, state = _state(sb)
    try:
        delta = build(state, rules, magnitude)
    except ops.OpError as exc:
        raise SandboxError(exc.field, f"{exc.message} ({sb.preset})") from None
    _commit_delta(sb, state, delta)
    return models.SandboxShock.objects.create(sandbox=sb, kind=kind, magnitude=magnitude, start_seq=sb.tick_seq,
                                              ticks=1, created_by=created_by)


def account_set_leverage(*, sandbox_id: int, account_pk: int, market: str, leverage: Decimal | str | int,
                         margin_mode: str | None = None) -> None:
    """Choose leverage (and margin mode) for a market before opening a position there."""
    lev = _decimal_arg("leverage", leverage)
    with transaction.atomic():
        sb = _lock_sandbox(sandbox_id)
        acct = _account(sb, account_pk)
        rules, state = _state(sb)
        if market not in state.markets:
            raise SandboxError("market", f"unknown market {market!r}", status=404)
        if not ops.allows_leverage(rules, lev):
            raise SandboxError("leverage", f"{lev}x is not allowed in {sb.preset}; at most {ops.max_leverage(rules)}x")
        if margin_mode is not None:
            _choice("margin_mode", margin_mode, ops.margin_modes(rules))
        pos = state.position(acct.account_id, market)
        if pos is not None and pos.size:
            raise SandboxError("leverage", "close the position before changing its leverage or margin mode")
        a = ops.with_settings(state, acct.account_id, market, leverage=lev, margin_mode=margin_mode).account(
            acct.account_id)
        models.PaperAccount.objects.filter(pk=acct.pk).update(
            leverage={k: str(v) for k, v in a.leverage.items()},
            margin_mode={k: v.value for k, v in a.margin_mode.items()})
        _bump(sb)
