"""A sandbox with a crowd: bots are funded at creation, trade every few ticks through the beat's
own path (no bots callable passed), replay identically for the same seed, and keep the books."""

from decimal import Decimal

import pytest

from exchange_edu.sandbox import models, selectors, services
from exchange_edu.sandbox.errors import SandboxError
from tests.sandbox.conftest import make_sandbox

pytestmark = pytest.mark.django_db


def run(sb: models.Sandbox, ticks: int) -> list[tuple]:
    for _ in range(ticks):
        assert services.sandbox_advance(sandbox_id=sb.pk, require_running=False).applied
    return list(models.Fill.objects.filter(sandbox=sb).order_by("pk").values_list("tick_seq", "price", "quantity"))


@pytest.mark.parametrize("preset", ["v0", "v1"])
def test_a_crowd_is_funded_configured_and_trades(preset):
    sb = make_sandbox(preset, bots=6, running=False)

    bots = models.PaperAccount.objects.filter(sandbox=sb, kind=models.PaperAccount.Kind.BOT)
    assert bots.count() == 8  # two market makers and six traders
    fills = run(sb, 30)

    assert len(fills) >= 5
    assert models.Order.objects.filter(sandbox=sb, status="open").exists()  # makers keep quoting
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


def test_the_same_seed_replays_the_same_trades():
    first = run(make_sandbox("v1", bots=4, seed=11, running=False), 15)
    second = run(make_sandbox("v1", bots=4, seed=11, running=False), 15)
    other = run(make_sandbox("v1", bots=4, seed=12, running=False), 15)

    assert first == second
    assert first != other


@pytest.mark.parametrize("bots", [-1, 61, "5", True])
def test_a_bad_crowd_size_is_refused(bots):
    with pytest.raises(SandboxError) as err:
        make_sandbox("v1", bots=bots)

    assert err.value.field == "bots"
    assert not models.Sandbox.objects.exists()


def test_a_lending_preset_crowd_borrows_half_the_pool_so_idle_balances_earn():
    sb = make_sandbox("v3", bots=2, tick_seconds=900, running=False)

    pool = models.LendingPool.objects.get(sandbox=sb, asset="USDC")
    lent = Decimal(pool.lent_scaled) * Decimal(pool.lend_index)
    borrowed = Decimal(pool.borrowed_scaled) * Decimal(pool.borrow_index)
    assert borrowed / lent == pytest.approx(Decimal("0.5"), rel=Decimal("1e-6"))
    run(sb, 5)  # past the first hourly accrual
    pool.refresh_from_db()
    assert Decimal(pool.lend_rate) > 0
