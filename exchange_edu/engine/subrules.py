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


LITERALS: dict[str, Any] = {"SizeBasis": SizeBasis, "RealizationMode": RealizationMode}
