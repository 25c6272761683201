"""Hypothesis properties for v2 with MOVE contracts listed (see machine_unified.py for the list):
random orders hit the daily MOVEs too, and ticks of up to an hour cross their first hour, last
hour and expiry."""

from hypothesis import HealthCheck, settings

from exchange_edu.engine.rules import V2_MOVE

from .machine_unified import make_unified_machine

V2MoveMachine = make_unified_machine(V2_MOVE)
TestV2MoveProperties = V2MoveMachine.TestCase
TestV2MoveProperties.settings = settings(max_examples=100, stateful_step_count=30, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
