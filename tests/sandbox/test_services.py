"""Services: what each one does, and a domain error with no state change for bad input."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from exchange_edu.sandbox import models, selectors, services
from exchange_edu.sandbox.errors import SandboxError
from tests.sandbox.conftest import make_account, make_sandbox, market_id, quote

pytestmark = pytest.mark.django_db


def snapshot(sb):
    """Everything a failed service must leave untouched."""
    sb = models.Sandbox.objects.get(pk=sb.pk)
    return (sb.version, sb.tick_seq, sb.next_entry_no, sb.next_event_no, sb.next_order_id,
            list(models.Balance.objects.filter(account__sandbox=sb).order_by("pk")
                 .values_list("amount_units", flat=True)),
            models.JournalLine.objects.filter(sandbox=sb).count(), models.Order.objects.filter(sandbox=sb).count(),
            list(models.Position.objects.filter(sandbox=sb).values_list("size", flat=True)),
            models.EventLog.objects.filter(sandbox=sb).count())


# -- create / accounts --------------------------------------------------------------------------


def test_sandbox_create_lists_markets_and_seeds_the_insurance_fund():
    sb = make_sandbox("v1")
    assert list(models.Market.objects.filter(sandbox=sb).values_list("market_id", flat=True)) == ["BTCUSD"]
    assert selectors.insurance_fund(sandbox_id=sb.pk) == {"BTC": Decimal("10.00000000")}
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


def test_v0_lists_dated_contracts():
    sb = make_sandbox("v0")
    kinds = set(models.Market.objects.filter(sandbox=sb).values_list("expiry_kind", flat=True))
    assert kinds == {"weekly", "biweekly", "quarterly"}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"preset": "v9"}, "preset"),
    ({"preset": "v1", "overrides": {"fees.taker_rate": "0.5"}}, "overrides"),
    ({"preset": "v1", "overrides": {"no.such": "1"}}, "overrides"),
    ({"preset": "v1", "price_source": "history:nope"}, "price_source"),
    ({"preset": "v1", "tick_seconds": 0}, "tick_seconds"),
    ({"preset": "v1", "seed": -1}, "seed"),
])
def test_sandbox_create_rejects_bad_input(kwargs, field):
    with pytest.raises(SandboxError) as exc:
        services.sandbox_create(**kwargs)
    assert exc.value.field == field
    assert not models.Sandbox.objects.exists()


def test_account_open_gives_the_faucet_once(sandbox, learner):
    acct = make_account(sandbox, learner)
    assert selectors.account_balances(account_pk=acct.pk) == {"BTC": Decimal("1.00000000")}
    assert make_account(sandbox, learner).pk == acct.pk  # same user, same account
    assert selectors.account_balances(account_pk=acct.pk) == {"BTC": Decimal("1.00000000")}


def test_deposit_and_withdraw_move_money_through_the_journal(sandbox, trader):
    services.deposit(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="BTC", amount="0.5")
    services.withdraw(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="BTC", amount="0.25")
    assert selectors.account_balances(account_pk=trader.pk) == {"BTC": Decimal("1.25000000")}
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok


@pytest.mark.parametrize(("amount", "field"), [
    ("0", "amount"), ("-1", "amount"), ("NaN", "amount"), ("Infinity", "amount"), ("abc", "amount"),
    (0.5, "amount"), ("0.000000001", "amount"),
])
def test_deposit_rejects_bad_amounts(sandbox, trader, amount, field):
    before = snapshot(sandbox)
    with pytest.raises(SandboxError) as exc:
        services.deposit(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="BTC", amount=amount)
    assert exc.value.field == field
    assert snapshot(sandbox) == before


def test_deposit_rejects_unknown_asset_and_foreign_account(sandbox, trader):
    other = make_sandbox("v1")
    before = snapshot(sandbox)
    with pytest.raises(SandboxError, match="asset"):
        services.deposit(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="DOGE", amount="1")
    with pytest.raises(SandboxError) as exc:
        services.deposit(sandbox_id=other.pk, account_pk=trader.pk, asset="BTC", amount="1")
    assert exc.value.status == 404
    with pytest.raises(SandboxError) as exc:
        services.deposit(sandbox_id=999999, account_pk=trader.pk, asset="BTC", amount="1")
    assert exc.value.status == 404
    assert snapshot(sandbox) == before


def test_cannot_withdraw_what_margin_needs(sandbox, trader, maker):
    quote(sandbox, maker, qty="5000", spread="0.001")
    services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=market_id(sandbox), side="buy",
                         order_type="market", quantity="3000", leverage="2")
    before = snapshot(sandbox)
    with pytest.raises(SandboxError, match="backs margin") as exc:
        services.withdraw(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="BTC", amount="1")
    assert exc.value.field == "amount"
    assert snapshot(sandbox) == before
    free = Decimal(str(exc.value.message.split()[1]))
    assert 0 < free < 1
    services.withdraw(sandbox_id=sandbox.pk, account_pk=trader.pk, asset="BTC", amount=free)
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok


def test_account_reset_closes_everything_and_opens_a_fresh_account(sandbox, trader, maker):
    m = market_id(sandbox)
    quote(sandbox, maker, qty="5000", spread="0.001")
    services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy", order_type="market",
                         quantity="1000", leverage="5")
    services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy", quantity="10",
                         price="5000")
    fresh = services.account_reset(sandbox_id=sandbox.pk, account_pk=trader.pk)
    assert fresh.pk != trader.pk
    assert selectors.account_balances(account_pk=fresh.pk) == {"BTC": Decimal("1.00000000")}
    old = models.PaperAccount.objects.get(pk=trader.pk)
    assert not old.active
    assert not models.Position.objects.filter(account=old).exists()
    assert not models.Order.objects.filter(account=old, status="open").exists()
    assert selectors.account_balances(account_pk=old.pk)["BTC"] == 0
    assert services.sandbox_advance(sandbox_id=sandbox.pk).applied  # the engine works off the inventory
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok
    with pytest.raises(SandboxError, match="reset"):
        services.deposit(sandbox_id=sandbox.pk, account_pk=old.pk, asset="BTC", amount="1")


# -- orders ---------------------------------------------------------------------------------------


def test_order_place_matches_immediately_and_records_everything(sandbox, trader, maker):
    quote(sandbox, maker, qty="1000", spread="0.01")
    m = market_id(sandbox)
    ask = models.Order.objects.get(sandbox=sandbox, side="sell", status="open").price
    out = services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy",
                               order_type="market", quantity="400", leverage="10")
    assert out.status == "filled"
    assert out.filled_quantity == 400
    assert out.average_price == ask
    pos = models.Position.objects.get(account=trader)
    assert pos.size == 400
    assert pos.entry_price == ask
    assert models.Order.objects.get(sandbox=sandbox, side="sell", status="open").remaining == 600
    fill = models.Fill.objects.get(sandbox=sandbox)
    assert (fill.quantity, fill.taker_account_id, fill.maker_order_id) == (400, trader.account_id,
                                                                          models.Order.objects.get(
                                                                              sandbox=sandbox, side="sell").order_id)
    kinds = set(models.JournalEntry.objects.filter(sandbox=sandbox).values_list("kind", flat=True))
    assert {"fee", "faucet", "deposit"} <= kinds
    assert models.EventLog.objects.filter(sandbox=sandbox, kind="fill").exists()
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok


def test_resting_order_and_cancel(sandbox, trader):
    m = market_id(sandbox)
    out = services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy", quantity="10",
                               price="9000")
    assert out.status == "open"
    services.order_cancel(sandbox_id=sandbox.pk, account_pk=trader.pk, order_id=out.order_id)
    assert models.Order.objects.get(order_id=out.order_id, sandbox=sandbox).status == "cancelled"
    with pytest.raises(SandboxError) as exc:
        services.order_cancel(sandbox_id=sandbox.pk, account_pk=trader.pk, order_id=out.order_id)
    assert exc.value.status == 409
    with pytest.raises(SandboxError) as exc:
        services.order_cancel(sandbox_id=sandbox.pk, account_pk=trader.pk, order_id=424242)
    assert exc.value.status == 404


def test_position_close(sandbox, trader, maker):
    quote(sandbox, maker, qty="1000", spread="0.001")
    m = market_id(sandbox)
    services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="sell", order_type="market",
                         quantity="300", leverage="5")
    out = services.position_close(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m)
    assert out.filled_quantity == 300
    assert not models.Position.objects.filter(account=trader).exists()
    with pytest.raises(SandboxError, match="no open position"):
        services.position_close(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m)
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok


BAD_ORDERS = [
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-5"}, "quantity"),
    ({"quantity": "NaN"}, "quantity"),
    ({"quantity": "sNaN"}, "quantity"),
    ({"quantity": "Infinity"}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"quantity": "1e40"}, "quantity"),
    ({"price": "-1"}, "price"),
    ({"price": "NaN"}, "price"),
    ({"price": "10000.3"}, "price"),  # off the 0.5 tick grid
    ({"price": None}, "price"),
    ({"side": "long"}, "side"),
    ({"order_type": "iceberg"}, "order_type"),
    ({"time_in_force": "fok"}, "time_in_force"),
    ({"leverage": "1000"}, "leverage"),
    ({"leverage": "0"}, "leverage"),
    ({"leverage": "NaN"}, "leverage"),
    ({"margin_mode": "portfolio"}, "margin_mode"),
    ({"market": "ETHUSD"}, "market"),
    ({"market": ""}, "market"),
    ({"quantity": "100000000"}, "order"),  # far beyond the margin of 1 BTC
    ({"order_type": "stop_market", "price": None}, "trigger_price"),
    ({"reduce_only": True, "order_type": "market", "price": None}, "order"),  # nothing to reduce
]


@pytest.mark.parametrize(("change", "field"), BAD_ORDERS)
def test_order_place_rejects_bad_input_without_changing_anything(sandbox, trader, change, field):
    args = {"sandbox_id": sandbox.pk, "account_pk": trader.pk, "market": market_id(sandbox), "side": "buy",
            "quantity": "10", "price": "10000", "order_type": "limit"}
    args.update(change)
    before = snapshot(sandbox)
    with pytest.raises(SandboxError) as exc:
        services.order_place(**args)
    assert exc.value.field == field, exc.value
    assert exc.value.message
    assert snapshot(sandbox) == before


def test_orders_on_a_paused_sandbox_are_refused(sandbox, trader):
    services.sandbox_pause(sandbox_id=sandbox.pk)
    before = snapshot(sandbox)
    with pytest.raises(SandboxError, match="paused") as exc:
        services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=market_id(sandbox), side="buy",
                             quantity="1", price="10000")
    assert exc.value.status == 409
    assert snapshot(sandbox) == before


def test_leverage_cannot_change_under_an_open_position(sandbox, trader, maker):
    quote(sandbox, maker, qty="1000", spread="0.001")
    m = market_id(sandbox)
    services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy", order_type="market",
                         quantity="100", leverage="5")
    with pytest.raises(SandboxError, match="close the position"):
        services.order_place(sandbox_id=sandbox.pk, account_pk=trader.pk, market=m, side="buy",
                             order_type="market", quantity="100", leverage="20")


# -- clock ----------------------------------------------------------------------------------------


def test_pause_resume_speed_and_idle(sandbox):
    services.sandbox_set_speed(sandbox_id=sandbox.pk, tick_seconds=300)
    assert services.sandbox_advance(sandbox_id=sandbox.pk).sim_time == 300
    services.sandbox_pause(sandbox_id=sandbox.pk)
    assert services.sandbox_advance(sandbox_id=sandbox.pk).reason == "paused"
    services.sandbox_touch(sandbox_id=sandbox.pk)  # a manual pause is not undone by viewing
    assert models.Sandbox.objects.get(pk=sandbox.pk).status == "paused"
    services.sandbox_resume(sandbox_id=sandbox.pk)
    assert services.sandbox_advance(sandbox_id=sandbox.pk).applied
    with pytest.raises(SandboxError):
        services.sandbox_set_speed(sandbox_id=sandbox.pk, tick_seconds=0)


def test_idle_sandboxes_pause_and_viewing_resumes_them(sandbox):
    from datetime import timedelta

    from django.utils import timezone

    models.Sandbox.objects.filter(pk=sandbox.pk).update(last_viewed_at=timezone.now() - timedelta(minutes=16))
    assert services.sandbox_pause_idle() == 1
    sb = models.Sandbox.objects.get(pk=sandbox.pk)
    assert (sb.status, sb.pause_reason) == ("paused", "idle")
    services.sandbox_touch(sandbox_id=sandbox.pk)
    assert models.Sandbox.objects.get(pk=sandbox.pk).status == "running"


# -- shocks ---------------------------------------------------------------------------------------


def test_gap_moves_the_index_and_stays(sandbox):
    services.shock_apply(sandbox_id=sandbox.pk, kind="gap", magnitude="-0.2", ticks=2)
    outs = [services.sandbox_advance(sandbox_id=sandbox.pk) for _ in range(4)]
    idx = [Decimal(o.index_prices["index"]) for o in outs]
    assert idx[1] < Decimal("8500")  # about 10,000 x 0.8
    assert idx[3] < Decimal("8500")


def test_wick_returns(sandbox):
    services.shock_apply(sandbox_id=sandbox.pk, kind="wick", magnitude="0.3", ticks=1)
    outs = [services.sandbox_advance(sandbox_id=sandbox.pk) for _ in range(3)]
    idx = [Decimal(o.index_prices["index"]) for o in outs]
    assert idx[0] > Decimal("12000")
    assert idx[2] < Decimal("11000")


def test_insurance_drain_and_unavailable_shocks(sandbox):
    services.shock_apply(sandbox_id=sandbox.pk, kind="insurance_drain", magnitude="0.5")
    assert selectors.insurance_fund(sandbox_id=sandbox.pk) == {"BTC": Decimal("5.00000000")}
    assert selectors.ledger_audit(sandbox_id=sandbox.pk).ok
    with pytest.raises(SandboxError, match="no lending pool"):
        services.shock_apply(sandbox_id=sandbox.pk, kind="utilization_spike", magnitude="0.5")
    with pytest.raises(SandboxError):
        services.shock_apply(sandbox_id=sandbox.pk, kind="gap", magnitude="-2")
    with pytest.raises(SandboxError):
        services.shock_apply(sandbox_id=sandbox.pk, kind="earthquake", magnitude="1")


def test_a_funding_spike_sets_the_next_rate_within_the_cap_and_is_paid_at_the_funding_time(django_user_model):
    """v1 funding at 04:00 UTC: with 1 h ticks from midnight the spike is paid at tick 4."""
    sb = make_sandbox("v1", tick_seconds=3600)
    maker = make_account(sb, django_user_model.objects.create_user(username="mm", password="pw-123456-x"))
    longs = make_account(sb, django_user_model.objects.create_user(username="ll", password="pw-123456-x"))
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="500")
    quote(sb, maker, qty="300000", spread="0.002", leverage="1")
    services.order_place(sandbox_id=sb.pk, account_pk=longs.pk, market=market_id(sb), side="buy",
                         order_type="market", quantity="10000", leverage="2")

    services.shock_apply(sandbox_id=sb.pk, kind="funding_spike", magnitude="0.05")

    m = models.Market.objects.get(sandbox=sb, market_id=market_id(sb))
    assert m.funding_rate_next == Decimal("0.00375")  # asked 5%: bounded by the v1 cap 75% x (1% - 0.5%)
    for _ in range(4):
        services.sandbox_advance(sandbox_id=sb.pk)
    paid = models.FundingPayment.objects.get(sandbox=sb, account=None, tick_seq=4)
    assert Decimal(paid.rate) == Decimal("0.00375")
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


def test_a_funding_spike_needs_a_perpetual():
    sb = make_sandbox("v0")

    with pytest.raises(SandboxError, match="no perpetual market"):
        services.shock_apply(sandbox_id=sb.pk, kind="funding_spike", magnitude="0.01")
    with pytest.raises(SandboxError):
        services.shock_apply(sandbox_id=sb.pk, kind="funding_spike", magnitude="0.5")


@pytest.mark.integration
def test_a_utilization_spike_makes_idle_usdc_earn_on_schedule_in_v3():
    """The background borrower lifts U to 90%; the hourly accruals pay lenders, and a learner's
    idle USDC (auto-lent) grows when its interest settles."""
    sb = make_sandbox("v3", bots=2, tick_seconds=900, running=False)
    learner = make_account(sb)

    services.shock_apply(sandbox_id=sb.pk, kind="utilization_spike", magnitude="0.9")

    pool = models.LendingPool.objects.get(sandbox=sb, asset="USDC")
    assert Decimal(pool.borrowed_scaled) * Decimal(pool.borrow_index) == pytest.approx(
        Decimal("0.9") * Decimal(pool.lent_scaled) * Decimal(pool.lend_index), rel=Decimal("1e-6"))
    for _ in range(12):  # three hours of 15-minute ticks
        services.sandbox_advance(sandbox_id=sb.pk, require_running=False)
    pool.refresh_from_db()
    assert Decimal(pool.lend_rate) > 0  # 6% + 150% x (0.9 - 0.8) / 0.2 = 81% borrow; lend = 81% x 0.9 x 0.9
    assert Decimal(pool.lend_index) > 1
    before = selectors.account_balances(account_pk=learner.pk)["USDC"]
    services.withdraw(sandbox_id=sb.pk, account_pk=learner.pk, asset="USDC", amount="1")  # touching settles it
    after = selectors.account_balances(account_pk=learner.pk)["USDC"]
    assert after > before - 1  # earned interest on 10,000 USDC for about three hours
    assert models.InterestAccrual.objects.filter(sandbox=sb, account=learner, amount_units__gt=0).exists()
    assert selectors.ledger_audit(sandbox_id=sb.pk).ok


# -- ledger ---------------------------------------------------------------------------------------


def test_audit_ledger_command_passes_then_catches_tampering(sandbox, trader, capsys):
    call_command("audit_ledger")
    assert "ok" in capsys.readouterr().out
    models.Balance.objects.filter(account=trader).update(amount_units=123)  # a cached balance lies
    with pytest.raises(SystemExit) as exc:
        call_command("audit_ledger")
    assert exc.value.code == 1
    assert "cached balance 123 units" in capsys.readouterr().out


def test_audit_catches_an_unbalanced_line(sandbox, trader):
    line = models.JournalLine.objects.filter(account=trader).first()
    models.JournalLine.objects.filter(pk=line.pk).update(amount_units=line.amount_units + 1)
    report = selectors.ledger_audit(sandbox_id=sandbox.pk)
    assert not report.ok
    assert any("does not balance" in p.what for p in report.problems)


def test_ledger_post_refuses_an_unbalanced_entry(sandbox):
    from types import SimpleNamespace

    bad = SimpleNamespace(kind="bogus", market=None, memo="", lines=(
        SimpleNamespace(account_id="sys:fees", asset="BTC", amount=Decimal("0.00000001")),))
    with pytest.raises(services.LedgerIntegrityError):
        services.ledger_post(sandbox=sandbox, entries=[bad], tick_seq=0, sim_time=0)
