"""The sandbox's crowd: the engine's seeded bots (`exchange_edu.engine.bots`) bound to a sandbox.

A sandbox with `bot_count > 0` has market makers and traders whose specs are derived, never
stored: `default_crowd(rules, count, seed, index_price)` gives the same crowd for the same
sandbox every time, so a sandbox replays identically. Their accounts are ordinary `PaperAccount`
rows of kind "bot", funded from `sys:external` when the sandbox is created.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from exchange_edu.engine import bots as engine_bots
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.types import EngineState

from . import models

MAX_BOTS = 60
BACKGROUND_UTILIZATION = Decimal("0.5")  # lending presets: the share of the pool the crowd borrows


@functools.lru_cache(maxsize=256)
def _crowd(rules: RuleSet, count: int, seed: int, reference_price: Decimal) -> tuple[engine_bots.BotSpec, ...]:
    return engine_bots.default_crowd(rules, count=count, seed=seed, index_price=reference_price)


def crowd_of(sb: models.Sandbox, rules: RuleSet) -> tuple[engine_bots.BotSpec, ...]:
    """The sandbox's bots (empty when it has none)."""
    if not sb.bot_count or sb.bot_reference_price is None:
        return ()
    return _crowd(rules, int(sb.bot_count), int(sb.seed), Decimal(sb.bot_reference_price))


def deposits(rules: RuleSet, crowd: tuple[engine_bots.BotSpec, ...]) -> dict[str, dict[str, Decimal]]:
    return engine_bots.bot_deposits(rules, crowd)


def orders(state: EngineState, rules: RuleSet, crowd: tuple[engine_bots.BotSpec, ...], *, seed: int, tick_seq: int):
    return engine_bots.orders_for_tick(state, rules, crowd, seed=seed, tick_seq=tick_seq)


def with_settings(sb: models.Sandbox, rules: RuleSet, state: EngineState,
                  crowd: tuple[engine_bots.BotSpec, ...]) -> EngineState:
    """`state` with every bot's leverage and margin mode set in each open market; the changed
    settings are saved on the bots' rows (a tick cannot carry them). Cheap when nothing changed."""
    new = engine_bots.with_bot_settings(state, rules, crowd)
    if new is state:
        return state
    for spec in crowd:
        account = new.account(spec.account_id)
        if account is state.account(spec.account_id):
            continue
        models.PaperAccount.objects.filter(sandbox=sb, account_id=spec.account_id).update(
            leverage={k: str(v) for k, v in account.leverage.items()},
            margin_mode={k: v.value for k, v in account.margin_mode.items()})
    return new
