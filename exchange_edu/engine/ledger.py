"""Ledger: balanced journal entries, every line a whole number of the asset's smallest unit.

Design note
-----------
Every mechanic returns journal entries instead of changing balances. An entry balances PER ASSET
by construction: the trader-side lines are quantized first (named rounding, see `numbers`), then
a counter-line takes the EXACT negative of their sum, so the sum is zero to the unit and a
database storing integers balances exactly. `JournalEntry.__post_init__` asserts it anyway.

    settle(kind, asset, legs=[(acct, amount), ...], counter=acct)
        line_i  = quantize(amount_i, asset, rounding)          (default: TRADER_CREDIT = floor)
        counter = -sum(line_i)

Sign: a positive line CREDITS the account (its balance goes up); negative debits it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from exchange_edu.engine.numbers import ZERO, Rounding, quantize, unit


class LedgerError(AssertionError):
    """An entry that does not balance or a line that is not a whole number of units."""


@dataclass(frozen=True, slots=True)
class Line:
    account_id: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced set of lines; `kind` says which mechanic produced it (fee, funding, ...)."""

    kind: str
    lines: tuple[Line, ...]
    market: str | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            u = unit(line.asset)
            if line.amount % u:
                raise LedgerError(f"{self.kind}: {line.amount} {line.asset} is not a whole number of units")
            totals[line.asset] = totals.get(line.asset, ZERO) + line.amount
        for asset, total in totals.items():
            if total:
                raise LedgerError(f"{self.kind}: lines in {asset} sum to {total}, not 0")

    def amount_for(self, account_id: str, asset: str | None = None) -> Decimal:
        return sum((ln.amount for ln in self.lines
                    if ln.account_id == account_id and (asset is None or ln.asset == asset)), ZERO)


def settle(kind: str, asset: str, legs: Iterable[tuple[str, Decimal]], counter: str, *,
           market: str | None = None, memo: str = "",
           rounding: Rounding = Rounding.TRADER_CREDIT) -> JournalEntry | None:
    """Entry crediting each leg `amount` (rounded as named) against `counter` (exact negative).

    Returns None when every line rounds to zero (nothing to post).
    """
    lines: list[Line] = []
    total = ZERO
    for account_id, amount in legs:
        q = quantize(amount, asset, rounding)
        if q:
            lines.append(Line(account_id, asset, q))
            total += q
    if not lines:
        return None
    lines.append(Line(counter, asset, -total))
    return JournalEntry(kind, tuple(lines), market, memo)


def transfer(kind: str, asset: str, amount: Decimal, *, from_account: str, to_account: str,
             market: str | None = None, memo: str = "",
             rounding: Rounding = Rounding.NEAREST) -> JournalEntry | None:
    """Move `amount` (rounded as named) from one account to another; None if it rounds to 0."""
    return settle(kind, asset, [(to_account, amount)], from_account, market=market, memo=memo,
                  rounding=rounding)


def totals_by_asset(entries: Iterable[JournalEntry]) -> dict[str, Decimal]:
    """Sum of all lines per asset (always zero for balanced entries)."""
    totals: dict[str, Decimal] = {}
    for entry in entries:
        for line in entry.lines:
            totals[line.asset] = totals.get(line.asset, ZERO) + line.amount
    return totals


def net_changes(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], Decimal]:
    """Net change per (account, asset) over the entries."""
    out: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        for line in entry.lines:
            key = (line.account_id, line.asset)
            out[key] = out.get(key, ZERO) + line.amount
    return out
