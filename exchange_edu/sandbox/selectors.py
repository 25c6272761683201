"""Reads of the sandbox app: frozen results, never model instances handed to other apps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Max, Sum
from django.utils import timezone

from exchange_edu.engine.numbers import from_units

from . import models


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
