"""Hypothesis properties for v0 (OKCoin-style dated inverse futures): see machine.py for the list."""

from hypothesis import HealthCheck, settings

from exchange_edu.engine.rules import V0

from .machine import make_machine

V0Machine = make_machine(V0.with_overrides({"insurance_seed": "0.5"}), (10, 20))
TestV0Properties = V0Machine.TestCase
TestV0Properties.settings = settings(max_examples=200, stateful_step_count=40, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
