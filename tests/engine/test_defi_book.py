"""DeFi book (dYdX v4 / Hyperliquid-like): worked examples E30, E32, E34 of MECHANICS 8, the
fillable-price liquidation with the capped insurance fee, the vault backstop, the explorer, and
the crowd of bots trading on the preset."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.explorer import explorer
from exchange_edu.engine.fillable import bankruptcy_price, fillable_price, insurance_fee
from exchange_edu.engine.funding import dydx_funding_rate, hourly_payment, next_rate
from exchange_edu.engine.genesis import new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.numbers import engine_context
from exchange_edu.engine.oracle import hyperliquid_mark
from exchange_edu.engine.rules import DEFI_BOOK, preset
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.types import SYS_BACKSTOP, SYS_INSURANCE, MarginMode, Position, evolve

from .helpers import Side, balances_sum_to_zero, limit, place, run_crowd

D = Decimal
BTC = "BTC-PERP"


@pytest.fixture(autouse=True)
def _ctx():
    with engine_context():
        yield


def test_e30_dydx_funding_premium_plus_default_clamped_by_the_tier():
    # R = 0.02% + 0.01% = 0.03% per 8 h; Large-cap clamp 6 x (2% - 1.2%) = 4.8%
    rate, bound = dydx_funding_rate(D("0.0002"), D("0.0001"), D("0.02"), D("0.012"))
    assert rate == D("0.0003")
    assert bound == D("0.048")
    # 10 BTC at 60,000 long pays 600,000 x 0.03% / 8 = $22.50 each hour
    assert hourly_payment(D(10), D(60000), rate) == D("22.5")
    # a 10% premium is clamped to 4.8%
    assert dydx_funding_rate(D("0.1"), D("0.0001"), D("0.02"), D("0.012"))[0] == D("0.048")


@pytest.mark.parametrize(("name", "premium", "per_8h", "per_hour"), [
    ("E32 premium 0.02%, I 0.01%: F = 0.02% + clamp(-0.01%) = 0.01% per 8 h", "0.0002", "0.0001", "0.0000125"),
    ("E32 premium 1%: F = 1% + clamp(-0.99%, +-0.05%) = 0.95% per 8 h", "0.01", "0.0095", "0.0011875"),
    ("a 40% premium hits the 4%/h cap", "0.4", None, "0.04"),
])
def test_e32_hyperliquid_funding_is_f_over_8_each_hour(name, premium, per_8h, per_hour):
    rate = next_rate(DEFI_BOOK, D(premium))
    assert rate == D(per_hour)
    if per_8h is not None:
        assert rate * 8 == D(per_8h)


def test_e32_payment_uses_the_oracle_price_not_the_mark():
    # 10 BTC long at oracle 60,000, F = 0.01%/8h -> $7.50 for the hour, whatever the book says
    s = with_position(exchange(ann=100000, bob=100000), "ann", BTC, 10, 60000)
    s = with_position(s, "bob", BTC, -10, 60000)
    ms = s.market_states[BTC]
    s = evolve(s, market_states={**s.market_states, BTC: evolve(ms, funding_rate_next=D("0.0000125"))})
    result = apply_tick(s, DEFI_BOOK, TickInput(1, 3600, {"BTC": D(60000), "ETH": D(3000)}))
    paid = [e for e in result.events if e.kind is EventKind.FUNDING_PAID and e.market == BTC]
    contracts = D(10) / s.markets[BTC].contract_size
    assert paid[0].numbers["index_increment"] * contracts == D("7.5")


def test_e34_hyperliquid_mark_is_a_median_of_three():
    # oracle 10,000 + EMA 20 = 10,020; book median(10,010, 10,030, 10,020) = 10,020; CEX 10,015
    assert hyperliquid_mark(D(10000), D(20), D(10010), D(10030), D(10020), D(10015)) == D(10020)
    # an empty book: median(oracle + basis, other venues) = the mean of the two
    assert hyperliquid_mark(D(10000), D(20), None, None, None, D(10000)) == D(10010)


def test_the_mark_stays_anchored_to_the_oracle_when_the_book_is_pushed():
    s = exchange(mm=10 ** 7)
    s = place(s, DEFI_BOOK, limit("mm", BTC, Side.BUY, 1000, 14000))  # a silly bid 40% over the oracle
    s = place(s, DEFI_BOOK, limit("mm", BTC, Side.SELL, 1000, 16000))
    result = apply_tick(s, DEFI_BOOK, TickInput(1, 60, {"BTC": D(10000), "ETH": D(3000)}))
    s = apply_result(s, result)
    # median(oracle x (1 + mean premium), median(bid, ask, last = none) -> skipped, oracle)
    mark = s.market_states[BTC].mark_price
    assert D(10000) <= mark <= D(14000)
    assert mark < D(12100)  # the oracle and the premium-adjusted oracle, not the book, decide


def test_fillable_and_bankruptcy_prices_worked_numbers():
    # long 10 BTC at mark 60,000, MMF 1.2% (TMMR 7,200), TNC 3,600: ABR = 0.5
    assert fillable_price(D(60000), 1, D("0.012"), D(3600), D(7200), D(1), D("1.5")) == D(59460)
    assert bankruptcy_price(D(60000), 1, D("0.012"), D(3600), D(7200)) == D(59640)
    # a short mirrors it
    assert fillable_price(D(60000), -1, D("0.012"), D(3600), D(7200), D(1), D("1.5")) == D(60540)
    # the fund takes the surplus over B, at most 1.5% of the notional
    assert insurance_fee(1, D("0.2"), D(9095), D(9000), D("0.015")) == D(19)
    assert insurance_fee(1, D("0.2"), D(9500), D(9000), D("0.015")) == D("28.5")
    assert insurance_fee(1, D("0.2"), D(8990), D(9000), D("0.015")) == 0


def exchange(**deposits):
    return new_exchange(DEFI_BOOK, index_price=D(10000), index_prices={"BTC": D(10000), "ETH": D(3000)},
                        deposits={k: D(v) for k, v in deposits.items()})


def with_position(state, account, market, coins, entry):
    m = state.markets[market]
    contracts = D(coins) / m.contract_size
    pos = Position(account, market, contracts, D(entry), MarginMode.CROSS, D(20))
    ms = state.market_states[market]
    oi = ms.open_interest + (contracts if contracts > 0 else 0)
    return evolve(state, positions={**state.positions, (account, market): pos},
                  market_states={**state.market_states, market: evolve(ms, open_interest=oi)})


def _tick(s, seq, now, btc):
    result = apply_tick(s, DEFI_BOOK, TickInput(seq, now, {"BTC": D(btc), "ETH": D(3000)}))
    assert all(v == 0 for v in totals_by_asset(result.entries).values())
    return apply_result(s, result), result


def test_liquidation_on_the_book_at_the_fillable_price_pays_a_capped_fee_to_the_fund():
    # $1,000, long 1 BTC from 10,000; oracle 9,100: TNC 100 < TMMR 1.2% x 9,100 = 109.20
    s = with_position(exchange(ann=1000, mm=10 ** 7), "ann", BTC, 1, 10000)
    s = with_position(s, "mm", BTC, -1, 10000)
    s = place(s, DEFI_BOOK, limit("mm", BTC, Side.BUY, 1000, 9095))
    fund = s.account(SYS_INSURANCE).balance("USDC")
    s, result = _tick(s, 1, 60, 9100)
    fees = [e for e in result.events if e.kind is EventKind.LIQUIDATION_FEE]
    # 20% chunk = 0.2 BTC sold at 9,095 (above the fillable price 9,086.20); B = 9,100 - 100 = 9,000
    assert fees[0].numbers["bankruptcy_price"] == D(9000)
    assert fees[0].numbers["fillable_price"].quantize(D("0.01")) == D("9086.20")
    # surplus 0.2 x 95 = 19 < cap 1.5% x 0.2 x 9,095 = 27.285: the fund takes 19
    assert fees[0].numbers["fee"] == D(19)
    assert s.account(SYS_INSURANCE).balance("USDC") == fund + 19
    assert s.position("ann", BTC).size == 800


def test_below_two_thirds_of_maintenance_the_vault_takes_everything():
    s = with_position(exchange(ann=1000, mm=10 ** 7), "ann", BTC, 1, 10000)
    s = with_position(s, "mm", BTC, -1, 10000)
    # oracle 9,030: TNC 30 < 2/3 x 108.36: the vault (sys:backstop) takes the whole position
    s, result = _tick(s, 1, 60, 9030)
    assert [e.inputs["stage"] for e in result.events if e.kind is EventKind.ACCOUNT_LIQUIDATION] == ["backstop"]
    assert s.position("ann", BTC) is None
    assert s.position(SYS_BACKSTOP, BTC).size == 1000
    assert 0 <= s.account("ann").balance("USDC") < D("0.01")  # the maintenance margin is not returned


def test_explorer_lists_every_account_with_its_liquidation_distance():
    s = with_position(exchange(ann=1000, bob=5000), "ann", BTC, 1, 10000)
    s = with_position(s, "bob", BTC, -1, 10000)
    views = {v.account_id: v for v in explorer(s, DEFI_BOOK)}
    assert sorted(views) == ["ann", "bob"]
    ann = views["ann"]
    # x = (MM - equity) / (D - MMF x D) = (120 - 1,000) / (10,000 - 120) = -8.9069%
    assert ann.liquidation_distance.quantize(D("0.000001")) == D("0.089069")
    lp = ann.positions[0].liquidation_price
    assert lp.quantize(D("0.01")) == D("9109.31")
    # at that price equity = maintenance: 1,000 + (LP - 10,000) = 1.2% x LP
    assert abs(1000 + (lp - 10000) - D("0.012") * lp) < D("1e-20")
    bob = views["bob"]
    assert bob.positions[0].liquidation_price > 10000  # a short is liquidated above
    assert bob.equity == 5000
    assert bob.margin_fraction == D("0.5")
    assert explorer(s) == explorer(s, preset("defi_book"))


def test_the_crowd_trades_on_the_defi_book_and_the_ledger_balances():
    s, kinds = run_crowd(DEFI_BOOK, seed=3, ticks=150, tick_seconds=60, rise_until=60, rise="1.001",
                         fall="0.993")

    assert kinds["fill"] > 0
    assert kinds["funding_paid"] > 0
    assert balances_sum_to_zero(s)
    assert len(explorer(s, DEFI_BOOK)) > 0
