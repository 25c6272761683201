"""Ticks: advance on schedule, exactly once, funding on its calendar, the beat task, health."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exchange_edu.sandbox import models, selectors, services, tasks
from tests.sandbox.conftest import make_account, make_sandbox, market_id, quote


@pytest.mark.integration
@pytest.mark.django_db
def test_ticks_advance_the_clock_and_record_prices_and_lag():
    sb = make_sandbox("v1", tick_seconds=60)
    for n in range(1, 6):
        out = services.sandbox_advance(sandbox_id=sb.pk)
        assert (out.applied, out.tick_seq, out.sim_time) == (True, n, 60 * n)
    sb.refresh_from_db()
    assert sb.tick_seq == 5
    assert models.PriceTick.objects.filter(sandbox=sb).count() == 5
    assert list(models.TickRecord.objects.filter(sandbox=sb).values_list("tick_seq", flat=True)) == [1, 2, 3, 4, 5]
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


@pytest.mark.django_db
def test_the_same_tick_delivered_twice_is_applied_once():
    sb = make_sandbox("v1")
    first = services.sandbox_advance(sandbox_id=sb.pk, expected_tick_seq=0)
    again = services.sandbox_advance(sandbox_id=sb.pk, expected_tick_seq=0)
    assert first.applied
    assert not again.applied
    assert again.reason == "already applied"
    early = services.sandbox_advance(sandbox_id=sb.pk, expected_tick_seq=5)
    assert (early.applied, early.reason) == (False, "not yet due")
    sb.refresh_from_db()
    assert sb.tick_seq == 1
    assert models.TickRecord.objects.filter(sandbox=sb).count() == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_funding_is_paid_on_schedule(django_user_model):
    """v1 pays at 04:00, 12:00 and 20:00 UTC; with 1 h ticks from midnight: ticks 4, 12, 20."""
    sb = make_sandbox("v1", tick_seconds=3600)
    maker = make_account(sb, django_user_model.objects.create_user(username="mm", password="pw-123456-x"))
    longs = make_account(sb, django_user_model.objects.create_user(username="ll", password="pw-123456-x"))
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="500")
    services.deposit(sandbox_id=sb.pk, account_pk=longs.pk, asset="BTC", amount="20")
    quote(sb, maker, qty="300000", spread="0.002", leverage="1")
    services.order_place(sandbox_id=sb.pk, account_pk=longs.pk, market=market_id(sb), side="buy",
                         order_type="market", quantity="100000", leverage="2")
    paid_at = []
    for _ in range(21):
        out = services.sandbox_advance(sandbox_id=sb.pk)
        if models.FundingPayment.objects.filter(sandbox=sb, tick_seq=out.tick_seq, account=None).exists():
            paid_at.append(out.tick_seq)
    assert paid_at == [4, 12, 20]
    fp = models.FundingPayment.objects.filter(sandbox=sb, account=None).order_by("tick_seq").first()
    assert fp.rate is not None
    assert fp.contracts == 100000  # open interest at the funding time
    out = services.position_close(sandbox_id=sb.pk, account_pk=longs.pk, market=market_id(sb))  # settles lazily
    assert out.filled_quantity == 100000
    paid = models.FundingPayment.objects.get(sandbox=sb, account=longs)
    # the long owes size x (sum of the three index increments); it receives the negative of that
    increments = sum(models.FundingPayment.objects.filter(sandbox=sb, account=None).values_list(
        "index_increment", flat=True), Decimal(0))
    expected_units = -(100000 * increments) * 10**8
    assert abs(paid.amount_units - expected_units) <= 1
    flows = selectors.trader_flows(sandbox_id=sb.pk, kind="funding")
    side = flows.received if paid.amount_units > 0 else flows.paid
    assert side["BTC"] == abs(paid.amount_units) / Decimal(10**8)
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


@pytest.mark.django_db
def test_beat_task_advances_due_sandboxes_and_pauses_idle_ones():
    due = make_sandbox("v1")
    later = make_sandbox("v1")
    idle = make_sandbox("v1")
    past = timezone.now() - timedelta(seconds=3)
    models.Sandbox.objects.filter(pk=due.pk).update(next_tick_at=past)
    models.Sandbox.objects.filter(pk=later.pk).update(next_tick_at=timezone.now() + timedelta(hours=1))
    models.Sandbox.objects.filter(pk=idle.pk).update(next_tick_at=past,
                                                     last_viewed_at=timezone.now() - timedelta(minutes=20))
    assert tasks.tick_due_sandboxes() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    idle.refresh_from_db()
    assert (due.tick_seq, later.tick_seq, idle.tick_seq) == (1, 0, 0)
    assert idle.status == "paused"
    assert due.last_tick_lag_s >= 3  # how far behind schedule it ran
    assert due.next_tick_at > timezone.now() - timedelta(seconds=1)
    assert tasks.advance_sandbox(due.pk, 1) is True
    assert tasks.advance_sandbox(due.pk, 1) is False  # a duplicate delivery


@pytest.mark.django_db
def test_tick_lag_summary_and_health_field(client):
    assert selectors.tick_lag_summary().running_sandboxes == 0
    sb = make_sandbox("v1")
    models.Sandbox.objects.filter(pk=sb.pk).update(next_tick_at=timezone.now() - timedelta(seconds=30))
    summary = selectors.tick_lag_summary()
    assert summary.running_sandboxes == 1
    assert summary.max_lag_s >= 30
    body = client.get("/api/v1/health").json()
    assert body["ticks"]["running_sandboxes"] == 1
    assert body["ticks"]["max_lag_s"] >= 30


@pytest.mark.django_db
def test_bots_callable_supplies_orders_into_the_tick(django_user_model):
    from decimal import Decimal

    from exchange_edu.engine.book import Order

    sb = make_sandbox("v1")
    maker = make_account(sb, django_user_model.objects.create_user(username="mm", password="pw-123456-x"))
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="10")
    quote(sb, maker, qty="100", spread="0.01")
    calls = []

    def bots(state, rules, seed, tick_seq):
        calls.append(tick_seq)
        return [Order(0, "bot:taker", "BTCUSD", "buy", "market", Decimal(10), None)], []

    # the bot has no money: its order is rejected by the engine, and that is recorded
    out = services.sandbox_advance(sandbox_id=sb.pk, bots=bots)
    assert out.applied
    assert calls == [1]
    assert models.EventLog.objects.filter(sandbox=sb, account_id="bot:taker").exists()
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok
