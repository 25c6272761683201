"""Factories for sandbox tests: sandboxes, funded accounts, a counterparty that quotes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.sandbox import mappers, models, services


@pytest.fixture(autouse=True)
def _fresh_state_cache():
    mappers.forget_state()
    yield
    mappers.forget_state()


def make_sandbox(preset: str = "v1", **kw) -> models.Sandbox:
    kw.setdefault("seed", 7)
    return services.sandbox_create(preset=preset, **kw)


def make_account(sandbox: models.Sandbox, user=None, label: str = "") -> models.PaperAccount:
    return services.account_open(sandbox_id=sandbox.pk, user=user, label=label)


def market_id(sandbox: models.Sandbox) -> str:
    return models.Market.objects.filter(sandbox=sandbox, status="open").order_by("expiry_time", "pk").first().market_id


def mark(sandbox: models.Sandbox) -> Decimal:
    return models.Market.objects.get(sandbox=sandbox, market_id=market_id(sandbox)).mark_price


def quote(sandbox: models.Sandbox, maker: models.PaperAccount, *, qty="100", spread="0.01", leverage="2") -> None:
    """The maker rests a bid and an ask around the mark, `spread` (fraction) away."""
    m = models.Market.objects.get(sandbox=sandbox, market_id=market_id(sandbox))
    tick = m.tick_size
    p = m.mark_price
    bid = (p * (1 - Decimal(spread)) / tick).to_integral_value() * tick
    ask = (p * (1 + Decimal(spread)) / tick).to_integral_value() * tick
    services.order_place(sandbox_id=sandbox.pk, account_pk=maker.pk, market=m.market_id, side="buy",
                         quantity=qty, price=bid, leverage=leverage)
    services.order_place(sandbox_id=sandbox.pk, account_pk=maker.pk, market=m.market_id, side="sell",
                         quantity=qty, price=ask)


@pytest.fixture
def sandbox(db):
    return make_sandbox("v1")


@pytest.fixture
def trader(sandbox, learner):
    return make_account(sandbox, learner)


@pytest.fixture
def maker(sandbox, django_user_model):
    user = django_user_model.objects.create_user(username="maker", password="maker-password-42")
    acct = make_account(sandbox, user)
    services.deposit(sandbox_id=sandbox.pk, account_pk=acct.pk, asset="BTC", amount="100")
    return acct
