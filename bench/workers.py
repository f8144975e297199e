"""Step 6: the billing pass with 1 and with 2 Celery workers on copies of the data set. The harness starts
the worker (`celery -A engage worker -c N`) on a queue of its own, waits until it is ready, queues
`billing.tasks.billing_pass_task` there and times it until the pass's PassRun row (name "billing", the as-of
day) has finished_at set; the worker is stopped after each run."""

import os
import subprocess
import sys
import time
from pathlib import Path

from .dataset import ROOT, django_env
from .sql import PREFIX, stop_group

BIN = Path(os.environ.get("BENCH_BIN", Path(sys.executable).parent))  # the venv running the harness
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def env(db: str) -> dict:
    return {**django_env(db), "CELERY_BROKER_URL": REDIS_URL, "LOG_LEVEL": "WARNING"}


def _wait_ready(log: Path, worker: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {worker.returncode}:\n{log.read_text()[-2000:]}")
        if " ready." in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Celery worker was not ready within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def run(db: str, concurrency: int, as_of, app, workdir: Path) -> dict:
    """The pass on `db` with one worker process of `concurrency` children; `app` runs bench.app's steps."""
    workdir.mkdir(parents=True, exist_ok=True)
    queue = f"{PREFIX}_{os.getpid()}_{concurrency}"
    log = workdir / f"worker-{concurrency}.log"
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "engage", "worker", "-c", str(concurrency), "-Q", queue, "-n",
         f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT, env=env(db), stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(log, worker)
        result = app("pass_on_workers", db, as_of, queue, env=env(db))
    finally:
        stop_group(worker)
        _forget(queue)
    return {"workers": concurrency, **result}


def _forget(queue: str) -> None:
    """Drop what kombu left in Redis for the harness's queue."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")
    except Exception:  # nothing to clean, or Redis gone: not the benchmark's concern
        pass
