"""Ticks through a real Celery worker and the real broker (SQLite transport in the first pass of
`make test`, Redis in the integration pass): the beat's task advances a running sandbox, and a
replay of the March 2020 crash liquidates the crowd's high-leverage traders on the way."""

import time

import pytest

from exchange_edu.sandbox import models, selectors, services, tasks
from tests.sandbox.conftest import make_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def worker(transactional_db):
    from celery.contrib.testing.worker import start_worker

    from exchange_edu.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as w:
        yield w


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_beat_task_advances_running_sandboxes_through_the_worker(worker):
    sb = make_sandbox("v1", tick_interval_s=0.2, bots=2)

    for _ in range(3):
        tasks.tick_due_sandboxes.delay()
        time.sleep(0.3)

    wait_for(lambda: models.Sandbox.objects.get(pk=sb.pk).tick_seq >= 1, 30, "a tick")
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


def test_a_crash_replay_through_the_worker_liquidates_accounts(worker):
    # history:btc-2020-03 starts 2020-03-05 00:00; the crash is on the 12th (about tick 160 of 1 h)
    sb = make_sandbox("v1", price_source="history:btc-2020-03", tick_seconds=3600, bots=12, running=False,
                      seed=5)
    services.sandbox_resume(sandbox_id=sb.pk)
    ticks = 200

    for seq in range(ticks):
        tasks.advance_sandbox.delay(sb.pk, seq)
    tasks.advance_sandbox.delay(sb.pk, 0)  # a duplicate delivery: must change nothing

    wait_for(lambda: models.Sandbox.objects.get(pk=sb.pk).tick_seq >= ticks, 200, f"{ticks} ticks")
    time.sleep(0.5)
    sb.refresh_from_db()
    assert sb.tick_seq == ticks
    records = list(models.TickRecord.objects.filter(sandbox=sb).values_list("tick_seq", flat=True))
    assert records == list(range(1, ticks + 1))
    liquidations = models.EventLog.objects.filter(sandbox=sb, kind="liquidation").count()
    assert liquidations > 0
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok
