"""Hypothesis properties for v2 (FTX-style unified account): see machine_unified.py for the list."""

from hypothesis import HealthCheck, settings

from exchange_edu.engine.rules import V2

from .machine_unified import make_unified_machine

V2Machine = make_unified_machine(V2)
TestV2Properties = V2Machine.TestCase
TestV2Properties.settings = settings(max_examples=200, stateful_step_count=25, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
