"""A hypothesis state machine for the unified-account presets (v2, v3): random orders on BTC and
ETH markets, coin collateral, price moves across funding and accrual times.

Invariants after every step (MECHANICS 8b): the ledger sums to zero per asset (USD/USDC, BTC, ETH);
funding is zero-sum up to non-negative rounding dust; open interest is symmetric; the insurance
fund is never negative; with a lending pool: the sum of lent balances is the pool's lent amount,
the sum of negative balances its borrowed amount, lenders' interest is borrowers' interest x
(1 - fee) at every accrual, and a bankrupt borrower's debt is always repaid (no account is left
negative after a takeover, and no debt disappears from the pool without a ledger line).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from exchange_edu.engine.book import Order, OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import deposit, new_exchange
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.lending import lends, pending_interest
from exchange_edu.engine.numbers import ZERO, engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import SYS_INSURANCE, MarketStatus, is_system
from exchange_edu.engine.unified import account_risk
from tests.engine.helpers import assert_funding_zero_sum

D = Decimal
TRADERS = ("t1", "t2", "t3", "t4")


def make_unified_machine(rules: RuleSet) -> type[RuleBasedStateMachine]:
    asset = rules.contract.settlement_asset

    class UnifiedMachine(RuleBasedStateMachine):
        @initialize(deposits=st.lists(st.integers(0, 40), min_size=4, max_size=4),
                    btc=st.lists(st.integers(0, 3), min_size=4, max_size=4))
        def setup(self, deposits, btc):
            amounts = {"mm1": D(10) ** 7, "mm2": D(10) ** 7}
            amounts.update({t: D(d) * 250 for t, d in zip(TRADERS, deposits, strict=True)})
            s = new_exchange(rules, index_price=D(20000), index_prices={"BTC": D(20000), "ETH": D(1500)},
                             deposits=amounts)
            for t, b in zip(TRADERS, btc, strict=True):
                if b:
                    s = deposit(s, t, "BTC", D(b) / 10)
            self.state = s
            self.seq = 0
            self.funding_settlements = 0

        def _markets(self):
            return sorted(m for m, ms in self.state.market_states.items() if ms.status is MarketStatus.OPEN)

        def _price(self, m, offset_bp):
            ms = self.state.market_states[m]
            tick = self.state.markets[m].tick_size
            p = ms.index_price * (1 + D(offset_bp) / 10000)
            return max(tick, (p / tick).quantize(D(1), rounding=ROUND_HALF_EVEN) * tick)

        def _absorb(self, result):
            for entry in result.delta.entries:
                assert all(v == 0 for v in totals_by_asset([entry]).values()), entry
            taken_over = set()
            for ev in result.delta.events:
                if ev.kind is EventKind.FUNDING_SETTLED:
                    self.funding_settlements += 1
                if ev.kind is EventKind.ACCOUNT_LIQUIDATION and ev.inputs["stage"] == "takeover":
                    taken_over.add(ev.account)
                if ev.kind is EventKind.POOL_RATES and ev.inputs["borrowed"] <= ev.inputs["lent"]:
                    with engine_context():
                        lenders = ev.inputs["lent"] * ev.numbers["lend_rate"]
                        borrowers = ev.inputs["borrowed"] * ev.numbers["borrow_rate"]
                        assert abs(lenders - borrowers * (1 - ev.inputs["fee_share"])) < D("1e-20")
            self.state = apply_result(self.state, result)
            for a in taken_over:  # lenders are made whole: the bankrupt account owes nothing
                assert self.state.account(a).balance(asset) >= 0

        @rule(mm=st.sampled_from(["mm1", "mm2"]), data=st.data())
        def quote(self, mm, data):
            m = data.draw(st.sampled_from(self._markets()))
            spread = data.draw(st.integers(1, 60))
            size = D(data.draw(st.integers(1, 4000)))
            for side, off in ((Side.BUY, -spread), (Side.SELL, spread)):
                order = Order(0, mm, m, side, OrderType.LIMIT, size, self._price(m, off))
                self._absorb(place_order(self.state, rules, order, self.state.now))

        @rule(trader=st.sampled_from(TRADERS), data=st.data())
        def trade(self, trader, data):
            m = data.draw(st.sampled_from(self._markets()))
            side = data.draw(st.sampled_from([Side.BUY, Side.SELL]))
            size = D(data.draw(st.integers(1, 5000)))
            reduce = data.draw(st.booleans())
            order = Order(0, trader, m, side, OrderType.MARKET, size, None, reduce_only=reduce)
            self._absorb(place_order(self.state, rules, order, self.state.now))

        @rule(trader=st.sampled_from(TRADERS), amount=st.integers(1, 2000), coin=st.booleans())
        def add_collateral_raises_mf(self, trader, amount, coin):
            with engine_context():
                before = account_risk(self.state, rules, trader)
                if coin:
                    self.state = deposit(self.state, trader, "BTC", D(amount) / 10000)
                else:
                    self.state = deposit(self.state, trader, asset, D(amount))
                after = account_risk(self.state, rules, trader)
            if before.notional:
                assert after.margin_fraction > before.margin_fraction

        @rule(move_bp=st.integers(-2500, 2500), eth_bp=st.integers(-800, 800),
              dt=st.sampled_from([10, 60, 600, 3600]))
        def tick(self, move_bp, eth_bp, dt):
            self.seq += 1
            idx = {}
            for u, bp in (("BTC", move_bp), ("ETH", eth_bp)):
                m = next(m for m in self._markets() if self.state.markets[m].underlying == u
                         and not self.state.markets[m].is_move)  # a MOVE's index is its fair value
                old = self.state.market_states[m].index_price
                idx[u] = max(D(10), (old * (1 + D(bp) / 10000)).quantize(D("0.01")))
            # the market makers pull their quotes: the mark falls back to the moved index
            cancels = tuple((m, o.order_id) for m, book in sorted(self.state.books.items())
                            for o in book.snapshot() if o.account_id in ("mm1", "mm2"))
            self._absorb(apply_tick(self.state, rules, TickInput(self.seq, self.state.now + dt, idx,
                                                                 cancels=cancels)))

        @invariant()
        def ledger_sums_to_zero_per_asset(self):
            totals: dict[str, Decimal] = {}
            for a in self.state.accounts.values():
                for k, v in a.balances.items():
                    totals[k] = totals.get(k, ZERO) + v
            assert all(v == 0 for v in totals.values()), totals

        @invariant()
        def open_interest_is_symmetric(self):
            for m, ms in self.state.market_states.items():
                sizes = [p.size for p in self.state.positions_in(m)]
                assert sum(sizes, ZERO) == 0
                assert sum((x for x in sizes if x > 0), ZERO) == ms.open_interest

        @invariant()
        def insurance_fund_never_negative(self):
            assert self.state.account(SYS_INSURANCE).balance(asset) >= 0

        @invariant()
        def funding_is_zero_sum(self):
            assert_funding_zero_sum(self.state, asset, self.funding_settlements)

        @invariant()
        def pool_accounting(self):
            with engine_context():
                for pa, pool in self.state.pools.items():
                    lent = borrowed = ZERO
                    for a in self.state.accounts.values():
                        if is_system(a.account_id):
                            continue
                        b = a.balance(pa) + pending_interest(pool, a, pa)
                        if b > 0 and lends(pool, a):
                            lent += b
                        elif b < 0:
                            borrowed -= b
                    assert abs(lent - pool.lent) <= D("1e-18") * (1 + lent)
                    assert abs(borrowed - pool.borrowed) <= D("1e-18") * (1 + borrowed)

    return UnifiedMachine
