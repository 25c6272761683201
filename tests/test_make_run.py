"""What `make run` starts (web server, Celery worker and beat from the Procfile) serves the site,
reports a healthy beat within seconds, and stops cleanly on Ctrl-C (SIGINT)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def run_env(tmp_path):
    # A clean environment like a user's shell: no test settings, no exported service URLs.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ}
    env.update(DEBUG="1", VAR_DIR=str(tmp_path), WEB_PORT=str(free_port()))
    for command in (["migrate", "--no-input", "-v", "0"], ["broker_init"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
    return env


def test_the_procfile_stack_serves_pages_and_a_live_beat_then_stops_on_ctrl_c(run_env):
    base = f"http://127.0.0.1:{run_env['WEB_PORT']}"
    proc = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-f", "Procfile"], cwd=ROOT, env=run_env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline:
            try:
                status, body = get(f"{base}/api/v1/health")
                health = json.loads(body)
                if status == 200 and health["beat"]["last_beat_age_s"] is not None:
                    break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        assert health is not None, "no answer from /api/v1/health"
        assert health["status"] == "ok", health
        assert health["beat"]["last_beat_age_s"] < 10

        status, body = get(f"{base}/")
        assert status == 200
        assert b"Dated futures" in body
        status, _ = get(f"{base}/static/css/site.css")
        assert status == 200

        time.sleep(2.5)  # beat keeps ticking: the age stays small rather than growing
        assert json.loads(get(f"{base}/api/v1/health")[1])["beat"]["last_beat_age_s"] < 3
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            pytest.fail("the stack did not stop within 30 s of Ctrl-C:\n" + output.decode()[-3000:])
    text = output.decode()
    assert "Traceback" not in text, text[-3000:]
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the stack is left running
