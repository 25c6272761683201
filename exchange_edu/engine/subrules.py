"""Sub-configs and strategy objects that v2 and v3 add to the RuleSet (unified margin, collateral,
lending, realization). `rules` imports them; they import nothing from `rules`.

Design note
-----------
* `SqrtImfRisk` is a risk model with the same methods as `KeepRatioRisk` / `RiskLimitSteps`
  (`rates`, `position_rates`, `max_leverage`, `allows_leverage`); margin requirements grow with the
  square root of the position (MECHANICS 3.3, 4.2):

      IMF = max(1 / leverage, imf_floor, f x sqrt(s))      MMF = max(mmf_base, mmf_ratio x f x sqrt(s))
      s = |size| in coins (FTX, size_basis "coins") or |notional| in USD (Backpack, "notional")

* `CollateralRules` lists the assets an account may post, with FTX-style weights (3.2):

      weight(q) = min(table weight, numerator / (1 + imf_factor x sqrt(q)))   for q > 0
      a negative balance (a borrow) counts at weight 1

* `LendingRules` (v3, 4.3-4.7): the kinked curve, accrual interval, throttles, auto-lend and the
  realization mode. `enabled = False` (v0-v2) means no pool and no interest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

D = Decimal
SizeBasis = Literal["coins", "notional"]
RealizationMode = Literal["auto", "virtual"]
BorrowModel = Literal["kink", "curve"]


@dataclass(frozen=True, slots=True)
class SqrtImfRisk:
    """v2/v3 sqrt-size margin fractions; `imf_factors` per underlying (BTC 0.002, ETH 0.0004)."""

    imf_factors: tuple[tuple[str, Decimal], ...] = (("BTC", D("0.002")), ("ETH", D("0.0004")))
    default_imf_factor: Decimal = D("0.0005")
    imf_floor: Decimal = D(0)
    mmf_base: Decimal = D("0.03")
    mmf_ratio: Decimal = D("0.6")
    size_basis: SizeBasis = "coins"
    max_lev: Decimal = D(20)

    def factor(self, underlying: str) -> Decimal:
        for name, f in self.imf_factors:
            if name == underlying:
                return f
        return self.default_imf_factor

    def max_leverage(self) -> Decimal:
        return self.max_lev

    def allows_leverage(self, leverage: Decimal) -> bool:
        return D(1) <= leverage <= self.max_lev

    def rates(self, value: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        """The size-free part: (base IMF, base MMF); funding cap and impact notional use it."""
        return max(1 / leverage, self.imf_floor), self.mmf_base

    def position_rates(self, market: Any, size: Decimal, price: Decimal, leverage: Decimal) -> tuple[Decimal, Decimal]:
        """(IMF, MMF) of a position of signed `size` contracts valued at `price`."""
        coins = abs(size) * market.contract_size
        s = coins if self.size_basis == "coins" else coins * price
        root = s.sqrt() if s > 0 else D(0)
        f = self.factor(market.underlying)
        base_imf, base_mmf = self.rates(D(0), leverage)
        return max(base_imf, f * root), max(base_mmf, self.mmf_ratio * f * root)


@dataclass(frozen=True, slots=True)
class CollateralWeight:
    """One collateral asset: total (maintenance) and initial weight, and its size-discount factor."""

    asset: str
    total: Decimal
    initial: Decimal
    imf_factor: Decimal = D(0)


QUOTE_ASSETS = ("USD", "USDC", "USDT")


@dataclass(frozen=True, slots=True)
class CollateralRules:
    weights: tuple[CollateralWeight, ...] = (CollateralWeight("USD", D(1), D(1)),)
    discount_numerator: Decimal = field(default=D("1.1"), metadata={"min": D(1), "max": D(2), "doc": ""})

    def weight_of(self, asset: str) -> CollateralWeight | None:
        for w in self.weights:
            if w.asset == asset:
                return w
        return None


FTX_WEIGHTS = (
    CollateralWeight("USD", D(1), D(1)),
    CollateralWeight("BTC", D("0.975"), D("0.95"), D("0.002")),
    CollateralWeight("ETH", D("0.95"), D("0.9"), D("0.0004")),
)
BACKPACK_WEIGHTS = (
    CollateralWeight("USDC", D(1), D(1)),
    CollateralWeight("BTC", D("0.975"), D("0.95"), D("0.002")),
    CollateralWeight("ETH", D("0.95"), D("0.9"), D("0.0004")),
)


@dataclass(frozen=True, slots=True)
class LendingRules:
    """v3 lending pool per asset and how PnL meets it (MECHANICS 4.3, 4.4, 4.7)."""

    enabled: bool = False
    assets: tuple[str, ...] = ("USDC",)
    optimal_utilization: Decimal = field(default=D("0.80"), metadata={"min": D("0.01"), "max": D("0.99"), "doc": ""})
    base_rate: Decimal = field(default=D(0), metadata={"min": D(0), "max": D(1), "doc": "annual"})
    slope1: Decimal = field(default=D("0.06"), metadata={"min": D(0), "max": D(5), "doc": "annual"})
    slope2: Decimal = field(default=D("1.50"), metadata={"min": D(0), "max": D(50), "doc": "annual"})
    fee: Decimal = field(default=D("0.10"), metadata={"min": D(0), "max": D(1), "doc": "exchange share"})
    accrual_seconds: int = field(default=3600, metadata={"min": 60, "max": 86400, "doc": ""})
    periods_per_year: Decimal = field(default=D(8760), metadata={"min": D(1), "max": D(1000000), "doc": ""})
    throttle_threshold: Decimal = field(default=D("0.92"), metadata={"min": D(0), "max": D(1), "doc": ""})
    throttle_bound: Decimal = field(default=D("0.95"), metadata={"min": D(0), "max": D(1), "doc": ""})
    auto_lend_default: bool = True
    realization: RealizationMode = "auto"
    realization_seconds: int = field(default=10, metadata={"min": 1, "max": 86400, "doc": ""})


def _f(default: str, lo: str | None = None, hi: str | None = None, doc: str = "") -> Any:
    return field(default=D(default), metadata={"min": None if lo is None else D(lo),
                                               "max": None if hi is None else D(hi), "doc": doc})


@dataclass(frozen=True, slots=True)
class PoolRules:
    """DeFi pool (GMX v2 synthetics, MECHANICS 5.2): LPs are every trader's counterparty.

    Rates per SECOND unless named per year; USD amounts in the settlement asset (USDC).

        funding (skew)  rate_large = funding_factor x |OI_L - OI_S|^funding_exponent / (OI_L + OI_S)
                        rate_small = rate_large x OI_large / OI_small          (same dollars, E26)
        borrow (kink)   b = base x usage (+ (above - base) x (usage - optimal) / (1 - optimal))  per year
        borrow (curve)  b = borrowing_factor x usage^borrowing_exponent                        per second
        usage           = open interest of the side (USD) / pool value
        impact          = f x d0^e - f x d1^e, d = |OI_L - OI_S| (USD) before / after, capped
        ADL             when traders' pending PnL / pool cash > max_pnl_factor_for_adl
    """

    share_asset: str = "GM"
    seed_liquidity: Decimal = _f("0", "0", None, "USDC an LP (sys:pool_lp) deposits at genesis")
    funding_factor: Decimal = _f("0.00000002", "0", "0.01", "per second; 2e-8 ~ 63%/yr at 100% skew")
    funding_exponent: Decimal = _f("1", "0.5", "3")
    borrow_model: BorrowModel = "kink"
    borrowing_factor: Decimal = _f("0.00000000625", "0", "0.01", "curve model, per second")
    borrowing_exponent: Decimal = _f("1", "0.5", "3")
    optimal_usage: Decimal = _f("0.75", "0.01", "0.99")
    base_borrow_rate: Decimal = _f("0.5", "0", "10", "kink model, per year at 100% usage")
    above_optimal_rate: Decimal = _f("1.3", "0", "50", "kink model, per year")
    seconds_per_year: Decimal = _f("31536000", "1", None)
    skip_borrow_smaller_side: bool = True
    impact_factor_positive: Decimal = _f("0.00000005", "0", "1")
    impact_factor_negative: Decimal = _f("0.0000001", "0", "1")
    impact_exponent_positive: Decimal = _f("1", "1", "3")
    impact_exponent_negative: Decimal = _f("2", "1", "3")
    max_impact_positive: Decimal = _f("0.004", "0", "0.5", "share of the trade's value")
    max_impact_negative: Decimal = _f("0.005", "0", "0.5", "share of the trade's value")
    reserve_factor: Decimal = _f("0.95", "0.01", "1", "open interest of a side <= this x pool value")
    liquidation_fee_rate: Decimal = _f("0.002", "0", "0.1")
    max_pnl_factor_for_adl: Decimal = _f("0.85", "0.01", "10")
    min_pnl_factor_after_adl: Decimal = _f("0.77", "0", "10")


MovePeriod = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class MoveRules:
    """v2 option (FTX MOVE, MECHANICS 3.8), listed when `contract.move_contracts` is on.

    A MOVE settles to |TWAP_index(last hour of the period) - TWAP_index(first hour)| (E20), the hour
    being `settlement.delivery_window_seconds` sampled every `delivery_sample_seconds`. Daily
    periods run 00:00-24:00 UTC (`{U}-MOVE-MMDD`); weekly ones 7 days from 00:00 UTC on
    `settlement.settlement_weekday` (`{U}-MOVE-WK-MMDD`, the start date). Each period is listed
    one period ahead. Linear in USD: `contract_size` dollars per dollar of move.

    Fair value (the MOVE's index; the mark falls back to it) with spot S, strike K (start TWAP, or
    the running first-hour mean, or S before the period), reference X (S, or in the last hour the
    projected TWAP), tau = seconds left of the period (the whole period before it starts):

        time value = S x annual_vol x sqrt(tau / seconds_per_year) x sqrt(2 / pi)   (E|dS|, normal)
        fair value = sqrt(|X - K|^2 + time value^2)   (intrinsic and time value in quadrature:
                     = time value at the money, -> |X - K| deep in the money, |X - K| at expiry),
                     at least one tick (marks are divided by)
    """

    periods: tuple[MovePeriod, ...] = ("daily",)
    annual_vol: Decimal = field(default=D("0.8"), metadata={"min": D("0.01"), "max": D(10),
                                                             "doc": "volatility behind the fair value"})
    contract_size: Decimal = field(default=D(1), metadata={"min": D("0.0001"), "max": D(1000),
                                                            "doc": "USD per $1 of move"})
    tick_size: Decimal = field(default=D("0.1"), metadata={"min": D("0.0001"), "max": D(100), "doc": ""})
    seconds_per_year: Decimal = field(default=D(365 * 86400), metadata={"min": D(1), "max": None, "doc": ""})


@dataclass(frozen=True, slots=True)
class TierRules:
    """v2 on-book liquidation details and the last resort (MECHANICS 3.5).

    On-book tier: each second a chunk goes out with probability `chunk_probability_per_second`
    (1/6: roughly every 6 s); a tick of t seconds sends at most one, with probability
    1 - (1 - p)^t. A chunk is `chunk_fraction` x uniform(1 - jitter, 1 + jitter) of the position
    (10% x uniform(0.5, 1.5)), at least min(`chunk_min_notional`, the position's notional), an IOC
    limited `through_bps_min`-`through_bps_max` bps through the best opposite price. Draws come from
    `random.Random` seeded by the tick's seed, the time and the account.
    Last resort: the largest opposing positions, `opposing_group` (10) at a time, pro rata to size.
    """

    chunk_probability_per_second: Decimal = field(default=D("0.1666666666666666666666666666666667"),
                                                  metadata={"min": D(0), "max": D(1), "doc": ""})
    chunk_jitter: Decimal = field(default=D("0.5"), metadata={"min": D(0), "max": D("0.99"), "doc": ""})
    chunk_min_notional: Decimal = field(default=D(1000), metadata={"min": D(0), "max": None, "doc": "USD"})
    through_bps_min: Decimal = field(default=D(1), metadata={"min": D(0), "max": D(1000), "doc": ""})
    through_bps_max: Decimal = field(default=D(5), metadata={"min": D(0), "max": D(1000), "doc": ""})
    opposing_group: int = field(default=10, metadata={"min": 1, "max": 1000, "doc": ""})


LITERALS: dict[str, Any] = {"SizeBasis": SizeBasis, "RealizationMode": RealizationMode, "BorrowModel": BorrowModel,
                            "MovePeriod": MovePeriod}
