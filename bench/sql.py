"""Talking to PostgreSQL from the harness: psql for scripts, databases copied from templates."""

import os
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


def copy(template: str, db: str) -> str:
    drop(db)
    psql(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    return db
