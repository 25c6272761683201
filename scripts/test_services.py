#!/usr/bin/env python3
"""Start a throw-away PostgreSQL cluster and redis-server on free loopback ports, run a command
with DATABASE_URL / CELERY_BROKER_URL pointing at them, then stop both and delete their files.

    python scripts/test_services.py -- pytest -m integration

A service that does not start fails the run loudly (exit 3); nothing is ever skipped.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServiceError("PostgreSQL server binaries not found (run scripts/install_system_deps.sh)")
    return Path(found[-1]).parent


def as_service_user(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root, so the cluster belongs to the `postgres` user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def wait_for_port(port: int, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not accept connections on 127.0.0.1:{port} in {timeout_s} s")


def start_postgres(workdir: Path) -> tuple[str, callable]:
    bindir = pg_bindir()
    data = workdir / "pg"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        as_service_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--no-sync"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -F -c full_page_writes=off"
    subprocess.run(
        as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-t", "30",
                         "-l", str(workdir / "pg.log"), "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )

    def stop() -> None:
        subprocess.run(as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                        "-w", "stop"]), stdout=subprocess.DEVNULL, check=False)

    wait_for_port(port, "PostgreSQL")
    version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"[services] {version} on 127.0.0.1:{port}", flush=True)
    return f"postgres://postgres@127.0.0.1:{port}/exchange_edu", stop


def start_redis(workdir: Path) -> tuple[str, callable]:
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceError("redis-server not found (run scripts/install_system_deps.sh)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    wait_for_port(port, "Redis")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[2]
    print(f"[services] Redis {version} on 127.0.0.1:{port}", flush=True)
    return f"redis://127.0.0.1:{port}/0", stop


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="exchange-edu-services-"))
    stops = []
    try:
        try:
            db_url, stop = start_postgres(workdir)
            stops.append(stop)
            broker_url, stop = start_redis(workdir)
            stops.append(stop)
        except (ServiceError, subprocess.CalledProcessError, OSError) as exc:
            print(f"[services] FAILED to start a test service: {exc}", file=sys.stderr)
            log = workdir / "pg.log"
            if log.exists():
                print(log.read_text()[-2000:], file=sys.stderr)
            return 3
        env = dict(os.environ, DATABASE_URL=db_url, CELERY_BROKER_URL=broker_url,
                   INTEGRATION_SERVICES="1")
        return subprocess.call(argv, env=env)
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
