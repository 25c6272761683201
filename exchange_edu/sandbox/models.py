"""Rows of a sandbox exchange: a mirror of the engine's state plus the append-only records.

Storage rules
-------------
* Money is an integer of the asset's smallest unit (`*_units`, BigIntegerField; BTC/ETH 1e-8,
  USD/USDC 1e-6): balances, journal lines, isolated margin.
* Engine decimals that are not money (prices, sizes, funding indices, premium sums) are stored as
  the Decimal's exact text (`DecimalTextField`). Django's DecimalField goes through a float on
  SQLite (REAL affinity), which loses digits of an entry price averaged to 34 significant digits;
  a state that does not round-trip exactly would make a persisted sandbox diverge from its replay.
  tests/sandbox/test_models.py shows both.
* Journal lines, events, fills, price ticks and tick records are append-only; `ledger_post` is the
  only writer of JournalEntry / JournalLine and of the cached `Balance` rows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class DecimalTextField(models.CharField):
    """A Decimal stored as its exact text (scientific notation kept), None allowed if null=True."""

    description = "Decimal stored as exact text"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return None if value is None else Decimal(value)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise ValidationError("floats are not accepted; pass a string or Decimal")
        try:
            return Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationError(f"{value!r} is not a decimal number") from None

    def get_prep_value(self, value):
        if value is None:
            return None
        return str(self.to_python(value))


class Sandbox(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"

    class PauseReason(models.TextChoices):
        NONE = ""
        MANUAL = "manual"  # an instructor or the learner paused it: viewing does not resume
        IDLE = "idle"  # nobody looked for a while: viewing resumes it

    name = models.CharField(max_length=120, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sandboxes")
    preset = models.CharField(max_length=32)
    overrides = models.JSONField(default=dict, blank=True)
    price_source = models.CharField(max_length=120, default="synthetic")
    seed = models.BigIntegerField(default=0)
    epoch = models.DateTimeField()
    # the clock
    tick_seq = models.BigIntegerField(default=0)
    sim_time = models.BigIntegerField(default=0)  # sim seconds since epoch
    tick_seconds = models.PositiveIntegerField(default=60)  # sim seconds per tick ("speed")
    price_step_seconds = models.PositiveIntegerField(default=60)  # the price path's grid (fixed at creation)
    tick_interval_s = models.FloatField(default=1.0)  # wall seconds between ticks (not money)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    pause_reason = models.CharField(max_length=10, choices=PauseReason.choices, default="", blank=True)
    next_tick_at = models.DateTimeField(null=True, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_tick_lag_s = models.FloatField(default=0.0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    # bumped by every write to the engine state (ticks, orders, deposits): orders and ticks
    # serialize on it, and the in-process state cache is valid only for the version it was built at
    version = models.BigIntegerField(default=0)
    # engine counters and record numbering
    next_order_id = models.BigIntegerField(default=1)
    next_order_seq = models.BigIntegerField(default=1)
    next_entry_no = models.BigIntegerField(default=1)
    next_event_no = models.BigIntegerField(default=1)
    source_price = DecimalTextField(null=True, blank=True)  # the price source's value before shocks
    # the crowd (see crowd.py): derived from these, the preset and the seed, never stored
    bot_count = models.PositiveIntegerField(default=0)
    bot_reference_price = DecimalTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_tick_at"], name="sandbox_due")]

    def __str__(self) -> str:
        return f"sandbox {self.pk} ({self.preset}, tick {self.tick_seq}, {self.status})"


class Market(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="markets")
    market_id = models.CharField(max_length=40)
    # contract definition (engine.types.Market)
    underlying = models.CharField(max_length=16)
    kind = models.CharField(max_length=10)
    contract_size = DecimalTextField()
    settlement_asset = models.CharField(max_length=10)
    quote_asset = models.CharField(max_length=10)
    tick_size = DecimalTextField()
    expiry_kind = models.CharField(max_length=12)
    expiry_time = models.BigIntegerField(null=True, blank=True)
    listed_at = models.BigIntegerField(default=0)
    # tick-by-tick state (engine.types.MarketState)
    index_price = DecimalTextField()
    mark_price = DecimalTextField()
    last_price = DecimalTextField(null=True, blank=True)
    status = models.CharField(max_length=10, default="open")
    funding_index = DecimalTextField(default="0")
    funding_rate_next = DecimalTextField(default="0")
    next_funding_time = models.BigIntegerField(null=True, blank=True)
    premium_sum = DecimalTextField(default="0")
    premium_count = models.IntegerField(default=0)
    last_premium_sample = models.BigIntegerField(null=True, blank=True)
    delivery_sum = DecimalTextField(default="0")
    delivery_count = models.IntegerField(default=0)
    last_delivery_sample = models.BigIntegerField(null=True, blank=True)
    delivery_price = DecimalTextField(null=True, blank=True)
    open_interest = DecimalTextField(default="0")
    funding_index_short = DecimalTextField(null=True, blank=True)  # skew funding (defi_pool): the shorts' index
    move_strike = DecimalTextField(null=True, blank=True)  # MOVE contracts: the first hour's index TWAP
    fill_seq = models.BigIntegerField(default=0)  # the book's next fill seq

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "market_id"], name="market_unique_id")]

    def __str__(self) -> str:
        return f"{self.market_id} @ sandbox {self.sandbox_id}"


class PaperAccount(models.Model):
    class Kind(models.TextChoices):
        USER = "user"
        BOT = "bot"
        INSURANCE = "insurance"
        POOL = "pool"
        EXCHANGE = "exchange"  # sys:fees, sys:clearing, sys:funding, sys:liquidation, sys:external

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="accounts")
    account_id = models.CharField(max_length=64)  # the engine's id: "u:12", "bot:mm1", "sys:insurance"
    kind = models.CharField(max_length=10, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="paper_accounts")
    label = models.CharField(max_length=80, blank=True)
    active = models.BooleanField(default=True)  # False once reset: the learner got a fresh account
    # engine.types.Account settings, decimals as strings
    leverage = models.JSONField(default=dict, blank=True)
    margin_mode = models.JSONField(default=dict, blank=True)
    period_pnl = models.JSONField(default=dict, blank=True)
    # v3 lending: the account's opt-in (None = the pool's default) and its interest snapshots
    auto_lend = models.BooleanField(null=True, blank=True)
    interest_index = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "account_id"], name="account_unique_id")]
        indexes = [models.Index(fields=["sandbox", "user"], name="account_by_user")]

    def __str__(self) -> str:
        return f"{self.account_id} @ sandbox {self.sandbox_id}"


class Balance(models.Model):
    """Cached sum of an account's journal lines in one asset (written only by ledger_post)."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=10)
    amount_units = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "asset"], name="balance_unique_asset")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.asset} {self.amount_units}"


class Position(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="positions")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="positions")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="positions")
    key = models.CharField(max_length=120)  # "account_id|market_id": bulk lookups by key
    size = DecimalTextField()  # contracts, signed (+ long, - short)
    entry_price = DecimalTextField()
    margin_mode = models.CharField(max_length=10)
    leverage = DecimalTextField()
    isolated_margin_units = models.BigIntegerField(default=0)
    funding_snapshot = DecimalTextField(default="0")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "key"], name="position_unique_key")]

    def __str__(self) -> str:
        return f"position {self.key} size {self.size}"


class Order(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"  # resting on the book (possibly partly filled)
        WAITING = "waiting"  # stop / take-profit waiting for its trigger
        FILLED = "filled"
        CANCELLED = "cancelled"  # includes the unfilled rest of market / IOC orders

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="orders")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="orders")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    order_id = models.BigIntegerField()
    seq = models.BigIntegerField()  # time priority
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=12)
    time_in_force = models.CharField(max_length=10, default="gtc")
    quantity = DecimalTextField()  # as placed
    remaining = DecimalTextField()  # still resting / waiting
    filled_quantity = DecimalTextField(default="0")
    price = DecimalTextField(null=True, blank=True)
    trigger_price = DecimalTextField(null=True, blank=True)
    trigger_on = models.CharField(max_length=6, default="mark")
    reduce_only = models.BooleanField(default=False)
    is_liquidation = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices)
    tick_seq = models.BigIntegerField()  # tick during / after which it was placed
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "order_id"], name="order_unique_id")]
        indexes = [models.Index(fields=["sandbox", "market", "status"], name="order_book"),
                   models.Index(fields=["account", "status"], name="order_by_account")]

    def __str__(self) -> str:
        return f"order {self.order_id} {self.side} {self.quantity} {self.status}"


class Fill(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="fills")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="fills")
    seq = models.BigIntegerField()  # the book's fill number
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    price = DecimalTextField()
    quantity = DecimalTextField()
    maker_account_id = models.CharField(max_length=64)
    taker_account_id = models.CharField(max_length=64)
    taker_side = models.CharField(max_length=4)
    maker_order_id = models.BigIntegerField(null=True, blank=True)
    taker_order_id = models.BigIntegerField(null=True, blank=True)
    is_liquidation = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "seq"], name="fill_unique_seq")]
        indexes = [models.Index(fields=["sandbox", "tick_seq"], name="fill_by_tick")]

    def __str__(self) -> str:
        return f"fill {self.seq} {self.quantity} @ {self.price}"


class JournalEntry(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="journal_entries")
    entry_no = models.BigIntegerField()  # per sandbox, gap-free
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    market_id = models.CharField(max_length=40, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "entry_no"], name="journal_unique_no")]
        indexes = [models.Index(fields=["sandbox", "tick_seq"], name="journal_by_tick")]

    def __str__(self) -> str:
        return f"entry {self.entry_no} {self.kind}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="lines")
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="journal_lines")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="journal_lines")
    asset = models.CharField(max_length=10)
    amount_units = models.BigIntegerField()  # + credits the account, - debits it

    class Meta:
        indexes = [models.Index(fields=["sandbox", "asset"], name="line_by_asset"),
                   models.Index(fields=["account", "asset"], name="line_by_account")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.asset} {self.amount_units:+d}"


class EventLog(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="events")
    event_no = models.BigIntegerField()
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    market_id = models.CharField(max_length=40, blank=True)
    account_id = models.CharField(max_length=64, blank=True)
    numbers = models.JSONField(default=dict)  # decimals as strings
    inputs = models.JSONField(default=dict)
    formula = models.TextField(blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "event_no"], name="event_unique_no")]
        indexes = [models.Index(fields=["sandbox", "kind"], name="event_by_kind"),
                   models.Index(fields=["sandbox", "account_id"], name="event_by_account")]

    def __str__(self) -> str:
        return f"event {self.event_no} {self.kind}"


class TickRecord(models.Model):
    """One row per applied tick: the unique (sandbox, tick_seq) backstop and the lag history."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="ticks")
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    scheduled_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField()
    lag_s = models.FloatField(default=0.0)
    duration_ms = models.FloatField(default=0.0)
    liquidations = models.IntegerField(default=0)
    entries = models.IntegerField(default=0)
    events = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "tick_seq"], name="tick_unique_seq")]

    def __str__(self) -> str:
        return f"tick {self.tick_seq} of sandbox {self.sandbox_id}"


class PriceTick(models.Model):
    """Index / mark / last per market per tick; candles are aggregated from these."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="price_ticks")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="price_ticks")
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    index_price = DecimalTextField()
    mark_price = DecimalTextField()
    last_price = DecimalTextField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "tick_seq"], name="pricetick_unique_seq")]

    def __str__(self) -> str:
        return f"{self.market_id}@{self.tick_seq}: {self.index_price}"


class FundingPayment(models.Model):
    """A market's funding at a funding time (account null) or one position's settled funding."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="funding_payments")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="funding_payments")
    account = models.ForeignKey(PaperAccount, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="funding_payments")
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    rate = DecimalTextField(null=True, blank=True)  # market rows: the rate paid
    index_increment = DecimalTextField(null=True, blank=True)
    contracts = DecimalTextField(null=True, blank=True)
    amount_units = models.BigIntegerField(default=0)  # account rows: + received, - paid (posted)

    class Meta:
        indexes = [models.Index(fields=["sandbox", "tick_seq"], name="funding_by_tick")]

    def __str__(self) -> str:
        return f"funding {self.market_id} @ {self.tick_seq}"


class LendingPool(models.Model):
    """A v3 lending pool per asset (engine.lending.PoolState): scaled totals and cumulative indices."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="lending_pools")
    asset = models.CharField(max_length=10)
    lent_scaled = DecimalTextField(default="0")
    borrowed_scaled = DecimalTextField(default="0")
    lend_index = DecimalTextField(default="1")
    borrow_index = DecimalTextField(default="1")
    next_accrual_time = models.BigIntegerField(null=True, blank=True)
    borrow_rate = DecimalTextField(default="0")  # annual, at the last accrual
    lend_rate = DecimalTextField(default="0")
    auto_lend_default = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sandbox", "asset"], name="pool_unique_asset")]

    def __str__(self) -> str:
        return f"{self.asset} pool @ sandbox {self.sandbox_id}"


class InterestAccrual(models.Model):
    """v3 interest settled on one account's balance (or on its unrealized PnL): + earned, - paid."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="interest_accruals")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="interest_accruals")
    asset = models.CharField(max_length=10)
    tick_seq = models.BigIntegerField()
    sim_time = models.BigIntegerField()
    rate = DecimalTextField()
    amount_units = models.BigIntegerField()  # + earned, - paid

    def __str__(self) -> str:
        return f"interest {self.account_id} {self.asset} {self.amount_units:+d}"


class SandboxShock(models.Model):
    """An instructor's shock layered on the price source: a gap (stays) or a wick (reverts)."""

    class Kind(models.TextChoices):
        GAP = "gap"
        WICK = "wick"
        INSURANCE_DRAIN = "insurance_drain"
        FUNDING_SPIKE = "funding_spike"
        UTILIZATION_SPIKE = "utilization_spike"

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="shocks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    magnitude = DecimalTextField()  # fraction: -0.2 = 20% down
    start_seq = models.BigIntegerField()  # first tick the shock moves the price in
    ticks = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.magnitude} from tick {self.start_seq}"
