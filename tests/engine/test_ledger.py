from decimal import Decimal

import pytest

from exchange_edu.engine.ledger import JournalEntry, LedgerError, Line, settle, totals_by_asset, transfer
from exchange_edu.engine.numbers import Rounding

D = Decimal


def test_counter_line_takes_the_exact_negative_so_entries_balance_by_construction():
    # two traders receive 1/3 BTC each, floored to 0.33333333; the counter pays 0.66666666
    entry = settle("pnl", "BTC", [("a", D(1) / 3), ("b", D(1) / 3)], "sys:clearing")
    assert [ln.amount for ln in entry.lines] == [D("0.33333333"), D("0.33333333"), D("-0.66666666")]
    assert totals_by_asset([entry]) == {"BTC": 0}


def test_unbalanced_or_fractional_entries_are_refused():
    with pytest.raises(LedgerError, match="sum to"):
        JournalEntry("bad", (Line("a", "BTC", D("1")), Line("b", "BTC", D("-0.9"))))
    with pytest.raises(LedgerError, match="whole number"):
        JournalEntry("bad", (Line("a", "BTC", D("1e-9")), Line("b", "BTC", D("-1e-9"))))


def test_nothing_is_posted_when_everything_rounds_to_zero():
    assert transfer("dust", "BTC", D("1e-10"), from_account="x", to_account="y", rounding=Rounding.DOWN) is None


def test_multi_asset_entry_balances_per_asset():
    entry = JournalEntry("swap", (Line("a", "BTC", D(1)), Line("b", "BTC", D(-1)),
                                  Line("a", "USD", D(-10)), Line("b", "USD", D(10))))
    assert totals_by_asset([entry]) == {"BTC": 0, "USD": 0}
