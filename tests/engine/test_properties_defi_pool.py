"""Hypothesis properties for the DeFi pool preset (GMX v2-like): LPs deposit and withdraw, traders
trade against the pool, the oracle moves across funding times. After every step: the ledger sums
to zero per asset (USDC and the GM shares); funding is zero-sum (each funding time's long and
short index increments move the same dollars, rate_small = rate_large x OI_large / OI_small, and
sys:funding plus everything still pending is non-negative dust); pool accounting: pool value =
LP deposits - withdrawals + fees + borrow and liquidation fees - absorbed losses - traders' PnL."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from exchange_edu.engine.book import Order, OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import new_exchange
from exchange_edu.engine.margin import pending_funding
from exchange_edu.engine.numbers import ZERO, engine_context
from exchange_edu.engine.pool import lp_deposit, lp_withdraw, pool_value
from exchange_edu.engine.rules import DEFI_POOL
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import SYS_FUNDING, SYS_POOL, is_system

D = Decimal
RULES = DEFI_POOL.with_overrides({"pool.seed_liquidity": "0"})
TRADERS = ("t1", "t2", "t3")
LPS = ("lp1", "lp2")
POOL_KINDS = {"lp_deposit", "lp_withdrawal", "fee", "borrow_fee", "liquidation_fee", "liquidation_loss_absorbed"}


class DefiPoolMachine(RuleBasedStateMachine):
    @initialize(deposits=st.lists(st.integers(1, 40), min_size=3, max_size=3), seed_lp=st.integers(2, 100))
    def setup(self, deposits, seed_lp):
        amounts = {t: D(d) * 500 for t, d in zip(TRADERS, deposits, strict=True)}
        amounts.update({lp: D(10) ** 6 for lp in LPS})
        self.state = new_exchange(RULES, index_price=D(20000), index_prices={"BTC": D(20000), "ETH": D(1500)},
                                  deposits=amounts)
        self.seq = 0
        self.settlements = 0
        self.flows = ZERO  # what reached the pool other than PnL
        self._absorb(lp_deposit(self.state, RULES, "lp1", D(seed_lp) * 10000, 0))

    def _absorb(self, result):
        for entry in result.delta.entries:
            for line in entry.lines:
                if line.account_id == SYS_POOL and line.asset == "USDC" and entry.kind in POOL_KINDS:
                    self.flows += line.amount
        for ev in result.delta.events:
            if ev.kind is EventKind.FUNDING_SETTLED:
                self.settlements += 1
            if ev.kind is EventKind.POOL_FUNDING:
                n, i = ev.numbers, ev.inputs
                with engine_context():  # the same dollars on both sides
                    assert abs(n["long_rate_per_second"] * i["oi_long_usd"]
                               + n["short_rate_per_second"] * i["oi_short_usd"]) < D("1e-20")
        self.state = apply_result(self.state, result)

    @rule(lp=st.sampled_from(LPS), amount=st.integers(1, 500000))
    def deposit_liquidity(self, lp, amount):
        self._absorb(lp_deposit(self.state, RULES, lp, D(amount), self.state.now))

    @rule(lp=st.sampled_from(LPS), share=st.integers(1, 100))
    def withdraw_liquidity(self, lp, share):
        held = self.state.account(lp).balance("GM")
        if held > 0:
            shares = (held * share / 100).quantize(D("0.000001"), rounding="ROUND_DOWN")
            if shares > 0:
                self._absorb(lp_withdraw(self.state, RULES, lp, shares, self.state.now))

    @rule(trader=st.sampled_from(TRADERS), market=st.sampled_from(["BTC-PERP", "ETH-PERP"]),
          side=st.sampled_from([Side.BUY, Side.SELL]), size=st.integers(1, 5000), reduce=st.booleans())
    def trade(self, trader, market, side, size, reduce):
        order = Order(0, trader, market, side, OrderType.MARKET, D(size), None, reduce_only=reduce)
        self._absorb(place_order(self.state, RULES, order, self.state.now))

    @rule(move_bp=st.integers(-2500, 2500), eth_bp=st.integers(-800, 800), dt=st.sampled_from([10, 600, 3600]))
    def tick(self, move_bp, eth_bp, dt):
        self.seq += 1
        idx = {}
        for u, bp, m in (("BTC", move_bp, "BTC-PERP"), ("ETH", eth_bp, "ETH-PERP")):
            old = self.state.market_states[m].index_price
            idx[u] = max(D(10), (old * (1 + D(bp) / 10000)).quantize(D("0.01")))
        self._absorb(apply_tick(self.state, RULES, TickInput(self.seq, self.state.now + dt, idx)))

    @invariant()
    def ledger_sums_to_zero_per_asset(self):
        totals: dict[str, Decimal] = {}
        for a in self.state.accounts.values():
            for k, v in a.balances.items():
                totals[k] = totals.get(k, ZERO) + v
        assert all(v == 0 for v in totals.values()), totals

    @invariant()
    def funding_is_zero_sum(self):
        with engine_context():
            pending = sum((pending_funding(p, self.state.market_states[p.market_id].index_for(p.size))
                           for p in self.state.positions.values()), ZERO)
            dust = self.state.account(SYS_FUNDING).balance("USDC") + pending
            assert D("-1e-20") <= dust <= (self.settlements + 2 * self.seq + 2) * D("0.000001")

    @invariant()
    def pool_value_is_deposits_plus_fees_minus_traders_pnl(self):
        with engine_context():
            traders_pnl = ZERO  # realized (their balance change from PnL) + unrealized at the oracle
            for (a, m), p in self.state.positions.items():
                if not is_system(a):
                    ms = self.state.market_states[m]
                    traders_pnl += self.state.markets[m].pnl(p.size, p.entry_price, ms.index_price)
            realized = -self.state.account("sys:clearing").balance("USDC") \
                - (self.state.account(SYS_POOL).balance("USDC") - self.flows)
            value = pool_value(self.state, RULES)
            # pool cash = flows + the pool's realized PnL; pool value mirrors the traders' total PnL
            assert abs(value - (self.flows - realized - traders_pnl)) <= D("0.00001") * (1 + self.seq * 10)

    @invariant()
    def open_interest_is_symmetric(self):
        for m, ms in self.state.market_states.items():
            sizes = [p.size for p in self.state.positions_in(m)]
            assert sum(sizes, ZERO) == 0
            assert sum((x for x in sizes if x > 0), ZERO) == ms.open_interest


TestDefiPoolProperties = DefiPoolMachine.TestCase
TestDefiPoolProperties.settings = settings(max_examples=200, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
