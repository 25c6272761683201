"""Hypothesis properties for v1 (BitMEX-style inverse perpetual): see machine.py for the list."""

from hypothesis import HealthCheck, settings

from exchange_edu.engine.rules import V1

from .machine import make_machine

V1Machine = make_machine(V1.with_overrides({"insurance_seed": "0.05"}), (1, 5, 25, 100))
TestV1Properties = V1Machine.TestCase
TestV1Properties.settings = settings(max_examples=200, stateful_step_count=40, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
