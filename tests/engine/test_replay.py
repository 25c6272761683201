from exchange_edu.engine.replay import ReplayPosition, replay
from exchange_edu.engine.rules import V0, V1

from .helpers import D


def _crash_path():
    # 10,000 flat for a day, then -1% per hour for 15 hours
    path = [(h * 3600, D(10000)) for h in range(24)]
    price = D(10000)
    for h in range(24, 40):
        price = (price * D("0.99")).quantize(D("0.01"))
        path.append((h * 3600, price))
    return path


def test_one_path_one_position_several_presets():
    position = ReplayPosition(is_long=True, notional_usd=D(10000), leverage=D(20), deposit=D("0.2"))
    runs = replay(_crash_path(), [V0, V1], position)
    assert set(runs) == {"v0", "v1"}
    # a 20x long does not survive a 14% fall under either generation
    assert runs["v1"].liquidated_at is not None
    assert runs["v0"].liquidated_at is not None
    assert len(runs["v1"].rows) == len(_crash_path()) - 1
    # the learner lost its margin, never more than its deposit
    for run in runs.values():
        assert 0 <= run.final_equity < D("0.2")


def test_replay_is_deterministic():
    position = ReplayPosition(is_long=False, notional_usd=D(5000), leverage=D(10), deposit=D(1))
    a = replay(_crash_path(), [V1], position)["v1"]
    b = replay(_crash_path(), [V1], position)["v1"]
    assert a.rows == b.rows
    assert a.final_equity == b.final_equity


def test_replay_runs_all_four_generations():
    from exchange_edu.engine.rules import V2, V3

    position = ReplayPosition(is_long=True, notional_usd=D(10000), leverage=D(20), deposit=D("0.2"))
    runs = replay(_crash_path(), [V0, V1, V2, V3], position)
    assert set(runs) == {"v0", "v1", "v2", "v3"}
    # $2,000 (0.2 BTC at 10,000) behind a $10,000 long: a 14% fall costs v2/v3 about $1,400, not all
    for name in ("v2", "v3"):
        assert runs[name].liquidated_at is None, runs[name].notes
        assert D(400) < runs[name].final_equity < D(800)


def test_replay_runs_the_defi_presets():
    from exchange_edu.engine.rules import DEFI_BOOK, DEFI_POOL

    position = ReplayPosition(is_long=True, notional_usd=D(10000), leverage=D(20), deposit=D("0.06"))
    runs = replay(_crash_path(), [DEFI_BOOK, DEFI_POOL], position)
    assert set(runs) == {"defi_book", "defi_pool"}
    for run in runs.values():
        assert not run.notes, run.notes
        # $600 behind a $10,000 long: a 14% fall liquidates it on both; the loss stops at the deposit
        assert 0 <= run.final_equity < D(300)  # the pool returns what collateral remains
    assert runs["defi_pool"].liquidated_at is not None  # closed against the pool (defi_book: the vault)
