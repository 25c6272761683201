"""Celery tasks: thin. Beat calls `tick_due_sandboxes` every second."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from . import selectors, services

log = logging.getLogger(__name__)

# Stop starting new ticks after this long, so one beat's work ends before the next beat.
TICK_BUDGET_S = 0.9


@shared_task(name="exchange_edu.sandbox.tasks.tick_due_sandboxes", ignore_result=True)
def tick_due_sandboxes() -> int:
    """Pause idle sandboxes, then advance every due one, each in its own transaction."""
    services.sandbox_pause_idle()
    started = time.monotonic()
    applied = 0
    for sandbox_id, tick_seq in selectors.due_sandboxes():
        if time.monotonic() - started > TICK_BUDGET_S:
            break
        try:
            outcome = services.sandbox_advance(sandbox_id=sandbox_id, expected_tick_seq=tick_seq,
                                               bots=services.default_bots())
        except Exception:  # one broken sandbox must not stop the others
            log.exception("tick of sandbox %s at %s failed", sandbox_id, tick_seq)
            continue
        applied += int(outcome.applied)
    return applied


@shared_task(name="exchange_edu.sandbox.tasks.advance_sandbox", ignore_result=True)
def advance_sandbox(sandbox_id: int, tick_seq: int) -> bool:
    """Apply the tick after `tick_seq` (idempotent: a duplicate delivery does nothing)."""
    return services.sandbox_advance(sandbox_id=sandbox_id, expected_tick_seq=tick_seq,
                                    bots=services.default_bots()).applied
