"""Reads of the sandbox app: frozen results, never model instances handed to other apps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q, Sum
from django.utils import timezone

from exchange_edu.engine.numbers import from_units

from . import models
from .errors import SandboxError


@dataclass(frozen=True)
class TickLagSummary:
    running_sandboxes: int
    max_lag_s: float  # worst of the recorded lag of the last tick and how overdue the next one is


def tick_lag_summary(*, now: datetime | None = None) -> TickLagSummary:
    """For /api/v1/health: how many sandboxes run and how far behind schedule the worst one is."""
    now = now or timezone.now()
    running = models.Sandbox.objects.filter(status=models.Sandbox.Status.RUNNING)
    agg = running.aggregate(recorded=Max("last_tick_lag_s"), oldest_due=Max("next_tick_at"))
    count = running.count()
    if not count:
        return TickLagSummary(0, 0.0)
    worst = float(agg["recorded"] or 0.0)
    first_due = running.exclude(next_tick_at=None).order_by("next_tick_at").values_list(
        "next_tick_at", flat=True).first()
    if first_due is not None:
        worst = max(worst, (now - first_due).total_seconds())
    return TickLagSummary(count, round(max(worst, 0.0), 3))


def due_sandboxes(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, int]]:
    """(sandbox id, tick_seq) of running sandboxes whose next tick is due, most overdue first."""
    now = now or timezone.now()
    return list(models.Sandbox.objects.filter(status=models.Sandbox.Status.RUNNING, next_tick_at__lte=now)
                .order_by("next_tick_at").values_list("pk", "tick_seq")[:limit])


# -- the audit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    sandbox_id: int
    what: str


@dataclass(frozen=True)
class AuditReport:
    sandboxes: int
    entries: int
    lines: int
    problems: tuple[AuditProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_audit(*, sandbox_id: int | None = None) -> AuditReport:
    """Every journal balances per asset (in total and entry by entry), and every cached balance
    equals the sum of its account's lines; tick records are contiguous."""
    sandboxes = models.Sandbox.objects.all()
    if sandbox_id is not None:
        sandboxes = sandboxes.filter(pk=sandbox_id)
    problems: list[AuditProblem] = []
    n_entries = n_lines = 0
    ids = list(sandboxes.values_list("pk", "tick_seq"))
    for pk, tick_seq in ids:
        lines = models.JournalLine.objects.filter(sandbox_id=pk)
        n_lines += lines.count()
        n_entries += models.JournalEntry.objects.filter(sandbox_id=pk).count()
        for asset, total in lines.values_list("asset").annotate(total=Sum("amount_units")).values_list(
                "asset", "total"):
            if total:
                problems.append(AuditProblem(pk, f"journal lines in {asset} sum to {total} units, not 0"))
        unbalanced = (lines.values("entry_id", "asset").annotate(total=Sum("amount_units"))
                      .exclude(total=0).values_list("entry__entry_no", "asset", "total")[:20])
        for entry_no, asset, total in unbalanced:
            problems.append(AuditProblem(pk, f"entry {entry_no} does not balance in {asset}: {total} units"))
        sums = {(a, s): t for a, s, t in lines.values_list("account_id", "asset").annotate(
            total=Sum("amount_units")).values_list("account_id", "asset", "total")}
        cached = {(a, s): u for a, s, u in models.Balance.objects.filter(account__sandbox_id=pk).values_list(
            "account_id", "asset", "amount_units")}
        names = dict(models.PaperAccount.objects.filter(sandbox_id=pk).values_list("pk", "account_id"))
        for key in sorted(set(sums) | set(cached)):
            if sums.get(key, 0) != cached.get(key, 0):
                problems.append(AuditProblem(pk, f"{names.get(key[0], key[0])} {key[1]}: cached balance "
                                                 f"{cached.get(key, 0)} units, lines sum to {sums.get(key, 0)}"))
        seqs = list(models.TickRecord.objects.filter(sandbox_id=pk).order_by("tick_seq").values_list(
            "tick_seq", flat=True))
        if seqs != list(range(1, tick_seq + 1)):
            missing = sorted(set(range(1, tick_seq + 1)) - set(seqs))[:10]
            problems.append(AuditProblem(pk, f"tick records are not 1..{tick_seq}: {len(seqs)} rows, "
                                             f"missing {missing}"))
    return AuditReport(len(ids), n_entries, n_lines, tuple(problems))


# -- small reads for the pages, the API and the simulate command ---------------------------------


def account_balances(*, account_pk: int) -> dict[str, Decimal]:
    return {asset: from_units(units, asset) for asset, units in
            models.Balance.objects.filter(account_id=account_pk).values_list("asset", "amount_units")}


def insurance_fund(*, sandbox_id: int) -> dict[str, Decimal]:
    return {asset: from_units(units, asset) for asset, units in models.Balance.objects.filter(
        account__sandbox_id=sandbox_id, account__kind=models.PaperAccount.Kind.INSURANCE).values_list(
        "asset", "amount_units")}


@dataclass(frozen=True)
class FlowTotals:
    paid: dict[str, Decimal]
    received: dict[str, Decimal]


def trader_flows(*, sandbox_id: int, kind: str) -> FlowTotals:
    """What traders (users and bots) paid and received in journal entries of one kind
    ("funding", "interest", ...), per asset."""
    lines = models.JournalLine.objects.filter(sandbox_id=sandbox_id, entry__kind=kind, account__kind__in=(
        models.PaperAccount.Kind.USER, models.PaperAccount.Kind.BOT))
    paid = dict(lines.filter(amount_units__lt=0).values_list("asset").annotate(t=Sum("amount_units")).values_list(
        "asset", "t"))
    received = dict(lines.filter(amount_units__gt=0).values_list("asset").annotate(
        t=Sum("amount_units")).values_list("asset", "t"))
    return FlowTotals({a: -from_units(u, a) for a, u in paid.items()},
                      {a: from_units(u, a) for a, u in received.items()})


def event_counts(*, sandbox_id: int) -> dict[str, int]:
    from django.db.models import Count

    return dict(models.EventLog.objects.filter(sandbox_id=sandbox_id).values_list("kind").annotate(
        n=Count("pk")).values_list("kind", "n"))


@dataclass(frozen=True)
class Candle:
    start: int  # sim seconds
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def candles(*, sandbox_id: int, market: str, seconds: int = 3600, price: str = "index",
            limit: int = 500) -> list[Candle]:
    """OHLC of the index (or mark) price per `seconds` bucket, from the stored price ticks."""
    column = {"index": "index_price", "mark": "mark_price"}.get(price, "index_price")
    rows = models.PriceTick.objects.filter(sandbox_id=sandbox_id, market__market_id=market).order_by(
        "-tick_seq").values_list("sim_time", column)[: limit * 64]
    buckets: dict[int, list[Decimal]] = {}
    for t, p in reversed(list(rows)):
        buckets.setdefault(t // seconds * seconds, []).append(p)
    out = [Candle(k, v[0], max(v), min(v), v[-1]) for k, v in sorted(buckets.items())]
    return out[-limit:]


# -- the JSON API's reads (exchange_edu/sandbox/api.py) ------------------------------------------
#
# Every read takes the sandbox id of a sandbox the caller may see (`sandbox_for_user` checks that
# first) and returns frozen records; times stay sim seconds here and the API turns them into UTC
# datetimes with `sim_datetime`. Lists are keyset-paginated: `after` is the last number the caller
# has (order id, fill seq, entry no, event no, tick seq), `limit` caps the page.


@dataclass(frozen=True)
class SandboxInfo:
    id: int
    name: str
    preset: str
    price_source: str
    seed: int
    status: str
    pause_reason: str
    epoch: datetime
    tick_seq: int
    sim_time: int
    tick_seconds: int
    tick_interval_s: float
    created_at: datetime
    last_viewed_at: datetime | None


_SANDBOX_FIELDS = ("pk", "name", "preset", "price_source", "seed", "status", "pause_reason", "epoch", "tick_seq",
                   "sim_time", "tick_seconds", "tick_interval_s", "created_at", "last_viewed_at")


def sim_datetime(epoch: datetime, seconds: int | None) -> datetime | None:
    """Sim seconds since the sandbox's epoch as a UTC datetime (None stays None)."""
    return None if seconds is None else epoch + timedelta(seconds=int(seconds))


def _not_found(sandbox_id: int) -> SandboxError:
    # the same answer for "no such sandbox" and "someone else's sandbox": ids are not an oracle
    return SandboxError("id", f"sandbox {sandbox_id} does not exist", status=404)


def sandbox_for_user(*, sandbox_id: int, user: Any) -> SandboxInfo:
    """The sandbox if `user` owns it; SandboxError 404 otherwise (also for another user's)."""
    row = models.Sandbox.objects.filter(pk=sandbox_id, owner=user).values_list(*_SANDBOX_FIELDS).first()
    if row is None:
        raise _not_found(sandbox_id)
    return SandboxInfo(*row)


def sandboxes_of_user(*, user: Any, after: int = 0, limit: int = 100) -> list[SandboxInfo]:
    rows = models.Sandbox.objects.filter(owner=user, pk__gt=after).order_by("pk").values_list(*_SANDBOX_FIELDS)
    return [SandboxInfo(*r) for r in rows[:limit]]


def sandbox_count_of_user(*, user: Any) -> int:
    return models.Sandbox.objects.filter(owner=user).count()


@dataclass(frozen=True)
class MarketInfo:
    symbol: str
    underlying: str
    kind: str  # inverse | linear
    contract_size: Decimal
    settlement_asset: str
    quote_asset: str
    tick_size: Decimal
    expiry_kind: str
    expiry_time: int | None  # sim seconds
    status: str


_MARKET_FIELDS = ("market_id", "underlying", "kind", "contract_size", "settlement_asset", "quote_asset",
                  "tick_size", "expiry_kind", "expiry_time", "status")


def markets(*, sandbox_id: int) -> list[MarketInfo]:
    rows = models.Market.objects.filter(sandbox_id=sandbox_id).order_by("pk").values_list(*_MARKET_FIELDS)
    return [MarketInfo(*r) for r in rows]


def _market_pk(sandbox_id: int, symbol: str) -> int:
    pk = models.Market.objects.filter(sandbox_id=sandbox_id, market_id=symbol).values_list("pk", flat=True).first()
    if pk is None:
        known = ", ".join(models.Market.objects.filter(sandbox_id=sandbox_id).values_list("market_id", flat=True))
        raise SandboxError("symbol", f"unknown market {symbol!r}; markets here: {known}", status=404)
    return pk


@dataclass(frozen=True)
class Ticker:
    symbol: str
    sim_time: int
    tick_seq: int
    index_price: Decimal
    mark_price: Decimal
    last_price: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    funding_rate: Decimal  # the rate fixed for the next funding time (per interval)
    next_funding_time: int | None
    open_interest: Decimal
    status: str


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: Decimal  # contracts resting at the price
    orders: int


@dataclass(frozen=True)
class Book:
    symbol: str
    tick_seq: int
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first


def _levels(rows: list[tuple[Decimal, Decimal]], *, descending: bool, depth: int) -> tuple[BookLevel, ...]:
    totals: dict[Decimal, list] = {}
    for price, remaining in rows:
        level = totals.setdefault(price, [Decimal(0), 0])
        level[0] += remaining
        level[1] += 1
    prices = sorted(totals, reverse=descending)[:depth]
    return tuple(BookLevel(p, totals[p][0], totals[p][1]) for p in prices)


def book(*, sandbox_id: int, symbol: str, depth: int = 20) -> Book:
    """Resting limit orders aggregated by price (from the order rows, so no engine state load)."""
    pk = _market_pk(sandbox_id, symbol)
    rows = models.Order.objects.filter(sandbox_id=sandbox_id, market_id=pk, status=models.Order.Status.OPEN
                                       ).values_list("side", "price", "remaining")
    bids = [(p, r) for side, p, r in rows if side == "buy" and p is not None]
    asks = [(p, r) for side, p, r in rows if side == "sell" and p is not None]
    tick_seq = models.Sandbox.objects.filter(pk=sandbox_id).values_list("tick_seq", flat=True).get()
    return Book(symbol, tick_seq, _levels(bids, descending=True, depth=depth), _levels(asks, descending=False,
                                                                                      depth=depth))


def ticker(*, sandbox_id: int, symbol: str) -> Ticker:
    _market_pk(sandbox_id, symbol)
    m = models.Market.objects.select_related("sandbox").get(sandbox_id=sandbox_id, market_id=symbol)
    top = book(sandbox_id=sandbox_id, symbol=symbol, depth=1)
    return Ticker(symbol, m.sandbox.sim_time, m.sandbox.tick_seq, m.index_price, m.mark_price, m.last_price,
                  top.bids[0].price if top.bids else None, top.asks[0].price if top.asks else None,
                  m.funding_rate_next, m.next_funding_time, m.open_interest, m.status)


@dataclass(frozen=True)
class Trade:
    seq: int
    tick_seq: int
    sim_time: int
    price: Decimal
    quantity: Decimal
    taker_side: str
    is_liquidation: bool
    liquidity: str | None  # "maker" / "taker" when one of `account_ids` traded, else None


def trades(*, sandbox_id: int, symbol: str, account_ids: Sequence[str] = (), after: int = 0,
           limit: int = 100) -> list[Trade]:
    """The market's fills in book order (seq > after)."""
    pk = _market_pk(sandbox_id, symbol)
    rows = models.Fill.objects.filter(market_id=pk, seq__gt=after).order_by("seq").values_list(
        "seq", "tick_seq", "sim_time", "price", "quantity", "taker_side", "is_liquidation", "maker_account_id",
        "taker_account_id")[:limit]
    mine = set(account_ids)
    return [Trade(seq, tick, t, price, qty, side, liq,
                  "maker" if maker in mine else "taker" if taker in mine else None)
            for seq, tick, t, price, qty, side, liq, maker, taker in rows]


MAX_CANDLE_TICKS = 50_000  # price ticks read per candles request


def market_candles(*, sandbox_id: int, symbol: str, seconds: int, after: int | None = None, price: str = "mark",
                   limit: int = 200) -> list[Candle]:
    """OHLC per `seconds` bucket of the stored price ticks, buckets starting after `after` (sim
    seconds; None: the latest `limit` buckets). Reads at most MAX_CANDLE_TICKS ticks."""
    pk = _market_pk(sandbox_id, symbol)
    column = {"index": "index_price", "mark": "mark_price", "last": "last_price"}[price]
    qs = models.PriceTick.objects.filter(market_id=pk).exclude(**{f"{column}__isnull": True})
    if after is not None:
        first = (after // seconds + 1) * seconds
        rows = list(qs.filter(sim_time__gte=first).order_by("tick_seq").values_list("sim_time", column)
                    [:MAX_CANDLE_TICKS])
    else:
        rows = list(qs.order_by("-tick_seq").values_list("sim_time", column)[:MAX_CANDLE_TICKS])[::-1]
    buckets: dict[int, list[Decimal]] = {}
    for t, p in rows:
        buckets.setdefault(t // seconds * seconds, []).append(p)
    out = [Candle(k, v[0], max(v), min(v), v[-1]) for k, v in sorted(buckets.items())]
    return out[:limit] if after is not None else out[-limit:]


@dataclass(frozen=True)
class FundingRecord:
    tick_seq: int
    sim_time: int
    rate: Decimal | None
    index_increment: Decimal | None
    open_interest: Decimal | None


def funding_history(*, sandbox_id: int, symbol: str, after: int = 0, limit: int = 100) -> list[FundingRecord]:
    """The market's funding payments (one per funding time), tick_seq > after."""
    pk = _market_pk(sandbox_id, symbol)
    rows = models.FundingPayment.objects.filter(market_id=pk, account__isnull=True, tick_seq__gt=after).order_by(
        "tick_seq", "pk").values_list("tick_seq", "sim_time", "rate", "index_increment", "contracts")[:limit]
    return [FundingRecord(*r) for r in rows]


# -- the caller's account -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRef:
    pk: int
    account_id: str  # the engine's id, e.g. "u:12"


def active_account(*, sandbox_id: int, user: Any) -> AccountRef | None:
    """The user's active paper account in the sandbox (None before the first one is opened)."""
    row = models.PaperAccount.objects.filter(sandbox_id=sandbox_id, user=user, active=True,
                                             kind=models.PaperAccount.Kind.USER).values_list(
        "pk", "account_id").first()
    return AccountRef(*row) if row else None


def account_ids_of_user(*, sandbox_id: int, user: Any) -> list[str]:
    """Engine ids of all the user's accounts in the sandbox (reset ones included)."""
    return list(models.PaperAccount.objects.filter(sandbox_id=sandbox_id, user=user).values_list(
        "account_id", flat=True))


@dataclass(frozen=True)
class PositionView:
    symbol: str
    size: Decimal  # contracts, signed: + long, - short
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal  # settlement asset, at mark
    pending_funding: Decimal  # owed BY the position since its last settlement
    margin_mode: str
    leverage: Decimal
    isolated_margin: Decimal
    maintenance_margin_rate: Decimal
    liquidation_price: Decimal | None  # None: unified accounts liquidate on the account, or never reached
    bankruptcy_price: Decimal | None
    settlement_asset: str


@dataclass(frozen=True)
class MarginLine:
    asset: str
    wallet: Decimal
    equity: Decimal  # wallet + uPnL - pending funding (per-coin) / total account value (unified)
    unrealized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    order_margin: Decimal
    available: Decimal  # what a new order may use (never below 0)


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    label: str
    margin_model: str  # per_coin | unified
    balances: dict[str, Decimal]
    margin: tuple[MarginLine, ...]
    margin_fraction: Decimal | None  # unified only: account value / notional
    positions: tuple[PositionView, ...]


def _position_views(state: Any, rules: Any, account_id: str, unified: bool) -> list[PositionView]:
    from exchange_edu.engine.liquidation import position_prices
    from exchange_edu.engine.margin import pending_funding, risk_rates, unrealized_pnl
    from exchange_edu.engine.numbers import engine_context

    out = []
    with engine_context():
        for mid in state.live_market_ids():
            p = state.position(account_id, mid)
            if p is None or not p.size:
                continue
            market, ms = state.market(mid), state.market_state(mid)
            _, mmr = risk_rates(rules, market, p)
            lp = bp = None
            if not unified:
                prices = position_prices(state, rules, p)
                lp, bp = prices.liquidation, prices.bankruptcy
            out.append(PositionView(mid, p.size, p.entry_price, ms.mark_price, unrealized_pnl(market, p, ms.mark_price),
                                    pending_funding(p, ms.funding_index), p.margin_mode.value, p.leverage,
                                    p.isolated_margin, mmr, lp, bp, market.settlement_asset))
    return out


def account_summary(*, sandbox_id: int, account_pk: int) -> AccountSummary:
    """Balances, margin per settlement asset and positions with liquidation and bankruptcy prices,
    computed by the engine on the sandbox's current state."""
    from exchange_edu.engine.margin import maintenance_margin, margin_summary
    from exchange_edu.engine.numbers import engine_context
    from exchange_edu.engine.unified import account_risk

    from . import mappers

    acct = models.PaperAccount.objects.select_related("sandbox").get(pk=account_pk, sandbox_id=sandbox_id)
    sb = acct.sandbox
    rules = mappers.sandbox_rules(sb)
    state = mappers.load_state(sb, rules)
    aid = acct.account_id
    unified = rules.margin.account_model == "unified"
    positions = _position_views(state, rules, aid, unified)
    lines = []
    fraction = None
    with engine_context():
        if unified:
            risk = account_risk(state, rules, aid, include_orders=True)
            asset = rules.contract.settlement_asset
            lines.append(MarginLine(asset, risk.collateral, risk.tav, risk.upnl, risk.initial, risk.maintenance,
                                    Decimal(0), max(Decimal(0), risk.free_collateral)))
            fraction = risk.margin_fraction
        else:
            for asset in sorted({m.settlement_asset for m in state.markets.values()}):
                s = margin_summary(state, rules, aid, asset)
                mine = [p for p in positions if p.settlement_asset == asset]
                upnl = sum((p.unrealized_pnl for p in mine), Decimal(0))
                funding = sum((p.pending_funding for p in mine), Decimal(0))
                iso_mm = sum((maintenance_margin(rules, state.market(p.symbol), state.position(aid, p.symbol),
                                                 p.mark_price) for p in mine if p.margin_mode == "isolated"),
                             Decimal(0))
                lines.append(MarginLine(asset, s.wallet, s.wallet + upnl - funding, upnl,
                                        s.isolated_margin + s.cross_initial_margin,
                                        s.cross_maintenance_margin + iso_mm, s.order_margin, max(Decimal(0), s.free)))
    return AccountSummary(aid, acct.label, "unified" if unified else "per_coin",
                          account_balances(account_pk=account_pk), tuple(lines), fraction, tuple(positions))


@dataclass(frozen=True)
class OrderView:
    order_id: int
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    remaining: Decimal
    filled_quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    trigger_on: str
    reduce_only: bool
    status: str
    tick_seq: int
    created_at: datetime


_ORDER_FIELDS = ("order_id", "market__market_id", "side", "order_type", "time_in_force", "quantity", "remaining",
                 "filled_quantity", "price", "trigger_price", "trigger_on", "reduce_only", "status", "tick_seq",
                 "created_at")


def orders(*, sandbox_id: int, account_pk: int, status: str | None = None, symbol: str | None = None,
           after: int = 0, limit: int = 100) -> list[OrderView]:
    qs = models.Order.objects.filter(sandbox_id=sandbox_id, account_id=account_pk, order_id__gt=after)
    if status is not None:
        qs = qs.filter(status=status)
    if symbol is not None:
        qs = qs.filter(market_id=_market_pk(sandbox_id, symbol))
    return [OrderView(*r) for r in qs.order_by("order_id").values_list(*_ORDER_FIELDS)[:limit]]


def order(*, sandbox_id: int, account_pk: int, order_id: int) -> OrderView:
    row = models.Order.objects.filter(sandbox_id=sandbox_id, account_id=account_pk, order_id=order_id).values_list(
        *_ORDER_FIELDS).first()
    if row is None:
        raise SandboxError("order_id", f"order {order_id} is not one of this account's orders", status=404)
    return OrderView(*row)


@dataclass(frozen=True)
class LedgerLine:
    entry_no: int
    tick_seq: int
    sim_time: int
    kind: str
    market: str
    memo: str
    asset: str
    amount: Decimal  # + credits the account, - debits it


def ledger_lines(*, sandbox_id: int, account_pk: int, after: int = 0, limit: int = 100) -> list[LedgerLine]:
    """The account's journal lines in entry order (entry_no > after)."""
    rows = models.JournalLine.objects.filter(sandbox_id=sandbox_id, account_id=account_pk,
                                             entry__entry_no__gt=after).order_by("entry__entry_no", "pk").values_list(
        "entry__entry_no", "entry__tick_seq", "entry__sim_time", "entry__kind", "entry__market_id", "entry__memo",
        "asset", "amount_units")[:limit]
    return [LedgerLine(no, tick, t, kind, market, memo, asset, from_units(units, asset))
            for no, tick, t, kind, market, memo, asset, units in rows]


@dataclass(frozen=True)
class EventView:
    event_no: int
    tick_seq: int
    sim_time: int
    kind: str
    market: str
    account_id: str
    numbers: dict[str, Any]
    inputs: dict[str, Any]
    formula: str
    reason: str


def events(*, sandbox_id: int, account_ids: Sequence[str], after: int = 0, kind: str | None = None,
           limit: int = 100) -> list[EventView]:
    """Market-wide events and those of `account_ids` (event_no > after); other traders' are left out."""
    qs = models.EventLog.objects.filter(sandbox_id=sandbox_id, event_no__gt=after).filter(
        Q(account_id="") | Q(account_id__in=list(account_ids)))
    if kind is not None:
        qs = qs.filter(kind=kind)
    rows = qs.order_by("event_no").values_list("event_no", "tick_seq", "sim_time", "kind", "market_id", "account_id",
                                               "numbers", "inputs", "formula", "reason")[:limit]
    return [EventView(*r) for r in rows]


@dataclass(frozen=True)
class LendingPool:
    asset: str
    lent: Decimal
    borrowed: Decimal
    utilization: Decimal
    borrow_rate: Decimal  # annual
    lend_rate: Decimal  # annual


@dataclass(frozen=True)
class LendingView:
    available: bool
    reason: str
    curve: dict[str, Decimal] | None  # the kinked curve's parameters
    pools: tuple[LendingPool, ...]


def lending(*, sandbox_id: int) -> LendingView:
    """v3 pool state and rates; `available` False (with the reason) for presets without a pool."""
    from exchange_edu.engine import lending as engine_lending

    from . import mappers

    sb = models.Sandbox.objects.get(pk=sandbox_id)
    rules = mappers.sandbox_rules(sb)
    if not rules.lending.enabled:
        return LendingView(False, f"preset {sb.preset} has no lending pool (auto-lending arrives with v3)", None, ())
    curve = engine_lending.curve_of(rules)
    state = mappers.load_state(sb, rules)
    pools = []
    note = "" if state.pools else "pool balances are not kept by sandboxes yet: rates at zero utilization"
    for asset in rules.lending.assets:
        pool = state.pools.get(asset) or engine_lending.PoolState(asset)
        rates = engine_lending.calculate_pool_rates(curve, pool.utilization)
        pools.append(LendingPool(asset, pool.lent, pool.borrowed, pool.utilization, rates.borrow_rate,
                                 rates.lend_rate))
    return LendingView(True, note, {"optimal_utilization": curve.optimal_utilization, "base_rate": curve.base_rate,
                                  "slope1": curve.slope1, "slope2": curve.slope2, "fee": curve.fee}, tuple(pools))


# -- the comparison: one path, one position, several presets ------------------------------------

REPLAY_MAX_STEPS = 2000  # x REPLAY_MAX_PRESETS: about a second of engine time
REPLAY_MAX_PRESETS = 4
REPLAY_PRICE_RANGE = (Decimal(1), Decimal(10_000_000))


@dataclass(frozen=True)
class ReplayReport:
    epoch: datetime
    steps: int
    runs: tuple[Any, ...]  # engine.replay.PresetRun, in the order asked
    settlement_assets: dict[str, str]


def _replay_path(*, prices: Sequence[Decimal] | None, source: str | None, seed: int, steps: int,
                 step_seconds: int) -> tuple[datetime, list[tuple[int, Decimal]]]:
    from exchange_edu import pricesources
    from exchange_edu.engine.genesis import DEFAULT_EPOCH

    if (prices is None) == (source is None):
        raise SandboxError("path", "give either prices or a source (with seed and steps)")
    if prices is not None:
        lo, hi = REPLAY_PRICE_RANGE
        if len(prices) > REPLAY_MAX_STEPS or len(prices) < 2:
            raise SandboxError("path.prices", f"needs 2 to {REPLAY_MAX_STEPS} prices")
        if any(not lo <= p <= hi for p in prices):
            raise SandboxError("path.prices", f"each price must be between {lo} and {hi:,}")
        return DEFAULT_EPOCH, [(i * step_seconds, Decimal(p)) for i, p in enumerate(prices)]
    try:
        spec = pricesources.get_source(source)
    except pricesources.UnknownSource as exc:
        raise SandboxError("path.source", str(exc)) from None
    if spec.max_step_seconds is not None and step_seconds > spec.max_step_seconds:
        raise SandboxError("path.step_seconds", f"{source} needs at most {spec.max_step_seconds} seconds per step")
    points = pricesources.build_path(source, seed=seed, step_seconds=step_seconds, steps=min(steps, REPLAY_MAX_STEPS))
    if len(points) < 2:
        raise SandboxError("path.steps", f"{source} has fewer than 2 points at {step_seconds} s per step")
    return spec.start or DEFAULT_EPOCH, [(p.t, p.price) for p in points]


def replay_compare(*, presets: Sequence[str], is_long: bool, notional_usd: Decimal, leverage: Decimal,
                   deposit_usd: Decimal | None, margin_mode: str = "isolated", prices: Sequence[Decimal] | None = None,
                   source: str | None = None, seed: int = 0, steps: int = 500,
                   step_seconds: int = 3600) -> ReplayReport:
    """The same position through each preset along one path (engine.replay), sizes bounded so a
    request stays near a second. The deposit is given in USD and converted at the first price to
    each preset's settlement asset (BTC for inverse presets)."""
    from exchange_edu.engine.numbers import Rounding, quantize
    from exchange_edu.engine.replay import ReplayPosition, replay
    from exchange_edu.engine.types import MarginMode

    from . import mappers, ops

    names = list(dict.fromkeys(presets))
    if not 1 <= len(names) <= REPLAY_MAX_PRESETS:
        raise SandboxError("presets", f"give 1 to {REPLAY_MAX_PRESETS} different presets")
    try:
        rule_sets = [mappers.rules_for(n, None) for n in names]
    except SandboxError as exc:
        raise SandboxError("presets", exc.message) from None
    for name, rules in zip(names, rule_sets, strict=True):
        if not ops.allows_leverage(rules, leverage):
            raise SandboxError("position.leverage", f"{leverage}x is not allowed in {name}; "
                                                    f"at most {ops.max_leverage(rules)}x")
        if margin_mode not in ops.margin_modes(rules):
            raise SandboxError("position.margin_mode", f"{name} allows {', '.join(ops.margin_modes(rules))}")
    epoch, path = _replay_path(prices=prices, source=source, seed=seed, steps=steps, step_seconds=step_seconds)
    deposit = deposit_usd if deposit_usd is not None else 2 * notional_usd / leverage
    runs = []
    for rules in rule_sets:
        asset = rules.contract.settlement_asset
        amount = deposit / path[0][1] if rules.contract.kind.value == "inverse" else deposit
        amount = quantize(amount, asset, Rounding.DOWN)
        if amount <= 0:
            raise SandboxError("position.deposit_usd", f"is less than the smallest unit of {asset}")
        position = ReplayPosition(is_long, notional_usd, leverage, amount, MarginMode(margin_mode))
        runs.append(replay(path, [rules], position, epoch=epoch)[rules.name])
    return ReplayReport(epoch, len(path), tuple(runs),
                        {r.name: r.contract.settlement_asset for r in rule_sets})
