"""Reliability under real concurrency, in separate processes with their own connections:
the same tick raced by threads, orders racing ticks, and a worker killed with SIGKILL mid-tick.

The workers run against a migrated file SQLite database (IMMEDIATE transactions, WAL), or against
the PostgreSQL of the integration run (`scripts/test_services.py` exports DATABASE_URL).
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("race_worker.py")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


PG_DB = "exchange_edu_reliability"


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory, django_db_setup, django_db_blocker):
    """A database of their own for the worker processes: a SQLite file, or on PostgreSQL a
    database created next to the test database (so nothing leaks into other tests)."""
    from django.db import connection

    tmp = tmp_path_factory.mktemp("reliability")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "exchange_edu.settings", "DEBUG": "1", "VAR_DIR": str(tmp),
           "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "ERROR"}
    pg = connection.vendor == "postgresql"
    if pg:
        s = connection.settings_dict
        with django_db_blocker.unblock(), connection.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            cur.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{PG_DB}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'reliability.sqlite3'}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=120)
    yield env
    if pg:
        with django_db_blocker.unblock(), connection.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def run(env, *args, timeout=180):
    proc = subprocess.run([sys.executable, str(WORKER), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def audit(env, sandbox_id):
    proc = subprocess.run([sys.executable, "manage.py", "audit_ledger", "--sandbox", str(sandbox_id)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_same_tick_raced_by_threads_is_applied_exactly_once(worker_env):
    ids = run(worker_env, "setup")
    result = run(worker_env, "tick-race", ids["sandbox"], 6, 8)
    assert result["applied_per_round"] == [1] * 8  # one winner per round, never two, never none
    assert result["tick_seq"] == 8
    code, out = audit(worker_env, ids["sandbox"])
    assert code == 0, out


def test_twenty_concurrent_orders_on_one_account_racing_the_tick(worker_env):
    ids = run(worker_env, "setup")
    result = run(worker_env, "order-race", ids["sandbox"], ids["trader"], ids["market"], 20)
    assert result["errors"] == []
    assert len(result["fills"]) == 20
    assert result["ticks"] == 5
    code, out = audit(worker_env, ids["sandbox"])
    assert code == 0, out
    # no lost update: the position is the opening trade plus every order's fill, signed
    proc = subprocess.run(
        [sys.executable, "-c", "import django,os;django.setup();from exchange_edu.sandbox import models;"
         f"print(sum(models.Position.objects.filter(account_id={ids['trader']}).values_list('size', flat=True)))"],
        cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert Decimal(proc.stdout.strip()) == 2000  # 10 buys and 10 sells of 10 each cancel out


def test_a_worker_killed_mid_tick_leaves_nothing_half_applied(worker_env):
    ids = run(worker_env, "setup")
    rng = random.Random(42)
    last_seen = 0
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, str(WORKER), "loop", str(ids["sandbox"])], cwd=ROOT, env=worker_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # let it get going (Django start-up), then kill it at a random moment inside the loop
        first = proc.stdout.readline()
        assert first, proc.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        code, out = audit(worker_env, ids["sandbox"])  # balanced, balances = lines, ticks contiguous
        assert code == 0, out
        seq = run_seq(worker_env, ids["sandbox"])
        assert seq > last_seen
        last_seen = seq


def run_seq(env, sandbox_id):
    proc = subprocess.run(
        [sys.executable, "-c", "import django;django.setup();from exchange_edu.sandbox import models;"
         f"s=models.Sandbox.objects.get(pk={sandbox_id});n=models.TickRecord.objects.filter(sandbox=s).count();"
         "assert n == s.tick_seq, (n, s.tick_seq);print(s.tick_seq)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.strip())
