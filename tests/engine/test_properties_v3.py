"""Hypothesis properties for v3 (Backpack-style lending pool): see machine_unified.py for the list."""

from hypothesis import HealthCheck, settings

from exchange_edu.engine.rules import V3

from .machine_unified import make_unified_machine

V3Machine = make_unified_machine(V3)
TestV3Properties = V3Machine.TestCase
TestV3Properties.settings = settings(max_examples=200, stateful_step_count=25, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
