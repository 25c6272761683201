"""Hypothesis properties for the DeFi book preset (dYdX / Hyperliquid-like): the unified machine
(ledger zero per asset, funding zero-sum, symmetric open interest, fund never negative) with
USDC-only collateral, plus: liquidation fees never exceed the 1.5% cap."""

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import deposit
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.rules import DEFI_BOOK
from exchange_edu.engine.unified import account_risk

from .machine_unified import TRADERS, make_unified_machine

Base = make_unified_machine(DEFI_BOOK)


class DefiBookMachine(Base):  # type: ignore[misc, valid-type]
    @rule(trader=st.sampled_from(TRADERS), amount=st.integers(1, 2000))
    def add_collateral_raises_mf(self, trader, amount):  # USDC is the only collateral
        with engine_context():
            before = account_risk(self.state, DEFI_BOOK, trader)
            self.state = deposit(self.state, trader, "USDC", Decimal(amount))
            after = account_risk(self.state, DEFI_BOOK, trader)
        if before.notional:
            assert after.margin_fraction > before.margin_fraction

    def _absorb(self, result):
        for ev in result.delta.events:
            if ev.kind is EventKind.LIQUIDATION_FEE:
                cap = ev.inputs["cap"] * ev.inputs["quantity"] * ev.numbers["fill_price"]
                assert 0 <= ev.numbers["fee"] <= cap
        super()._absorb(result)


TestDefiBookProperties = DefiBookMachine.TestCase
TestDefiBookProperties.settings = settings(max_examples=200, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
