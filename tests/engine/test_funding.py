from datetime import UTC, datetime, timedelta

from exchange_edu.engine.delta import apply_result
from exchange_edu.engine.events import EventKind
from exchange_edu.engine.funding import first_funding_time, settle_funding
from exchange_edu.engine.ledger import totals_by_asset
from exchange_edu.engine.rules import V1
from exchange_edu.engine.step import TickInput, apply_tick
from exchange_edu.engine.types import SYS_FUNDING
from exchange_edu.engine.work import Work

from .helpers import D, open_pair


def test_funding_times_are_04_12_20_utc():
    epoch = datetime(2024, 1, 1, 5, 30, tzinfo=UTC)
    t = first_funding_time(epoch, 0, V1)
    assert epoch + timedelta(seconds=t) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def test_funding_is_paid_through_the_index_and_settled_lazily_zero_sum():
    s, m = open_pair(V1, price=10000, contracts=10000, long_lev=10, short_lev=10)
    t_fund = s.market_states[m].next_funding_time
    # the rate paid at the first funding time was fixed one interval ahead: I = 0.01%
    assert s.market_states[m].funding_rate_next == D("0.0001")
    result = apply_tick(s, V1, TickInput(1, t_fund, {"BTC": D(10000)}))
    s = apply_result(s, result)
    paid = next(e for e in result.events if e.kind is EventKind.FUNDING_PAID)
    # nobody's balance moved yet: only the index (0.0001 x 1 / mark per contract)
    assert not [e for e in result.entries if e.kind == "funding"]
    assert paid.numbers["index_increment"] * 10000 * paid.inputs["mark"] == D("0.0001") * paid.inputs["mark"]
    alice_before = s.account("alice").balance("BTC")
    maker_before = s.account("maker").balance("BTC")
    # funding settles when a position is touched (here: explicitly)
    work = Work(s, V1, s.now)
    settle_funding(work, s.position("alice", m))
    settle_funding(work, s.position("maker", m))
    alice_paid = alice_before - work.account("alice").balance("BTC")
    maker_got = work.account("maker").balance("BTC") - maker_before
    # E8-like: 10,000 contracts near mark 10,000 pay ~0.0001 XBT; the short receives it
    assert D("0.00009") < alice_paid < D("0.00011")
    assert 0 <= alice_paid - maker_got <= D("0.00000001")  # rounding dust stays with sys:funding
    assert work.account(SYS_FUNDING).balance("BTC") == alice_paid - maker_got
    assert totals_by_asset(work.entries) == {"BTC": 0}
    # isolated margins absorbed the payments
    assert work.position("alice", m).isolated_margin < s.position("alice", m).isolated_margin


def test_sweep_funding_dust_moves_only_the_rounding_residue_to_the_exchange():
    from exchange_edu.engine.funding import sweep_funding_dust
    from exchange_edu.engine.ledger import totals_by_asset
    from exchange_edu.engine.numbers import engine_context
    from exchange_edu.engine.rules import V1
    from exchange_edu.engine.types import SYS_FEES, SYS_FUNDING, Account, evolve
    from exchange_edu.engine.work import Work

    from .helpers import D, open_pair

    s, _m = open_pair(V1, price=10000, contracts=10000, long_lev=10, short_lev=10)
    # nothing pending; 0.00000003 BTC left over from floored lines sits in sys:funding
    s = evolve(s, accounts={**s.accounts, SYS_FUNDING: Account(SYS_FUNDING, {"BTC": D("0.00000003")}),
                            "sys:external": evolve(s.account("sys:external"),
                                                   balances={"BTC": s.account("sys:external").balance("BTC")
                                                             - D("0.00000003")})})
    with engine_context():
        work = Work(s, V1, s.now)
        assert sweep_funding_dust(work, "BTC") == D("0.00000003")
    assert work.account(SYS_FUNDING).balance("BTC") == 0
    assert work.account(SYS_FEES).balance("BTC") - s.account(SYS_FEES).balance("BTC") == D("0.00000003")
    assert all(v == 0 for v in totals_by_asset(work.entries).values())
