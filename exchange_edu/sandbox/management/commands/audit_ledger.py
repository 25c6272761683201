"""`manage.py audit_ledger [--sandbox ID]`: exit 0 when every journal balances per asset and every
cached balance equals the sum of its lines; otherwise print each problem and exit 1."""

import sys

from django.core.management.base import BaseCommand

from exchange_edu.sandbox import selectors


class Command(BaseCommand):
    help = "Check that every sandbox's journal balances and cached balances equal the sum of lines."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox", type=int, default=None, help="audit one sandbox only")

    def handle(self, *args, **options):
        report = selectors.ledger_audit(sandbox_id=options["sandbox"])
        for p in report.problems:
            self.stdout.write(f"sandbox {p.sandbox_id}: {p.what}")
        summary = (f"{report.sandboxes} sandbox(es), {report.entries} entries, {report.lines} lines: "
                   f"{'ok' if report.ok else f'{len(report.problems)} problem(s)'}")
        if report.ok:
            self.stdout.write(summary)
            return
        self.stderr.write(summary)
        sys.exit(1)
