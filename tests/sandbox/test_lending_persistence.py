"""Everything a preset keeps in its engine state lives in rows (v3 lending pools and interest
snapshots, the DeFi pool's per-side funding index and shares), so a worker that loads the sandbox
from the database continues exactly where the last one stopped."""

import pytest

from exchange_edu.sandbox import mappers, models, selectors, services
from tests.sandbox.conftest import make_sandbox

pytestmark = pytest.mark.django_db


def advance(sb, ticks):
    for _ in range(ticks):
        assert services.sandbox_advance(sandbox_id=sb.pk, require_running=False).applied
    sb.refresh_from_db()


def test_pools_and_interest_snapshots_round_trip_through_the_database():
    sb = make_sandbox("v3", bots=4, tick_seconds=900, running=False)
    assert models.LendingPool.objects.filter(sandbox=sb).exists()

    advance(sb, 12)  # three hours: pools accrue hourly

    rules = mappers.sandbox_rules(sb)
    cached = mappers.load_state(sb, rules)  # the state the last tick left in this process
    fresh = mappers.state_from_db(sb, rules)
    assert fresh.pools == cached.pools
    assert any(p.lent_scaled for p in fresh.pools.values())
    for account_id, account in cached.accounts.items():
        loaded = fresh.accounts[account_id]
        assert loaded.interest_index == account.interest_index, account_id
        assert loaded.auto_lend == account.auto_lend, account_id


@pytest.mark.parametrize(("preset", "overrides", "tick_seconds", "ticks"), [
    ("v1", None, 900, 10), ("v2", None, 900, 10), ("v3", None, 900, 10), ("defi_book", None, 900, 10),
    ("defi_pool", None, 900, 10),
    # a day and a half: tomorrow's MOVE strikes in its first hour and today's settles at midnight
    ("v2", {"contract.move_contracts": True}, 1800, 75),
], ids=["v1", "v2", "v3", "defi_book", "defi_pool", "v2 with MOVE contracts"])
def test_a_cold_worker_continues_the_same_history_as_a_warm_one(preset, overrides, tick_seconds, ticks):
    warm = make_sandbox(preset, bots=4, tick_seconds=tick_seconds, running=False, seed=21, overrides=overrides)
    cold = make_sandbox(preset, bots=4, tick_seconds=tick_seconds, running=False, seed=21, overrides=overrides)

    for _ in range(ticks):
        advance(warm, 1)
        mappers.forget_state(cold.pk)  # as if each tick ran in a new worker process
        advance(cold, 1)

    def history(sb):
        return list(models.JournalLine.objects.filter(sandbox=sb).order_by("pk").values_list(
            "entry__kind", "asset", "amount_units"))

    assert history(warm) == history(cold)
    assert selectors.ledger_audit(sandbox_id=cold.pk).ok
