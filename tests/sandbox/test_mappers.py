"""Rows <-> engine: a persisted sandbox reloads to exactly the state the engine produced."""

from decimal import Decimal

import pytest

from exchange_edu.engine.delta import apply_result
from exchange_edu.sandbox import mappers, models, ops, services
from tests.sandbox.conftest import make_account, make_sandbox, market_id, quote


def _comparable(state):
    return (state.now, state.tick_seq, state.markets, state.market_states,
            {k: a for k, a in state.accounts.items()}, state.positions,
            {m: b.snapshot() for m, b in state.books.items()}, {m: t.snapshot() for m, t in state.triggers.items()},
            {m: (i.longs, i.shorts, i.always) for m, i in state.liquidation_index.items()},
            state.next_order_id, state.next_order_seq)


def _normalise_accounts(state):
    # the DB keeps zero balances and empty settings; the engine may omit them
    out = {}
    for aid, a in state.accounts.items():
        out[aid] = ({k: v for k, v in a.balances.items() if v}, dict(a.leverage),
                    {k: v.value for k, v in a.margin_mode.items()}, {k: v for k, v in a.period_pnl.items() if v})
    return out


@pytest.mark.django_db
def test_state_round_trips_through_the_database_over_ticks_and_orders(django_user_model):
    sb = make_sandbox("v1", seed=3)
    users = [django_user_model.objects.create_user(username=f"t{i}", password="pw-123456-x") for i in range(3)]
    maker, a, b = (make_account(sb, u) for u in users)
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="50")
    quote(sb, maker, qty="2000", spread="0.002")
    m = market_id(sb)
    services.order_place(sandbox_id=sb.pk, account_pk=a.pk, market=m, side="buy", order_type="market",
                         quantity="500", leverage="5")
    services.order_place(sandbox_id=sb.pk, account_pk=b.pk, market=m, side="sell", order_type="market",
                         quantity="300", leverage="3", margin_mode="cross")
    services.order_place(sandbox_id=sb.pk, account_pk=b.pk, market=m, side="buy", order_type="stop_market",
                         quantity="100", trigger_price="20000")

    for _ in range(30):
        assert services.sandbox_advance(sandbox_id=sb.pk).applied
    sb.refresh_from_db()
    rules = mappers.sandbox_rules(sb)
    loaded = mappers.state_from_db(sb, rules)
    assert loaded.tick_seq == 30
    assert loaded.now == 30 * sb.tick_seconds
    assert models.Position.objects.filter(sandbox=sb).count() == len(loaded.positions)


@pytest.mark.django_db
def test_persisted_state_equals_the_engine_state_after_each_tick(django_user_model):
    """The folded engine state (apply_result) and a fresh load from the rows agree exactly."""
    sb = make_sandbox("v1", seed=11)
    users = [django_user_model.objects.create_user(username=f"u{i}", password="pw-123456-x") for i in range(2)]
    maker, a = (make_account(sb, u) for u in users)
    services.deposit(sandbox_id=sb.pk, account_pk=maker.pk, asset="BTC", amount="50")
    quote(sb, maker, qty="5000", spread="0.001")
    services.order_place(sandbox_id=sb.pk, account_pk=a.pk, market=market_id(sb), side="buy",
                         order_type="market", quantity="2000", leverage="10")
    sb.refresh_from_db()
    rules = mappers.sandbox_rules(sb)
    state = mappers.state_from_db(sb, rules)
    for seq in range(1, 41):
        from exchange_edu.sandbox import prices

        index, _ = prices.index_price(sb.price_source, seed=sb.seed, step_seconds=sb.price_step_seconds,
                                      t=seq * sb.tick_seconds, tick_seq=seq)
        result = ops.tick(state, rules, tick_seq=seq, now=seq * sb.tick_seconds,
                          index_prices={"BTC": index}, seed=(sb.seed * 1_000_003 + seq) % (2**63))
        state = apply_result(state, result)
        assert services.sandbox_advance(sandbox_id=sb.pk).applied
        sb.refresh_from_db()
        loaded = mappers.state_from_db(sb, rules)
        assert _comparable(loaded)[:2] == _comparable(state)[:2]
        assert loaded.market_states == state.market_states
        assert loaded.positions == state.positions
        assert _normalise_accounts(loaded) == _normalise_accounts(state)
        assert {m: b.snapshot() for m, b in loaded.books.items()} == {m: b.snapshot() for m, b in state.books.items()}


def test_to_jsonable_carries_decimals_as_strings():
    assert mappers.to_jsonable({"a": Decimal("1.50"), "b": [Decimal("2")], "c": 3}) == {"a": "1.50", "b": ["2"], "c": 3}
