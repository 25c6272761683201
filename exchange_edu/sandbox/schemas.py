"""Request and response schemas of the sandbox API: `...In` for bodies, `...Out` for answers.

Decimals go out as strings (`DecimalOut`) and come in as a number or a numeric string
(`DecimalIn`); times go out as ISO-8601 UTC (sim time = sandbox epoch + sim seconds). Schemas only
describe and bound the data: every rule about what is allowed lives in the services.
"""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from exchange_edu.core.schemas import DecimalIn, DecimalOut, ErrorOut  # noqa: F401  (routers use s.ErrorOut)

MAX_PAGE = 500

Quantity = DecimalIn(gt=0, description="contracts", examples=["100"])
Price = DecimalIn(gt=0, description="quote currency per coin (USD)", examples=["10000"])


# -- catalog: presets and price sources -------------------------------------------------------------


class PresetOut(Schema):
    name: str
    description: str
    contract_kind: str = Field(description="inverse (coin-margined) or linear (USD/USDC-margined)")
    settlement_asset: str
    margin_model: str = Field(description="per_coin or unified")
    margin_modes: list[str]
    default_leverage: DecimalOut
    max_leverage: DecimalOut
    mark_method: str
    funding_style: str
    funding_interval_seconds: int
    maker_fee_rate: DecimalOut
    taker_fee_rate: DecimalOut
    loss_waterfall: list[str]
    has_lending_pool: bool
    parameters: dict[str, Any] = Field(description="the whole RuleSet, decimals as strings")


class SourceOut(Schema):
    name: str
    title: str
    description: str
    asset: str
    kind: str
    resolution_seconds: int | None
    start: datetime | None
    end: datetime | None
    max_step_seconds: int | None
    has_funding_history: bool
    attribution: str
    licence: str


# -- sandboxes ---------------------------------------------------------------------------------------


class SandboxIn(Schema):
    preset: str = Field(max_length=32, examples=["v1"], description="a name from GET /presets")
    source: str = Field("synthetic", max_length=120, description="a name from GET /sources")
    seed: int = Field(0, ge=0, lt=2**62)
    name: str = Field("", max_length=120)
    tick_seconds: int = Field(60, ge=1, le=7 * 86400, description="sim seconds per tick")
    bots: int = Field(0, ge=0, le=60, description="seeded bot traders (plus market makers) to trade against")


class SandboxOut(Schema):
    id: int
    name: str
    preset: str
    source: str
    seed: int
    status: str = Field(description="running or paused")
    pause_reason: str = Field(description="'' | manual | idle (viewing resumes an idle sandbox)")
    epoch: datetime = Field(description="UTC of sim time 0")
    time: datetime = Field(description="the sandbox's clock: epoch + sim seconds")
    tick_seq: int
    tick_seconds: int
    tick_interval_s: float
    created_at: datetime


class SandboxPage(Schema):
    items: list[SandboxOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null on the last")


class MarketOut(Schema):
    symbol: str
    underlying: str
    kind: str
    contract_size: DecimalOut
    settlement_asset: str
    quote_asset: str
    tick_size: DecimalOut
    expiry_kind: str
    expiry_time: datetime | None
    status: str


class TickerOut(Schema):
    symbol: str
    time: datetime
    tick_seq: int
    index_price: DecimalOut
    mark_price: DecimalOut
    last_price: DecimalOut | None
    best_bid: DecimalOut | None
    best_ask: DecimalOut | None
    funding_rate: DecimalOut = Field(description="fixed for the next funding time, per interval")
    next_funding_time: datetime | None
    open_interest: DecimalOut
    status: str


class LevelOut(Schema):
    price: DecimalOut
    quantity: DecimalOut
    orders: int


class BookOut(Schema):
    symbol: str
    tick_seq: int
    bids: list[LevelOut]
    asks: list[LevelOut]


class TradeOut(Schema):
    seq: int
    time: datetime
    tick_seq: int
    price: DecimalOut
    quantity: DecimalOut
    taker_side: str
    is_liquidation: bool
    liquidity: str | None = Field(description="maker / taker when you were part of the trade")


class TradePage(Schema):
    items: list[TradeOut]
    next_after: int | None


class CandleOut(Schema):
    time: datetime = Field(description="start of the interval")
    open: DecimalOut
    high: DecimalOut
    low: DecimalOut
    close: DecimalOut


class FundingPaymentOut(Schema):
    time: datetime
    tick_seq: int
    rate: DecimalOut | None
    index_increment: DecimalOut | None
    open_interest: DecimalOut | None


class FundingPage(Schema):
    items: list[FundingPaymentOut]
    next_after: int | None


# -- the caller's account -------------------------------------------------------------------------------


class PositionOut(Schema):
    symbol: str
    side: Literal["long", "short"]
    size: DecimalOut = Field(description="contracts, signed: + long, - short")
    entry_price: DecimalOut
    mark_price: DecimalOut
    unrealized_pnl: DecimalOut
    pending_funding: DecimalOut = Field(description="owed BY the position since its last settlement")
    margin_mode: str
    leverage: DecimalOut
    isolated_margin: DecimalOut
    maintenance_margin_rate: DecimalOut
    liquidation_price: DecimalOut | None = Field(
        description="null when never reached, or on unified accounts (they liquidate on margin_fraction)")
    bankruptcy_price: DecimalOut | None
    settlement_asset: str


class BalanceOut(Schema):
    asset: str
    amount: DecimalOut


class MarginOut(Schema):
    asset: str
    wallet: DecimalOut
    equity: DecimalOut
    unrealized_pnl: DecimalOut
    initial_margin: DecimalOut
    maintenance_margin: DecimalOut
    order_margin: DecimalOut
    available: DecimalOut


class AccountOut(Schema):
    account_id: str
    label: str
    margin_model: str
    balances: list[BalanceOut]
    margin: list[MarginOut]
    margin_fraction: DecimalOut | None
    positions: list[PositionOut]


class OrderIn(Schema):
    symbol: str = Field(max_length=40, examples=["BTCUSD"])
    side: Literal["buy", "sell"]
    type: Literal["limit", "market", "stop_market", "take_profit"] = "limit"
    quantity: Quantity
    price: Price | None = None
    trigger_price: Price | None = None
    trigger_on: Literal["mark", "last", "index"] = "mark"
    time_in_force: Literal["gtc", "ioc", "post_only"] = "gtc"
    reduce_only: bool = False
    leverage: DecimalIn(gt=0, le=1000, description="set the market's leverage before placing") | None = None
    margin_mode: Literal["isolated", "cross"] | None = None


class FillOut(Schema):
    price: DecimalOut
    quantity: DecimalOut


class OrderOut(Schema):
    id: int
    symbol: str
    side: str
    type: str
    time_in_force: str
    quantity: DecimalOut
    remaining: DecimalOut
    filled_quantity: DecimalOut
    price: DecimalOut | None
    trigger_price: DecimalOut | None
    trigger_on: str
    reduce_only: bool
    status: str = Field(description="open | waiting | filled | cancelled")
    tick_seq: int
    created_at: datetime


class PlacedOrderOut(OrderOut):
    average_price: DecimalOut | None
    fills: list[FillOut] = Field(description="fills at placement")


class OrderPage(Schema):
    items: list[OrderOut]
    next_after: int | None


class LedgerLineOut(Schema):
    entry_no: int
    time: datetime
    tick_seq: int
    kind: str
    market: str
    memo: str
    asset: str
    amount: DecimalOut = Field(description="+ credits your account, - debits it")


class LedgerPage(Schema):
    items: list[LedgerLineOut]
    next_after: int | None


class EventOut(Schema):
    event_no: int
    time: datetime
    tick_seq: int
    kind: str
    market: str
    account_id: str = Field(description="'' for market-wide events, else your account")
    numbers: dict[str, Any]
    inputs: dict[str, Any]
    formula: str
    reason: str


class EventPage(Schema):
    items: list[EventOut]
    next_after: int | None


class PoolOut(Schema):
    asset: str
    lent: DecimalOut
    borrowed: DecimalOut
    utilization: DecimalOut
    borrow_rate: DecimalOut = Field(description="annual")
    lend_rate: DecimalOut = Field(description="annual")


class SandboxLendingOut(Schema):
    available: bool
    reason: str
    curve: dict[str, DecimalOut] | None
    pools: list[PoolOut]


# -- replay ----------------------------------------------------------------------------------------


class ReplayPathIn(Schema):
    prices: list[Price] | None = Field(None, min_length=2, max_length=2000,
                                       description="explicit index prices, one per step")
    source: str | None = Field(None, max_length=120, description="or a price source name (GET /sources)")
    seed: int = Field(0, ge=0, lt=2**62)
    steps: int = Field(500, ge=2, le=2000)
    step_seconds: int = Field(3600, ge=60, le=86400, description="sim seconds between points")


class ReplayPositionIn(Schema):
    side: Literal["long", "short"]
    notional_usd: DecimalIn(gt=0, le=10**9, examples=["10000"])
    leverage: DecimalIn(gt=0, le=200, examples=["10"])
    deposit_usd: DecimalIn(gt=0, le=10**9, description="collateral at the start, in USD (default: 2 x the "
                           "initial margin), converted to each preset's settlement asset") | None = None
    margin_mode: Literal["isolated", "cross"] = "isolated"


class ReplayIn(Schema):
    presets: list[str] = Field(min_length=1, max_length=4, examples=[["v0", "v1"]])
    position: ReplayPositionIn
    path: ReplayPathIn


class ReplayRowOut(Schema):
    time: datetime
    index: DecimalOut
    mark: DecimalOut
    equity: DecimalOut
    equity_usd: DecimalOut
    funding_paid: DecimalOut
    has_position: bool


class ReplayEventOut(Schema):
    time: datetime
    kind: str
    market: str | None
    reason: str


class ReplayRunOut(Schema):
    preset: str
    settlement_asset: str
    liquidated_at: datetime | None
    final_equity: DecimalOut
    final_equity_usd: DecimalOut
    notes: list[str]
    events: list[ReplayEventOut]
    rows: list[ReplayRowOut]


class ReplayOut(Schema):
    steps: int
    runs: list[ReplayRunOut]
