"""Step 5: the status-change API under 8 concurrent clients for 30 s: gunicorn serving the app on a copy of
the data set, locust headless (bench/locustfile.py) posting status changes; requests/s, p50/p95, errors."""

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .dataset import ROOT, django_env
from .sql import stop_group

BIN = Path(os.environ.get("BENCH_BIN", Path(sys.executable).parent))  # the venv running the harness
USERS = 8
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "30"))
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start listening within a minute")


def _warm_up(port: int) -> None:
    """A few requests before the clock starts, so that no client waits on a worker's first request."""
    import urllib.request

    for _ in range(4 * GUNICORN_WORKERS):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=60) as response:
            response.read()


def run(db: str, setup: dict, workdir: Path) -> dict:
    if not (BIN / "locust").exists():
        return {"available": False, "why": "locust is not installed (make bench installs the `bench` group)"}
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "setup.json").write_text(json.dumps(setup))
    port = _free_port()
    # As in production: persistent database connections (DJANGO_ENV=production's default).
    env = {**django_env(db), "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "WARNING",
           "DATABASE_CONN_MAX_AGE": "600"}
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "engage.wsgi", "-w", str(GUNICORN_WORKERS), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "--preload"],
        cwd=ROOT, env=env, stdout=open(workdir / "gunicorn.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        _wait_until_up(port, server)
        _warm_up(port)
        done = subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(USERS),
             "-r", str(USERS), "-t", f"{SECONDS}s", "--host", f"http://127.0.0.1:{port}", "--csv",
             str(workdir / "load"), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, "BENCH_LOAD_FILE": str(workdir / "setup.json")}, capture_output=True,
            text=True, timeout=SECONDS + 120)
    finally:
        stop_group(server, timeout=20)
    rows = {}
    stats = workdir / "load_stats.csv"
    if stats.exists():
        rows = {row["Name"]: row for row in csv.DictReader(stats.open())}
    total = rows.get("Aggregated")
    if total is None:
        return {"available": False, "why": f"locust wrote no statistics (exit {done.returncode}): "
                                           f"{done.stderr[-1500:]}"}
    failures = []
    failures_csv = workdir / "load_failures.csv"
    if failures_csv.exists():
        failures = [f"{row['Occurrences']}× {row['Error']}"[:300] for row in csv.DictReader(failures_csv.open())]
    return {"available": True, "clients": USERS, "seconds": SECONDS, "gunicorn_workers": GUNICORN_WORKERS,
            "requests": int(total["Request Count"]), "errors": int(total["Failure Count"]),
            "requests_per_second": round(float(total["Requests/s"]), 1), "p50_ms": float(total["50%"]),
            "p95_ms": float(total["95%"]), "error_kinds": failures[:5]}
