"""Types: the engine's frozen value objects (markets, positions, accounts, market state, state).

Design note
-----------
* Time is an integer number of simulated SECONDS since the sandbox epoch (`EngineState.epoch`, a
  timezone-aware UTC datetime). Calendars (funding at 04/12/20 UTC, Friday 08:00 UTC delivery) are
  computed from `epoch + seconds`; everything else compares integers.
* Sizes are in CONTRACTS (`Position.size`, signed: + long, - short). A contract is worth
  `Market.contract_size` units of the quote currency (inverse: USD face value, e.g. 100 at OKEx,
  1 at BitMEX) or of the base asset (linear: e.g. 0.001 BTC).
* Money is in the market's settlement asset (BTC for inverse, USD/USDC for linear), Decimal.
* Accounts are traders' ids or system ids starting with "sys:" (insurance fund, fees, clearing,
  funding clearing, liquidation engine).
* Everything here is frozen. Mappings inside frozen objects are plain dicts by convention: never
  mutate them, build new ones (`apply_result` does).

Formulas (sign convention `side = +1` long, `-1` short; `V = |size| * contract_size`):

    inverse: value(P) = V / P (coin);  pnl = side * V * (1/E - 1/X)
    linear : value(P) = V * P (quote); pnl = side * V * (X - E)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from exchange_edu.engine.numbers import ZERO

AccountId = str
MarketId = str
Asset = str
PositionKey = tuple[AccountId, MarketId]

SYS_INSURANCE = "sys:insurance"  # the insurance fund, per asset
SYS_FEES = "sys:fees"  # the exchange: fees, rebates, rounding residuals, written-off losses
SYS_CLEARING = "sys:clearing"  # counterpart of realized PnL: balance = -(sum of realized PnL)
SYS_FUNDING = "sys:funding"  # funding clearing: lazily settled payments pass through here
SYS_LIQUIDATION = "sys:liquidation"  # the liquidation engine: takes over positions, holds inventory
SYS_EXTERNAL = "sys:external"  # the outside world: deposits, withdrawals, the fund's seed
SYS_BACKSTOP = "sys:backstop"  # v2+: the backstop liquidity provider (takes positions below the ACMF)
SYS_LENDING = "sys:lending"  # v3: lending-pool clearing: interest passes through here
SYS_CONVERSION = "sys:conversion"  # v2+: the desk that converts collateral (BTC -> USD) at the index
SYS_POOL = "sys:pool"  # DeFi pool: the LPs' pool, every trader's counterparty; owes its shares (GM)
SYS_POOL_LP = "sys:pool_lp"  # DeFi pool: the LP that seeds the pool at genesis
SYSTEM_ACCOUNTS = (SYS_INSURANCE, SYS_FEES, SYS_CLEARING, SYS_FUNDING, SYS_LIQUIDATION, SYS_EXTERNAL,
                   SYS_BACKSTOP, SYS_LENDING, SYS_CONVERSION, SYS_POOL, SYS_POOL_LP)


def evolve(obj: Any, **changes: Any) -> Any:
    """`dataclasses.replace` for the engine's slotted frozen records, without its overhead.

    Only for classes without `__post_init__` (all of this module's records). Each class gets a
    generated copy function (one slot store per field through the slot's descriptor)."""
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _make_copier(cls)
    return copier(obj, changes)


_COPIERS: dict[type, Any] = {}


def _make_copier(cls: type) -> Any:
    """`def copy(obj, changes)`: a new instance with every slot from `changes` or else from `obj`."""
    names = cls.__slots__
    if isinstance(names, str):
        names = (names,)
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def copy(obj, changes):", "    new = _new(_cls)"]
    for i, name in enumerate(names):
        scope[f"_set{i}"] = getattr(cls, name).__set__
        lines.append(f"    _set{i}(new, changes[{name!r}] if {name!r} in changes else obj.{name})")
    lines.append("    return new")
    exec("\n".join(lines), scope)  # source generated from the class's own slot names
    return scope["copy"]


def is_system(account_id: AccountId) -> bool:
    return account_id.startswith("sys:")


class ContractKind(str, Enum):
    INVERSE = "inverse"
    LINEAR = "linear"


class MarginMode(str, Enum):
    ISOLATED = "isolated"
    CROSS = "cross"


class ExpiryKind(str, Enum):
    PERPETUAL = "perpetual"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    QUARTERLY = "quarterly"
    # v2 option (FTX MOVE): futures on the absolute move of the index over a day / a week
    MOVE_DAILY = "move_daily"
    MOVE_WEEKLY = "move_weekly"


MOVE_KINDS = (ExpiryKind.MOVE_DAILY, ExpiryKind.MOVE_WEEKLY)


class MarketStatus(str, Enum):
    OPEN = "open"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Market:
    """A contract listed on the exchange."""

    market_id: MarketId
    underlying: str  # index key, e.g. "BTC"
    kind: ContractKind
    contract_size: Decimal  # inverse: USD face per contract; linear: base units per contract
    settlement_asset: Asset
    quote_asset: Asset = "USD"
    tick_size: Decimal = Decimal("0.01")
    expiry_kind: ExpiryKind = ExpiryKind.PERPETUAL
    expiry_time: int | None = None  # sim seconds; None for perpetuals
    listed_at: int = 0

    @property
    def is_inverse(self) -> bool:
        return self.kind is ContractKind.INVERSE

    @property
    def is_dated(self) -> bool:
        return self.expiry_time is not None

    @property
    def is_move(self) -> bool:
        """A MOVE contract: its price (index, mark) is the expected absolute move, not the coin's price."""
        return self.expiry_kind in MOVE_KINDS

    def value(self, contracts: Decimal, price: Decimal) -> Decimal:
        """Absolute position value in the settlement asset at `price`."""
        v = abs(contracts) * self.contract_size
        return v / price if self.kind is ContractKind.INVERSE else v * price

    def pnl(self, size: Decimal, entry: Decimal, exit_price: Decimal) -> Decimal:
        """PnL of a signed `size` opened at `entry`, valued at `exit_price` (settlement asset)."""
        if self.kind is ContractKind.INVERSE:
            return size * self.contract_size * (1 / entry - 1 / exit_price)
        return size * self.contract_size * (exit_price - entry)

    def price_for_pnl(self, size: Decimal, entry: Decimal, pnl: Decimal) -> Decimal | None:
        """The exit price at which a signed `size` from `entry` has PnL `pnl`; None if none exists.

        inverse: 1/X = 1/E - pnl / (size * face);  linear: X = E + pnl / (size * contract_size)
        """
        signed_v = size * self.contract_size
        if self.kind is ContractKind.INVERSE:
            inv = 1 / entry - pnl / signed_v
            return 1 / inv if inv > 0 else None
        price = entry + pnl / signed_v
        return price if price > 0 else None

    def pnl_in_quote(self, pnl: Decimal, price: Decimal) -> Decimal:
        """Express a settlement-asset amount in the quote currency (USD) at `price`."""
        return pnl * price if self.kind is ContractKind.INVERSE else pnl


@dataclass(frozen=True, slots=True)
class Position:
    """A net position of one account in one market.

    `isolated_margin` is the margin allocated to an isolated position (settlement asset), 0 for
    cross. `funding_snapshot` is the market's cumulative funding index at the last settlement;
    pending funding owed BY the position is `size * (index_now - funding_snapshot)`.
    """

    account_id: AccountId
    market_id: MarketId
    size: Decimal
    entry_price: Decimal
    margin_mode: MarginMode = MarginMode.ISOLATED
    leverage: Decimal = Decimal(10)
    isolated_margin: Decimal = ZERO
    funding_snapshot: Decimal = ZERO

    @property
    def key(self) -> PositionKey:
        return (self.account_id, self.market_id)

    @property
    def side(self) -> int:
        return 1 if self.size > 0 else -1 if self.size < 0 else 0

    @property
    def is_long(self) -> bool:
        return self.size > 0


@dataclass(frozen=True, slots=True)
class Account:
    """Wallet balances per asset (the ledger's truth) plus per-market trading settings.

    `period_pnl` is realized trading PnL per asset since the last weekly settlement (v0 clawback
    base). Free balance for new orders is computed in `margin.available_balance`.
    """

    account_id: AccountId
    balances: dict[Asset, Decimal] = field(default_factory=dict)
    leverage: dict[MarketId, Decimal] = field(default_factory=dict)
    margin_mode: dict[MarketId, MarginMode] = field(default_factory=dict)
    period_pnl: dict[Asset, Decimal] = field(default_factory=dict)
    # v3 lending: None = the rules' default (auto-lend on); the pool index each balance was last
    # settled at (lend index for a lent balance, borrow index for a negative one)
    auto_lend: bool | None = None
    interest_index: dict[Asset, Decimal] = field(default_factory=dict)

    def balance(self, asset: Asset) -> Decimal:
        return self.balances.get(asset, ZERO)


_EMPTY_SYSTEM: dict[AccountId, Account] = {a: Account(a) for a in SYSTEM_ACCOUNTS}


@dataclass(frozen=True, slots=True)
class MarketState:
    """Everything about a market that changes tick by tick (prices, funding, samples)."""

    market_id: MarketId
    index_price: Decimal
    mark_price: Decimal
    last_price: Decimal | None = None
    status: MarketStatus = MarketStatus.OPEN
    # funding: cumulative index (settlement asset per contract paid by a long), the rate that
    # will be paid at next_funding_time (fixed one interval ahead), and the premium TWAP samples.
    funding_index: Decimal = ZERO
    funding_rate_next: Decimal = ZERO
    next_funding_time: int | None = None
    premium_sum: Decimal = ZERO
    premium_count: int = 0
    last_premium_sample: int | None = None
    # delivery: index samples over the last window before expiry (v0: mean of the last hour)
    delivery_sum: Decimal = ZERO
    delivery_count: int = 0
    last_delivery_sample: int | None = None
    delivery_price: Decimal | None = None
    open_interest: Decimal = ZERO  # long contracts == short contracts
    # DeFi pool (skew funding): shorts' own cumulative index (None = one index for both sides).
    # A short owes size x (I_short - snapshot) (size < 0): it receives when I_short rises.
    funding_index_short: Decimal | None = None
    # MOVE contracts: the start TWAP (mean index over the period's first hour), fixed once that hour
    # is over (None before). The delivery samples above hold the first hour, then the last hour.
    move_strike: Decimal | None = None

    def index_for(self, size: Decimal) -> Decimal:
        """The funding index a position of signed `size` settles against."""
        if size < 0 and self.funding_index_short is not None:
            return self.funding_index_short
        return self.funding_index


@dataclass(frozen=True, slots=True)
class EngineState:
    """One sandbox exchange at one instant. Books are mutable containers: never mutate the
    ones in a state; the engine copies a book before its first change."""

    epoch: datetime
    now: int
    tick_seq: int
    markets: dict[MarketId, Market]
    market_states: dict[MarketId, MarketState]
    accounts: dict[AccountId, Account]
    positions: dict[PositionKey, Position]
    books: dict[MarketId, Any] = field(default_factory=dict)  # MarketId -> OrderBook
    triggers: dict[MarketId, Any] = field(default_factory=dict)  # MarketId -> TriggerBook
    liquidation_index: dict[MarketId, Any] = field(default_factory=dict)  # -> LiquidationIndex
    next_order_id: int = 1
    next_order_seq: int = 1
    # v2+: the account-level liquidation index (unified margin; built on demand when None)
    account_index: Any = None
    # v3: lending pool per asset (lending.PoolState)
    pools: dict[Asset, Any] = field(default_factory=dict)

    def account(self, account_id: AccountId) -> Account:
        a = self.accounts.get(account_id)
        if a is not None:
            return a
        # an untouched system account (the engine asks for them every tick): one shared empty
        # record per id (records are never mutated)
        return _EMPTY_SYSTEM.get(account_id) or Account(account_id)

    def position(self, account_id: AccountId, market_id: MarketId) -> Position | None:
        return self.positions.get((account_id, market_id))

    # The same read interface as `work.Work`, so margin/liquidation functions accept either.
    def market(self, market_id: MarketId) -> Market:
        return self.markets[market_id]

    def market_ids(self) -> list[MarketId]:
        return list(self.markets)

    def live_market_ids(self) -> list[MarketId]:
        """Markets still trading (delivered markets hold no positions or orders)."""
        return [m for m in self.markets if self.market_states[m].status is MarketStatus.OPEN]

    def market_state(self, market_id: MarketId) -> MarketState:
        return self.market_states[market_id]

    def book(self, market_id: MarketId) -> Any:
        return self.books.get(market_id)

    def positions_in(self, market_id: MarketId) -> list[Position]:
        """All positions of a market (a scan: used for delivery, ADL, re-keying, not per tick)."""
        return [p for (_, m), p in self.positions.items() if m == market_id]

