"""Talking to PostgreSQL from the harness: psql for scripts, databases copied from templates."""

import os
import signal
import subprocess
import time
from urllib.parse import urlsplit

BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/engage_bench")
_parts = urlsplit(BASE_URL)
PREFIX = _parts.path.lstrip("/") or "engage_bench"


def url(db: str) -> str:
    return _parts._replace(path=f"/{db}").geturl()


def psql(sql: str, db: str = "postgres", *, quiet: bool = True) -> str:
    args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-h", _parts.hostname or "127.0.0.1",
            "-p", str(_parts.port or 5432), "-U", _parts.username or "postgres", "-d", db]
    result = subprocess.run(args, input=sql, capture_output=True, text=True, env={**os.environ,
                            "PGPASSWORD": _parts.password or ""})
    if result.returncode:
        raise RuntimeError(f"psql failed on {db}:\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def timed_psql(sql: str, db: str) -> float:
    started = time.perf_counter()
    psql(sql, db)
    return time.perf_counter() - started


def exists(db: str) -> bool:
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'") == "1"


def drop(db: str) -> None:
    psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


MARKER = "bench_marker"  # a table in every database the harness made (copies inherit it)


def refuse_real_database(db: str) -> None:
    """Stop when `db` exists, holds accounts and was not made by the harness."""
    if not exists(db):
        return
    has_accounts = psql("SELECT to_regclass('accounts_account') IS NOT NULL", db) == "t"
    made_here = psql(f"SELECT to_regclass('{MARKER}') IS NOT NULL", db) == "t"
    if has_accounts and not made_here:
        count = psql("SELECT count(*) FROM accounts_account", db)
        if count != "0":
            raise SystemExit(f"{db} holds {count} accounts and was not made by the benchmark: refusing to touch it. "
                             "Point BENCH_DATABASE_URL at a database of its own.")


def copy(template: str, db: str) -> str:
    refuse_real_database(db)
    drop(db)
    psql(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    return db


def stop_group(process, timeout: float = 30) -> None:
    """Stop a process started in its own session (gunicorn, a Celery worker) and its children: SIGTERM, then
    SIGKILL after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
