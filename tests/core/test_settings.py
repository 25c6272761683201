"""Production settings pass `check --deploy`; a missing SECRET_KEY is refused outside DEBUG."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "exchange_edu.settings",
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "a-real-looking-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "exchange-edu.example",
}


def run_manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env | {"VAR_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV, tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}

    result = run_manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    from django.conf import settings
    from django.db import connection

    options = settings.DATABASES["default"]["OPTIONS"]
    if connection.vendor != "sqlite":
        return  # PostgreSQL run: nothing SQLite-specific to check
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 20
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    # The test database is in memory, where SQLite reports "memory"; on a file it is "wal".
    assert mode in {"wal", "memory"}
