"""`manage.py simulate --preset v1 --source synthetic --ticks 2000 --seed 1 [--bots 20] --json`

Runs a headless sandbox (persisted like any other, created paused so beat leaves it alone) and
prints one JSON line of what happened. `--list-sources` lists the price sources.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from exchange_edu.sandbox import mappers, models, prices, selectors, services
from exchange_edu.sandbox.errors import SandboxError


def _money(d: dict) -> dict:
    return {k: str(v) for k, v in sorted(d.items())}


class Command(BaseCommand):
    help = "Run a sandbox headless for N ticks and print what happened as one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("--preset", default="v1")
        parser.add_argument("--source", default="synthetic")
        parser.add_argument("--ticks", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--bots", type=int, default=0, help="traders in the crowd (plus two market makers)")
        parser.add_argument("--tick-seconds", type=int, default=60)
        parser.add_argument("--json", action="store_true", help="print one JSON line (the default output)")
        parser.add_argument("--list-sources", action="store_true")

    def handle(self, *args, **o):
        if o["list_sources"]:
            for name in prices.list_sources():
                self.stdout.write(name)
            return
        if o["preset"] not in mappers.available_presets():
            raise CommandError(f"preset {o['preset']!r} is not available yet; available presets: "
                               f"{', '.join(mappers.available_presets())}")
        if o["ticks"] < 1:
            raise CommandError("--ticks must be at least 1")
        started = time.perf_counter()
        try:
            sb = services.sandbox_create(preset=o["preset"], price_source=o["source"], seed=o["seed"],
                                         tick_seconds=o["tick_seconds"], name="simulate", running=False,
                                         bots=o["bots"])
        except SandboxError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        fund_start = selectors.insurance_fund(sandbox_id=sb.pk)
        totals = {"liquidations": 0, "adl_events": 0, "clawbacks": 0, "deliveries": 0}
        tick_started = time.perf_counter()
        for _ in range(o["ticks"]):
            out = services.sandbox_advance(sandbox_id=sb.pk, require_running=False)
            if not out.applied:
                raise CommandError(f"tick not applied: {out.reason}")
            for k in totals:
                totals[k] += getattr(out, k)
        tick_elapsed = time.perf_counter() - tick_started
        funding = selectors.trader_flows(sandbox_id=sb.pk, kind="funding")
        interest = selectors.trader_flows(sandbox_id=sb.pk, kind="interest")
        audit = selectors.ledger_audit(sandbox_id=sb.pk)
        sb.refresh_from_db()
        result = {
            "preset": o["preset"], "source": o["source"], "seed": o["seed"], "bots": o["bots"],
            "sandbox_id": sb.pk, "ticks": sb.tick_seq, "tick_seconds": o["tick_seconds"],
            **totals,
            "insurance_fund_start": _money(fund_start),
            "insurance_fund_end": _money(selectors.insurance_fund(sandbox_id=sb.pk)),
            "funding_paid_total": _money(funding.paid), "funding_received_total": _money(funding.received),
            "interest_paid_total": _money(interest.paid), "interest_earned_total": _money(interest.received),
            # book fills, plus fills against the pool on pool presets
            "fills": models.Fill.objects.filter(sandbox=sb).count()
            + models.EventLog.objects.filter(sandbox=sb, kind="pool_fill").count(),
            "final_index": str(models.Market.objects.filter(sandbox=sb).order_by("-pk").values_list(
                "index_price", flat=True).first()),
            "ledger_balanced": audit.ok,
            "elapsed_s": round(time.perf_counter() - started, 3),
            "tick_ms_mean": round(tick_elapsed * 1000 / max(o["ticks"], 1), 3),
        }
        self.stdout.write(json.dumps(result))
