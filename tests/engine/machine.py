"""A hypothesis state machine over random orders, price moves and ticks, for any RuleSet.

Invariants checked after every step (MECHANICS 8b):
  ledger sums to zero per asset (every entry, and all balances together); funding is zero-sum
  (posted funding minus exact funding is non-negative rounding dust); open interest is symmetric
  and equals the market's counter; bankruptcy <= liquidation <= entry for longs (mirror for
  shorts); the insurance fund is never negative; clawbacks sum to the shortfall; ADL fills at a
  bankruptcy price.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from exchange_edu.engine.book import Order, OrderType, Side
from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.genesis import new_exchange, set_account_settings
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.liquidation import position_prices
from exchange_edu.engine.margin import maintenance_margin
from exchange_edu.engine.numbers import ZERO, engine_context
from exchange_edu.engine.rules import RuleSet
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.trading import place_order
from exchange_edu.engine.types import SYS_INSURANCE, MarginMode, MarketStatus, is_system
from tests.engine.helpers import assert_funding_zero_sum

D = Decimal
TRADERS = ("t1", "t2", "t3", "t4")
ACCOUNTS = ("mm1", "mm2", *TRADERS)


def make_machine(rules: RuleSet, leverages: tuple[int, ...]) -> type[RuleBasedStateMachine]:
    asset = rules.contract.settlement_asset

    class ExchangeMachine(RuleBasedStateMachine):
        @initialize(deposits=st.lists(st.integers(1, 50), min_size=len(TRADERS), max_size=len(TRADERS)),
                    levs=st.lists(st.sampled_from(leverages), min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)),
                    modes=st.lists(st.sampled_from([MarginMode.ISOLATED, MarginMode.CROSS]),
                                   min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)))
        def setup(self, deposits, levs, modes):
            self.rules = rules
            amounts = {"mm1": D(500), "mm2": D(500)}
            amounts.update({t: D(d) / 10 for t, d in zip(TRADERS, deposits, strict=True)})
            s = new_exchange(rules, index_price=D(10000), deposits=amounts)
            for acct, lev, mode in zip(ACCOUNTS, levs, modes, strict=True):
                for m in s.markets:
                    s = set_account_settings(s, acct, m, leverage=D(lev), margin_mode=mode)
            self.state = s
            self.seq = 0
            self.funding_settlements = 0
            self.bankruptcy_prices: dict[str, list[Decimal]] = {}

        # -- helpers -------------------------------------------------------------------
        def _markets(self):
            return [m for m, ms in self.state.market_states.items() if ms.status is MarketStatus.OPEN]

        def _absorb(self, result):
            for entry in result.delta.entries:
                assert all(v == 0 for v in totals_by_asset([entry]).values()), entry
            for ev in result.delta.events:
                if ev.kind is EventKind.FUNDING_SETTLED:
                    self.funding_settlements += 1
                if ev.kind is EventKind.LIQUIDATION:
                    self.bankruptcy_prices.setdefault(ev.market, []).append(ev.numbers["bankruptcy_price"])
                if ev.kind is EventKind.ADL:
                    prices = self.bankruptcy_prices.get(ev.market, [])
                    assert prices
                    assert min(prices) - D("1e-20") <= ev.numbers["price"] <= max(prices) + D("1e-20")
            clawbacks = sum((e.numbers["clawback"] for e in result.delta.events if e.kind is EventKind.CLAWBACK), ZERO)
            for e in result.delta.events:
                if e.kind is EventKind.SETTLEMENT and "shortfall" in e.numbers:
                    written = sum((x.numbers["written_off"] for x in result.delta.events
                                   if x.kind is EventKind.LOSS_WRITTEN_OFF), ZERO)
                    assert clawbacks + written == e.numbers["shortfall"]
            self.state = apply_result(self.state, result)

        def _price(self, m: str, offset_bp: int) -> Decimal:
            ms = self.state.market_states[m]
            tick = self.state.markets[m].tick_size
            p = ms.index_price * (1 + D(offset_bp) / 10000)
            return max(tick, (p / tick).quantize(D(1), rounding=ROUND_HALF_EVEN) * tick)

        # -- rules ---------------------------------------------------------------------
        @rule(mm=st.sampled_from(["mm1", "mm2"]), data=st.data())
        def quote(self, mm, data):
            m = data.draw(st.sampled_from(self._markets()))
            spread = data.draw(st.integers(1, 80))
            size = data.draw(st.integers(1, 200)) * (100 if rules.contract.contract_size == 1 else 1)
            for side, off in ((Side.BUY, -spread), (Side.SELL, spread)):
                order = Order(0, mm, m, side, OrderType.LIMIT, D(size), self._price(m, off))
                self._absorb(place_order(self.state, rules, order, self.state.now))

        @rule(trader=st.sampled_from(TRADERS), data=st.data())
        def trade(self, trader, data):
            m = data.draw(st.sampled_from(self._markets()))
            side = data.draw(st.sampled_from([Side.BUY, Side.SELL]))
            size = data.draw(st.integers(1, 300)) * (100 if rules.contract.contract_size == 1 else 1)
            kind = data.draw(st.sampled_from(["market", "limit", "reduce", "stop"]))
            if kind == "market":
                order = Order(0, trader, m, side, OrderType.MARKET, D(size), None)
            elif kind == "reduce":
                order = Order(0, trader, m, side, OrderType.MARKET, D(size), None, reduce_only=True)
            elif kind == "stop":
                off = data.draw(st.integers(10, 300))
                order = Order(0, trader, m, side, OrderType.STOP_MARKET, D(size), None,
                              trigger_price=self._price(m, off if side is Side.BUY else -off))
            else:
                order = Order(0, trader, m, side, OrderType.LIMIT, D(size),
                              self._price(m, data.draw(st.integers(-100, 100))))
            self._absorb(place_order(self.state, rules, order, self.state.now))

        @rule(move_bp=st.integers(-1500, 1500), dt=st.sampled_from([60, 600, 3600, 8 * 3600, 86400, 2 * 86400]))
        def tick(self, move_bp, dt):
            self.seq += 1
            idx = next(iter(self.state.market_states.values())).index_price
            new_index = max(D(100), (idx * (1 + D(move_bp) / 10000)).quantize(D("0.01")))
            result = apply_tick(self.state, rules, TickInput(self.seq, self.state.now + dt, {"BTC": new_index}))
            self._absorb(result)

        @rule(move_bp=st.integers(-2500, 0))
        def market_makers_pull_their_quotes_and_the_index_gaps(self, move_bp):
            cancels = tuple((m, o.order_id) for m, book in self.state.books.items()
                            for o in book.snapshot() if o.account_id in ("mm1", "mm2"))
            self.seq += 1
            idx = next(iter(self.state.market_states.values())).index_price
            new_index = max(D(100), (idx * (1 + D(move_bp) / 10000)).quantize(D("0.01")))
            # ... and one trade prints at the new price (v0 liquidates on the LAST price)
            m = self._markets()[0]
            size = D(1000 if rules.contract.contract_size == 1 else 10)
            wick = (Order(0, "mm1", m, Side.BUY, OrderType.LIMIT, size, self._price(m, move_bp)),
                    Order(0, "mm2", m, Side.SELL, OrderType.MARKET, size, None))
            self._absorb(apply_tick(self.state, rules, TickInput(self.seq, self.state.now + 60,
                                                                {"BTC": new_index}, orders=wick, cancels=cancels)))
            self.seq += 1
            self._absorb(apply_tick(self.state, rules, TickInput(self.seq, self.state.now + 60, {"BTC": new_index})))

        @precondition(lambda self: self.seq > 0)
        @rule()
        def duplicate_tick_is_skipped(self):
            idx = next(iter(self.state.market_states.values())).index_price
            result = apply_tick(self.state, rules, TickInput(self.seq, self.state.now, {"BTC": idx}))
            assert result.skipped
            assert not result.delta.entries

        # -- invariants ----------------------------------------------------------------
        @invariant()
        def ledger_balances_sum_to_zero(self):
            total = sum((a.balance(asset) for a in self.state.accounts.values()), ZERO)
            assert total == 0

        @invariant()
        def open_interest_is_symmetric(self):
            for m, ms in self.state.market_states.items():
                sizes = [p.size for p in self.state.positions_in(m)]
                longs = sum((x for x in sizes if x > 0), ZERO)
                shorts = -sum((x for x in sizes if x < 0), ZERO)
                assert longs == shorts == ms.open_interest

        @invariant()
        def insurance_fund_never_negative(self):
            assert self.state.account(SYS_INSURANCE).balance(asset) >= 0

        @invariant()
        def funding_is_zero_sum(self):
            assert_funding_zero_sum(self.state, asset, self.funding_settlements)

        @invariant()
        def bankruptcy_liquidation_entry_are_ordered(self):
            with engine_context():
                for p in self.state.positions.values():
                    if is_system(p.account_id) or not p.size or p.margin_mode is not MarginMode.ISOLATED:
                        continue
                    prices = position_prices(self.state, rules, p)
                    market = self.state.markets[p.market_id]
                    lp, b = prices.liquidation, prices.bankruptcy
                    if lp is None or b is None:
                        continue
                    healthy = prices.collateral >= maintenance_margin(rules, market, p, p.entry_price)
                    if p.size > 0:
                        assert b <= lp
                        assert lp <= p.entry_price or not healthy
                    else:
                        assert lp <= b
                        assert lp >= p.entry_price or not healthy

    return ExchangeMachine
