"""Rules: the frozen RuleSet that selects and parameterises every mechanic; presets v0 and v1.

Design note
-----------
A generation is a RuleSet, never an `if generation == ...` branch. Each mechanic reads the
sub-config it needs (`rules.funding`, `rules.margin`, ...) and chooses its behaviour by VALUE
(`mark_method="fair_price"`, `maintenance_basis="entry_value"`, `loss_waterfall=("insurance_fund",
"adl")`) or by a small strategy object (`margin.risk`, a RiskModel with `rates(value, leverage)`).
Later presets are `dataclasses.replace` of earlier ones:

    V2 = replace(V1, name="v2", contract=ContractRules(kind=LINEAR, ...),
                 margin=replace(V1.margin, risk=SqrtImfRisk(...), ...), funding=...)

Fields that v2/v3/DeFi will need already have a value space here (e.g. `mark_method` knows
"median_bid_ask_last" and "oracle", `liquidation.style` knows "incremental"), and the modules
raise a clear NotImplementedError for values this issue does not implement yet.

`RuleSet.with_overrides({"fees.taker_rate": "0.001", "funding.interval_seconds": 3600})`
validates instructors' changes (type, range, allowed values) and raises RuleError naming the
field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import Enum
from math import ceil
from typing import Any, Literal, get_args

from exchange_edu.engine.subrules import (
    BACKPACK_WEIGHTS,
    FTX_WEIGHTS,
    LITERALS,
    CollateralRules,
    CollateralWeight,
    LendingRules,
    MovePeriod,
    MoveRules,
    PoolRules,
    SqrtImfRisk,
    TierRules,
)
from exchange_edu.engine.types import ContractKind, ExpiryKind, MarginMode

MarkMethod = Literal["last", "fair_price", "median_bid_ask_last", "oracle", "index", "oracle_anchored"]
TriggerPrice = Literal["mark", "last", "index"]
MaintenanceBasis = Literal["entry_value", "mark_value"]
LiquidationStyle = Literal["whole", "incremental", "fillable"]
WaterfallStep = Literal["insurance_fund", "adl", "clawback", "backstop", "exchange"]
ClawbackScope = Literal["full_account", "per_contract"]
BandReference = Literal["bankruptcy", "index"]
FundingStyle = Literal["none", "premium_interest_clamp", "twap_premium", "premium_plus_interest", "skew"]
PremiumSource = Literal["impact", "mark", "impact_index"]
PaymentPrice = Literal["mark", "index"]
Counterparty = Literal["book", "pool"]
AccountModel = Literal["per_coin", "unified"]
AdlRanking = Literal["pnl_leverage", "largest_position", "random"]


class RuleError(ValueError):
    """An invalid rule value; `field` is the dotted path an instructor form should flag."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


def _meta(lo: object = None, hi: object = None, doc: str = "") -> dict[str, Any]:
    return {"min": lo, "max": hi, "doc": doc}


def _dec(default: str, lo: str | None = None, hi: str | None = None, doc: str = "") -> Any:
    return field(default=Decimal(default), metadata=_meta(
        None if lo is None else Decimal(lo), None if hi is None else Decimal(hi), doc))


# -- risk models (strategy objects) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeepRatioRisk:
    """v0 OKCoin/OKEx: a menu of leverages, each with a keep ratio k (10% @10x, 20% @20x).

    Liquidation when (margin + UPL) / position margin <= k, with position margin = value(E) / L,
    i.e. maintenance = k / L of the entry value: both 10x and 20x keep 1% of the value.
    imr = 1 / L, mmr = k / L.
    """

    keep_ratios: tuple[tuple[Decimal, Decimal], ...] = (
        (Decimal(10), Decimal("0.10")), (Decimal(20), Decimal("0.20")))

    def max_leverage(self) -> Decimal:
        return max(lev for lev, _ in self.keep_ratios)

    def keep_ratio(self, leverage: Decimal) -> Decimal:
        for lev, k in self.keep_ratios:
            if lev == leverage:
                return k
        raise RuleError("margin.risk.keep_ratios", f"leverage {leverage} is not on the menu "
                        f"{[str(lev) for lev, _ in self.keep_ratios]}")

    def rates(self, value: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        """(initial, maintenance) rate of the position value."""
        k = self.keep_ratio(leverage)
        return 1 / leverage, k / leverage

    def allows_leverage(self, leverage: Decimal) -> bool:
        return any(lev == leverage for lev, _ in self.keep_ratios)

    def position_rates(self, market: Any, size: Decimal, price: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        return self.rates(market.value(size, price), leverage)


@dataclass(frozen=True, slots=True)
class RiskLimitSteps:
    """v1 BitMEX risk limits: rates grow one step per `step` of value above `base_limit`.

    steps = ceil(max(0, value - base_limit) / step)
    mmr = mm_base + steps * mm_step;  imr = max(im_base + steps * mm_step, 1 / L)
    (value in the settlement asset, XBT for XBTUSD: base 200, step 150 -> 230 XBT is 1 step.)
    """

    im_base: Decimal = Decimal("0.01")
    mm_base: Decimal = Decimal("0.005")
    base_limit: Decimal = Decimal(200)
    step: Decimal = Decimal(150)
    mm_step: Decimal = Decimal("0.005")
    max_lev: Decimal = Decimal(100)

    def max_leverage(self) -> Decimal:
        return self.max_lev

    def steps(self, value: Decimal) -> int:
        return ceil(max(Decimal(0), value - self.base_limit) / self.step)

    def rates(self, value: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        n = self.steps(value)
        imr = self.im_base + n * self.mm_step
        mmr = self.mm_base + n * self.mm_step
        return max(imr, 1 / leverage), mmr

    def allows_leverage(self, leverage: Decimal) -> bool:
        return Decimal(1) <= leverage <= self.max_lev

    def position_rates(self, market: Any, size: Decimal, price: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        return self.rates(market.value(size, price), leverage)


RiskModel = KeepRatioRisk | RiskLimitSteps | SqrtImfRisk  # same methods: rates, position_rates, ...


# -- sub-configs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractRules:
    kind: ContractKind = ContractKind.INVERSE
    contract_size: Decimal = field(default=Decimal(100), metadata=_meta(Decimal("0.00000001"), None,
                                   "USD face per contract (inverse) or base units (linear)"))
    underlying: str = "BTC"
    settlement_asset: str = "BTC"
    quote_asset: str = "USD"
    tick_size: Decimal = _dec("0.01", "0.00000001")
    expiries: tuple[ExpiryKind, ...] = (ExpiryKind.WEEKLY, ExpiryKind.BIWEEKLY, ExpiryKind.QUARTERLY)
    # v2+: several underlyings (empty = just `underlying`), per-underlying contract sizes
    underlyings: tuple[str, ...] = ()
    contract_sizes: tuple[tuple[str, Decimal], ...] = ()
    move_contracts: bool = False  # v2 option: MOVE contracts per underlying (see `RuleSet.move`)

    def all_underlyings(self) -> tuple[str, ...]:
        return self.underlyings or (self.underlying,)

    def size_of(self, underlying: str) -> Decimal:
        return dict(self.contract_sizes).get(underlying, self.contract_size)


@dataclass(frozen=True, slots=True)
class PricingRules:
    mark_method: MarkMethod = "last"
    impact_margin: Decimal = _dec("0.1", "0", None, "impact notional = impact_margin / IM rate")


@dataclass(frozen=True, slots=True)
class FundingRules:
    style: FundingStyle = "none"
    interval_seconds: int = field(default=8 * 3600, metadata=_meta(60, 7 * 86400))
    first_offset_seconds: int = field(default=4 * 3600, metadata=_meta(0, 7 * 86400,
                                      "funding times = UTC midnight + offset + k * interval"))
    interest_rate: Decimal = _dec("0.0001", "-0.01", "0.01", "I per interval")
    clamp: Decimal = _dec("0.0005", "0", "0.1")
    cap: Decimal | None = field(default=None, metadata=_meta(Decimal(0), Decimal("0.5"),
                                "None = 75% x (IM - MM)"))
    premium_divisor: Decimal = _dec("1", "1", "1000", "v2: 24 (hourly payment of a daily premium)")
    sample_seconds: int = field(default=60, metadata=_meta(1, 86400))
    premium_source: PremiumSource = "impact"  # v2: (mark - index) / index sampled each minute
    # DeFi book: payment = size x ORACLE price x rate (Hyperliquid); "mark" for the CEX presets
    payment_price: PaymentPrice = "mark"


@dataclass(frozen=True, slots=True)
class MarginRules:
    modes: tuple[MarginMode, ...] = (MarginMode.ISOLATED, MarginMode.CROSS)
    default_mode: MarginMode = MarginMode.ISOLATED
    default_leverage: Decimal = _dec("10", "1", "200")
    risk: RiskModel = field(default_factory=KeepRatioRisk)
    maintenance_basis: MaintenanceBasis = "entry_value"
    # "unified": one account-wide margin fraction over every market and collateral asset (v2+)
    account_model: AccountModel = "per_coin"
    collateral: CollateralRules = field(default_factory=CollateralRules)


@dataclass(frozen=True, slots=True)
class FeeRules:
    maker_rate: Decimal = _dec("0.0002", "-0.01", "0.01", "negative = rebate")
    taker_rate: Decimal = _dec("0.0003", "0", "0.01")


@dataclass(frozen=True, slots=True)
class LiquidationRules:
    trigger_price: TriggerPrice = "last"
    style: LiquidationStyle = "whole"
    # the engine works its inventory with IOC orders protected at reference x (1 -+ max_slippage),
    # the reference being the inventory's bankruptcy price (v1) or the index (v0: OKEx let
    # closing orders trade within 25% of the index, MECHANICS 1.5)
    band_reference: BandReference = "index"
    max_slippage: Decimal = _dec("0.25", "0", "0.9", "fraction beyond the reference price")
    # unified accounts (v2+): chunks on the book below MMF, backstop below the auto-close MF
    chunk_fraction: Decimal = _dec("0.1", "0.01", "1", "share of each position sent per liquidation tick")
    acmf_divisor: Decimal = _dec("2", "1", "10", "ACMF = max(MMF / divisor, MMF - gap)")
    acmf_gap: Decimal = _dec("0.06", "0", "1")
    backstop_mark_share: Decimal = _dec("0.3333333333333333333333333333333333", "0", "1",
                                        "BLP price = (1 - share) x ZP + share x MP")
    backstop_capacity: Decimal = _dec("1000000000000", "0", None, "notional the backstop takes per tick")
    adl_ranking: AdlRanking = "pnl_leverage"
    repay_borrows_first: bool = False  # v3: convert coin collateral to repay a negative balance first
    # DeFi book (dYdX v4): style "fillable" sends chunks limited at the fillable price
    #   fill = mark x (1 -+ ABR x SMMR x MMF), ABR = clamp(BA x (1 - TNC / TMMR), 0, 1)
    # and the insurance fund takes min(surplus over the bankruptcy price, fee cap x notional)
    fillable_ba: Decimal = _dec("1", "0", "10", "dYdX BA (bankruptcy adjustment)")
    fillable_smmr: Decimal = _dec("1.5", "0", "10", "dYdX SMMR (spread to maintenance margin ratio)")
    insurance_fee_cap: Decimal = _dec("0.015", "0", "0.5", "max liquidation fee to the fund, share of notional")
    backstop_takes_all: bool = False  # Hyperliquid: the vault takes every position and the margin
    tiers: TierRules = field(default_factory=TierRules)  # v2: chunk randomness, last-resort pro rata


@dataclass(frozen=True, slots=True)
class SettlementRules:
    delivery_window_seconds: int = field(default=3600, metadata=_meta(60, 86400))
    delivery_sample_seconds: int = field(default=60, metadata=_meta(1, 3600))
    weekly_settlement: bool = True
    settlement_weekday: int = field(default=4, metadata=_meta(0, 6, "0 = Monday; 4 = Friday"))
    settlement_hour_utc: int = field(default=8, metadata=_meta(0, 23))
    clawback_scope: ClawbackScope = "full_account"
    clawback_rate_cap: Decimal = _dec("1", "0", "1")


@dataclass(frozen=True, slots=True)
class RuleSet:
    name: str
    description: str = ""
    contract: ContractRules = field(default_factory=ContractRules)
    pricing: PricingRules = field(default_factory=PricingRules)
    funding: FundingRules = field(default_factory=FundingRules)
    margin: MarginRules = field(default_factory=MarginRules)
    fees: FeeRules = field(default_factory=FeeRules)
    liquidation: LiquidationRules = field(default_factory=LiquidationRules)
    loss_waterfall: tuple[WaterfallStep, ...] = ("insurance_fund", "clawback")
    settlement: SettlementRules = field(default_factory=SettlementRules)
    insurance_seed: Decimal = _dec("10", "0", "1000000", "insurance fund at start (settlement asset)")
    interest: str = field(default="none", metadata=_meta(doc="v3: \"pool\" = lending pool interest"))
    lending: LendingRules = field(default_factory=LendingRules)
    # DeFi: who fills market orders; "pool" = an LP pool at the oracle price (see `pool`)
    counterparty: Counterparty = "book"
    pool: PoolRules = field(default_factory=PoolRules)
    move: MoveRules = field(default_factory=MoveRules)  # used when contract.move_contracts is on

    def with_overrides(self, overrides: dict[str, Any] | None = None, **kwargs: Any) -> RuleSet:
        """A validated copy with dotted-path overrides: {"fees.taker_rate": "0.001"}.

        Decimals may be given as str/int/Decimal (not float); enums/literals by value. Raises
        RuleError(field, message) for an unknown field, a wrong type or an out-of-range value.
        """
        changes = dict(overrides or {})
        changes.update({k.replace("__", "."): v for k, v in kwargs.items()})
        result: RuleSet = self
        for path, raw in changes.items():
            result = _set_path(result, path.split("."), raw, path)
        validate(result)
        return result


def _set_path(obj: Any, parts: list[str], raw: Any, path: str) -> Any:
    if not dataclasses.is_dataclass(obj):
        raise RuleError(path, "not a settable rule")
    fields = {f.name: f for f in dataclasses.fields(obj)}
    name = parts[0]
    if name not in fields:
        raise RuleError(path, f"unknown field {name!r}; known: {', '.join(sorted(fields))}")
    current = getattr(obj, name)
    if len(parts) > 1:
        return replace(obj, **{name: _set_path(current, parts[1:], raw, path)})
    return replace(obj, **{name: _coerce(fields[name], current, raw, path)})


def _coerce(f: dataclasses.Field[Any], current: Any, raw: Any, path: str) -> Any:
    meta = f.metadata or {}
    ftype = f.type if isinstance(f.type, str) else str(f.type)
    if isinstance(raw, float):
        raise RuleError(path, "floats are not accepted for money or rates; pass a string")
    value: Any
    if isinstance(current, Enum):
        try:
            value = type(current)(raw)
        except ValueError:
            raise RuleError(path, f"must be one of {[m.value for m in type(current)]}, got {raw!r}") from None
    elif isinstance(current, bool):
        if not isinstance(raw, bool):
            raise RuleError(path, f"must be true or false, got {raw!r}")
        value = raw
    elif isinstance(current, int):
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise RuleError(path, f"must be an integer, got {raw!r}")
        try:
            value = int(raw)
        except ValueError:
            raise RuleError(path, f"must be an integer, got {raw!r}") from None
    elif isinstance(current, Decimal) or "Decimal" in str(ftype):
        if raw is None and "None" in str(ftype):
            return None
        try:
            value = Decimal(raw) if isinstance(raw, (str, int, Decimal)) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise RuleError(path, f"must be a decimal number, got {raw!r}")
    elif isinstance(current, str):
        allowed = _literal_values(f)
        if allowed and raw not in allowed:
            raise RuleError(path, f"must be one of {allowed}, got {raw!r}")
        if not isinstance(raw, str):
            raise RuleError(path, f"must be text, got {raw!r}")
        value = raw
    elif isinstance(current, tuple):
        if isinstance(raw, (str, bytes)) or not hasattr(raw, "__iter__"):
            raise RuleError(path, f"must be a list, got {raw!r}")
        value = tuple(raw)
    else:
        if type(raw) is not type(current):
            raise RuleError(path, f"must be a {type(current).__name__}, got {type(raw).__name__}")
        value = raw
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        raise RuleError(path, f"must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise RuleError(path, f"must be <= {hi}, got {value}")
    return value


def _literal_values(f: dataclasses.Field[Any]) -> tuple[Any, ...]:
    hint = f.type if not isinstance(f.type, str) else _LITERALS_BY_NAME.get(f.type)
    return get_args(hint) if hint is not None else ()


_LITERALS_BY_NAME: dict[str, Any] = {
    "MarkMethod": MarkMethod, "TriggerPrice": TriggerPrice, "MaintenanceBasis": MaintenanceBasis,
    "LiquidationStyle": LiquidationStyle, "BandReference": BandReference,
    "ClawbackScope": ClawbackScope, "FundingStyle": FundingStyle, "PremiumSource": PremiumSource,
    "AccountModel": AccountModel, "AdlRanking": AdlRanking, "PaymentPrice": PaymentPrice,
    "Counterparty": Counterparty, **LITERALS,
}


def validate(rules: RuleSet) -> None:
    """Cross-field checks; RuleError names the field."""
    m = rules.margin
    if m.default_mode not in m.modes:
        raise RuleError("margin.default_mode", f"{m.default_mode.value} is not in margin.modes")
    if not m.risk.allows_leverage(m.default_leverage):
        raise RuleError("margin.default_leverage", f"{m.default_leverage} is not allowed by the risk model")
    if rules.fees.maker_rate + rules.fees.taker_rate < 0:
        raise RuleError("fees.maker_rate", "a rebate larger than the taker fee would pay traders to wash-trade")
    for step in rules.loss_waterfall:
        if step not in get_args(WaterfallStep):
            raise RuleError("loss_waterfall", f"unknown step {step!r}")
    if rules.funding.style != "none" and ExpiryKind.PERPETUAL not in rules.contract.expiries:
        raise RuleError("funding.style", "funding applies to perpetual contracts only")
    if rules.interest not in ("none", "pool"):
        raise RuleError("interest", f"must be 'none' or 'pool', got {rules.interest!r}")
    if rules.interest == "pool" and not rules.lending.enabled:
        raise RuleError("lending.enabled", "interest 'pool' needs a lending pool")
    if rules.lending.throttle_threshold > rules.lending.throttle_bound:
        raise RuleError("lending.throttle_threshold", "must not exceed lending.throttle_bound")
    if (rules.funding.style == "skew") != (rules.counterparty == "pool"):
        raise RuleError("funding.style", "skew funding is between the sides of a pool market: "
                        "use it exactly when counterparty is 'pool'")
    if rules.counterparty == "pool" and m.account_model != "per_coin":
        raise RuleError("counterparty", "a pool market margins each position on its own (per_coin)")
    if rules.pool.min_pnl_factor_after_adl > rules.pool.max_pnl_factor_for_adl:
        raise RuleError("pool.min_pnl_factor_after_adl", "must not exceed pool.max_pnl_factor_for_adl")
    if rules.contract.move_contracts:
        _validate_move(rules)
    t = rules.liquidation.tiers
    if t.through_bps_min > t.through_bps_max:
        raise RuleError("liquidation.tiers.through_bps_min", "must not exceed liquidation.tiers.through_bps_max")
    if isinstance(m.risk, RiskLimitSteps) and m.risk.mm_base >= m.risk.im_base:
        raise RuleError("margin.risk.mm_base", "maintenance must be below initial margin")


def _validate_move(rules: RuleSet) -> None:
    if rules.contract.kind is not ContractKind.LINEAR:
        raise RuleError("contract.move_contracts", "MOVE contracts are linear: they need contract.kind 'linear'")
    if not rules.move.periods:
        raise RuleError("move.periods", "list at least one period")
    for p in rules.move.periods:
        if p not in get_args(MovePeriod):
            raise RuleError("move.periods", f"must be among {get_args(MovePeriod)}, got {p!r}")
    if 2 * rules.settlement.delivery_window_seconds > 86400:
        raise RuleError("settlement.delivery_window_seconds", "a MOVE's first and last hour must not overlap")


# -- presets --------------------------------------------------------------------------------

V0 = RuleSet(
    name="v0",
    description="OKCoin/OKEx 2014-18: inverse dated futures, fixed margin 10x/20x, last-price "
                "liquidation, weekly delivery, insurance fund then pro-rata clawback",
)

V1 = replace(
    V0,
    name="v1",
    description="BitMEX XBTUSD: inverse perpetual, 100x, risk-limit steps, fair-price mark, "
                "8-hourly funding, insurance fund then ADL",
    contract=ContractRules(contract_size=Decimal(1), tick_size=Decimal("0.5"),
                           expiries=(ExpiryKind.PERPETUAL,)),
    pricing=PricingRules(mark_method="fair_price"),
    funding=FundingRules(style="premium_interest_clamp"),
    margin=MarginRules(default_leverage=Decimal(100), risk=RiskLimitSteps()),
    fees=FeeRules(maker_rate=Decimal("-0.00025"), taker_rate=Decimal("0.00075")),
    liquidation=LiquidationRules(trigger_price="mark", band_reference="bankruptcy", max_slippage=Decimal("0.05")),
    loss_waterfall=("insurance_fund", "adl"),
    settlement=replace(SettlementRules(), weekly_settlement=False),
)

V2 = replace(
    V1,
    name="v2",
    description="FTX-style: linear USD perpetuals and quarterly futures on BTC and ETH, one unified "
                "cross-margined account with USD/BTC/ETH collateral (weights, sqrt-size discount), sqrt-size "
                "IMF/MMF, mark = median(bid, ask, last), hourly TWAP-premium / 24 funding, incremental "
                "liquidation, backstop liquidity, insurance fund, then the largest opposing positions",
    contract=ContractRules(kind=ContractKind.LINEAR, contract_size=Decimal("0.001"), settlement_asset="USD",
                           tick_size=Decimal("0.1"), expiries=(ExpiryKind.PERPETUAL, ExpiryKind.QUARTERLY),
                           underlyings=("BTC", "ETH"), contract_sizes=(("BTC", Decimal("0.001")),
                                                                       ("ETH", Decimal("0.01")))),
    pricing=PricingRules(mark_method="median_bid_ask_last"),
    funding=FundingRules(style="twap_premium", interval_seconds=3600, first_offset_seconds=0,
                         premium_divisor=Decimal(24), premium_source="mark"),
    margin=MarginRules(modes=(MarginMode.CROSS,), default_mode=MarginMode.CROSS, default_leverage=Decimal(20),
                       risk=SqrtImfRisk(), maintenance_basis="mark_value", account_model="unified",
                       collateral=CollateralRules(FTX_WEIGHTS)),
    fees=FeeRules(maker_rate=Decimal("0.0002"), taker_rate=Decimal("0.0007")),
    liquidation=LiquidationRules(trigger_price="mark", style="incremental", band_reference="index",
                                 max_slippage=Decimal("0.0005"), adl_ranking="largest_position"),
    loss_waterfall=("backstop", "insurance_fund", "adl"),
    settlement=replace(SettlementRules(), weekly_settlement=False, settlement_hour_utc=3),
    insurance_seed=Decimal(100000),
)

V3 = replace(
    V2,
    name="v3",
    description="Backpack-style: linear USDC perpetuals on BTC and ETH, unified account whose idle balances "
                "are auto-lent (kinked borrow curve, lend = borrow x U x (1 - fee), hourly accrual), PnL "
                "realized into USDC every 10 s or virtually (uPnL earns / pays pool rates), settlement "
                "waterfall, hourly funding bounded at 1.5%, liquidation repaying borrows first, backstop, "
                "ADL, lenders made whole in USD",
    contract=replace(V2.contract, settlement_asset="USDC", expiries=(ExpiryKind.PERPETUAL,)),
    funding=FundingRules(style="premium_interest_clamp", interval_seconds=3600, first_offset_seconds=0,
                         interest_rate=Decimal("0.0001"), clamp=Decimal("0.0005"), cap=Decimal("0.015"),
                         premium_divisor=Decimal(8), premium_source="mark"),
    margin=replace(V2.margin, risk=SqrtImfRisk(imf_factors=(), default_imf_factor=Decimal("0.00002494"),
                                               mmf_base=Decimal("0.00666667"), size_basis="notional",
                                               max_lev=Decimal(75)),
                   collateral=CollateralRules(BACKPACK_WEIGHTS)),
    liquidation=replace(V2.liquidation, adl_ranking="pnl_leverage", repay_borrows_first=True),
    settlement=replace(V2.settlement, settlement_hour_utc=8),
    interest="pool",
    lending=LendingRules(enabled=True, assets=("USDC", "BTC", "ETH")),
)

USDC_ONLY = (CollateralWeight("USDC", Decimal(1), Decimal(1)),)

DEFI_BOOK = replace(
    V3,
    name="defi_book",
    description="dYdX v4 / Hyperliquid-style on-chain order book: linear USDC perpetuals on BTC and ETH, "
                "cross-margined accounts (IMF 2%, MMF 1.2%), oracle-anchored mark, hourly funding F/8 with the "
                "interest term, clamp and a 4%/h cap paid at the oracle price, liquidation on the book at the "
                "fillable price with the insurance fee capped at 1.5%, a vault backstop at 2/3 of maintenance, "
                "then deleveraging against random opposite accounts; every account is public (explorer)",
    pricing=PricingRules(mark_method="oracle_anchored", impact_margin=Decimal(500)),
    funding=FundingRules(style="premium_interest_clamp", interval_seconds=3600, first_offset_seconds=0,
                         interest_rate=Decimal("0.0001"), clamp=Decimal("0.0005"), cap=Decimal("0.04"),
                         premium_divisor=Decimal(8), premium_source="impact_index", payment_price="index"),
    margin=MarginRules(modes=(MarginMode.CROSS,), default_mode=MarginMode.CROSS, default_leverage=Decimal(20),
                       risk=SqrtImfRisk(imf_factors=(), default_imf_factor=Decimal(0), imf_floor=Decimal("0.02"),
                                        mmf_base=Decimal("0.012"), max_lev=Decimal(50)),
                       maintenance_basis="mark_value", account_model="unified",
                       collateral=CollateralRules(USDC_ONLY)),
    fees=FeeRules(maker_rate=Decimal("0.0001"), taker_rate=Decimal("0.0005")),
    liquidation=LiquidationRules(trigger_price="mark", style="fillable", band_reference="index",
                                 max_slippage=Decimal("0.01"), chunk_fraction=Decimal("0.2"),
                                 acmf_divisor=Decimal("1.5"), acmf_gap=Decimal(1), adl_ranking="random",
                                 backstop_takes_all=True),
    loss_waterfall=("backstop", "insurance_fund", "adl"),
    insurance_seed=Decimal(100000),
    interest="none",
    lending=LendingRules(),
)

DEFI_POOL = replace(
    V3,
    name="defi_pool",
    description="GMX v2-style synthetic perpetuals on BTC and ETH against a USDC liquidity pool: LPs deposit "
                "for pool shares (GM) and are every trader's counterparty at the oracle price, with price impact "
                "from the skew; the larger side pays the smaller skew-based funding, both pay a utilization "
                "borrow fee to the LPs; isolated positions liquidated by remaining collateral (1%) against the "
                "pool; ADL of winners when their PnL exceeds 85% of the pool",
    contract=replace(V3.contract, tick_size=Decimal("0.01")),
    pricing=PricingRules(mark_method="oracle"),
    funding=FundingRules(style="skew", interval_seconds=3600, first_offset_seconds=0, interest_rate=Decimal(0),
                         clamp=Decimal(0), cap=Decimal("0.5"), payment_price="index"),
    margin=MarginRules(modes=(MarginMode.ISOLATED,), default_mode=MarginMode.ISOLATED,
                       default_leverage=Decimal(10),
                       risk=SqrtImfRisk(imf_factors=(), default_imf_factor=Decimal(0), imf_floor=Decimal("0.02"),
                                        mmf_base=Decimal("0.01"), max_lev=Decimal(50)),
                       maintenance_basis="entry_value", account_model="per_coin",
                       collateral=CollateralRules(USDC_ONLY)),
    fees=FeeRules(maker_rate=Decimal("0.0005"), taker_rate=Decimal("0.0007")),
    liquidation=LiquidationRules(trigger_price="index", style="whole", band_reference="index"),
    loss_waterfall=("insurance_fund", "adl"),
    insurance_seed=Decimal(0),
    interest="none",
    lending=LendingRules(),
    counterparty="pool",
    pool=PoolRules(seed_liquidity=Decimal(2000000)),
)

# v2 with the optional MOVE contracts (daily, per underlying): not in PRESETS (the sandbox lists
# those); `preset("v2").with_overrides({"contract.move_contracts": True})` gives the same rules.
V2_MOVE = replace(V2, name="v2_move", description=V2.description + "; daily MOVE contracts on the absolute "
                  "move of the index (straddles struck at the first hour's TWAP)",
                  contract=replace(V2.contract, move_contracts=True))

PRESETS: dict[str, RuleSet] = {"v0": V0, "v1": V1, "v2": V2, "v3": V3, "defi_book": DEFI_BOOK,
                               "defi_pool": DEFI_POOL}


def preset(name: str) -> RuleSet:
    """The preset called `name`; RuleError lists the valid names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise RuleError("preset", f"unknown preset {name!r}; valid: {', '.join(PRESETS)}") from None


def funding_cap(rules: RuleSet) -> Decimal:
    """|F| cap per interval: explicit, or 75% x (IM - MM) at the base tier (XBTUSD 0.375%)."""
    if rules.funding.cap is not None:
        return rules.funding.cap
    imr, mmr = rules.margin.risk.rates(Decimal(0), rules.margin.risk.max_leverage())
    return Decimal("0.75") * (imr - mmr)
