"""`make bench` at a small size (PostgreSQL): the harness builds its data set, runs its steps (the load and
the Celery workers skipped: they take minutes), writes its JSON with a ratio for each work, and the app wrote
exactly the rows its SQL floor wrote (same checksums). With the engine broken on purpose (BENCH_BREAK) the
steps are wrong and the run fails. It also refuses a database it did not make."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def _bench_env(tmp_path, prefix: str, **extra) -> dict:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}_{prefix}"
    return {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_RESULTS": str(tmp_path), "BENCH_WORK": str(tmp_path),
            **extra}


def _psql(env, sql, db="postgres"):
    from urllib.parse import urlsplit

    parts = urlsplit(env["BENCH_DATABASE_URL"])
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", parts.hostname, "-p",
                           str(parts.port or 5432), "-U", parts.username, "-d", db, "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_harness_measures_each_step_and_the_app_writes_what_its_floor_writes(tmp_path):
    env = _bench_env(tmp_path, "bsmoke", BENCH_ACCOUNTS="2000", BENCH_SKIP="load,workers", BENCH_PAGE_REPEATS="2")
    done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["accounts"] == 2000
    for key in ("billing_ratio", "status_changes_ratio", "bulk_change_ratio", "provisioning_ratio", "collections_ratio",
                "sidebar_ratio", "list_ratio", "overview_ratio", "statistics_ratio"):
        assert isinstance(result[key], int | float) and result[key] > 0, key
    for work in ("billing", "status_changes", "bulk_change", "provisioning", "collections"):
        assert result[work]["check"] == {"same_rows": True, "differ": []}, (work, result[work])
    assert result["wrong"] == [] and " wrong" not in done.stdout
    assert result["status_changes"]["counts"]["applied"] == result["status_changes"]["changes"] == 700
    assert result["bulk_change"]["applied"] == 700 and result["provisioning"]["done"] == 700
    # 5 % of the accounts overdue 20 days: each suspended by the step at 14 days, the reminder at 7 passed over.
    collections = result["collections"]
    assert collections["overdue_accounts"] == collections["applied"] == collections["passed_over"] == 100
    assert result["pages_queries_constant"] is True
    assert result["load"] == result["workers"] == {"available": False, "why": "skipped (BENCH_SKIP)"}
    assert "billing pass" in done.stdout and "page list" in done.stdout and "collections pass" in done.stdout
    left = _psql(env, "SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_bsmoke\\_%'")
    assert left == "0"  # every database it made is dropped


def test_an_engine_that_skips_its_audit_emails_and_rollup_writes_wrong_rows_and_the_bench_fails(tmp_path):
    # BENCH_BREAK patches the engine's writer in the app's process: the floors still write those rows.
    env = _bench_env(tmp_path, "bbreak", BENCH_ACCOUNTS="2000", BENCH_ONLY="status_changes,bulk_change",
                     BENCH_BREAK="audit,email,rollup")
    done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text())  # still written, with the findings
    assert result["wrong"] == ["status_changes", "bulk_change"]
    for work in ("status_changes", "bulk_change"):
        assert result[work]["check"] == {"same_rows": False, "differ": ["audit", "outbox", "reason_rollup"]}, work
    rows = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
    for label in ("applying due changes", "bulk change"):
        assert " wrong " in rows[label] and " met " not in rows[label], rows[label]
    assert "wrong rows: status_changes, bulk_change" in done.stderr
    assert _psql(env, "SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_bbreak\\_%'") == "0"


def test_rows_that_differ_are_wrong_whatever_the_ratio():
    from bench import run

    check = {"same_rows": False, "differ": ["audit"]}
    out = {"billing": {"app_seconds": 1.0, "floor_seconds": 1.0, "check": {"same_rows": True, "differ": []}},
           "billing_ratio": 1.0,
           "status_changes": {"app_seconds": 1.0, "floor_seconds": 1.0, "check": check}, "status_changes_ratio": 1.0,
           "workers": {"one_worker_seconds": 2.0, "two_workers_seconds": 1.0,
                       "runs": [{"same_rows_as_floor": True}, {"same_rows_as_floor": False}]},
           "workers_speedup_ratio": 2.0}
    assert run.wrong(out) == ["status_changes", "workers"]
    lines = {line.split("  ")[0]: line for line in run.table(out).splitlines()}
    assert "≤ 1.5× met" in lines["billing pass"]
    assert "≤ 2.5× wrong" in lines["applying due changes"] and "False: audit" in lines["applying due changes"]
    assert "≥ 1.6× wrong" in lines["billing on Celery workers"]


def test_the_issue_targets_are_what_the_table_holds_the_api_and_the_workers_to():
    from bench import run

    out = {"billing": {"app_seconds": 1.6, "floor_seconds": 1.0, "check": {"same_rows": True, "differ": []}},
           "billing_ratio": 1.6,
           "load": {"available": True, "requests_per_second": 120.0, "p50_ms": 60.0, "p95_ms": 260.0, "errors": 0},
           "workers": {"one_worker_seconds": 3.0, "two_workers_seconds": 2.0,
                       "runs": [{"same_rows_as_floor": True}, {"same_rows_as_floor": True}]},
           "workers_speedup_ratio": 1.5}
    lines = {line.split("  ")[0]: line for line in run.table(out).splitlines()}
    assert "≤ 1.5× missed" in lines["billing pass"]
    assert "≥ 100/s, p95 < 250 ms, 0 errors missed" in lines["status-change API, 8 clients"]  # p95 260 ms
    assert "≥ 1.6× missed" in lines["billing on Celery workers"]
    out["load"]["p95_ms"], out["workers_speedup_ratio"] = 240.0, 1.6
    lines = {line.split("  ")[0]: line for line in run.table(out).splitlines()}
    assert "0 errors met" in lines["status-change API, 8 clients"]
    assert "≥ 1.6× met" in lines["billing on Celery workers"]


def test_a_database_it_did_not_make_is_refused_and_left_alone(tmp_path):
    env = _bench_env(tmp_path, "brefuse", BENCH_ACCOUNTS="2000")
    real = env["BENCH_DATABASE_URL"].rsplit("/", 1)[1] + "_full"
    _psql(env, f'DROP DATABASE IF EXISTS "{real}"')
    _psql(env, f'CREATE DATABASE "{real}"')
    try:
        _psql(env, "CREATE TABLE accounts_account (id int); INSERT INTO accounts_account VALUES (1)", db=real)
        done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode != 0
        assert f"{real} holds 1 accounts and was not made by the benchmark" in done.stderr
        assert _psql(env, "SELECT count(*) FROM accounts_account", db=real) == "1"
    finally:
        _psql(env, f'DROP DATABASE IF EXISTS "{real}" WITH (FORCE)')


def test_bench_only_runs_the_steps_it_names_and_what_they_stand_on(monkeypatch):
    from bench import run

    monkeypatch.setattr(run, "SKIP", {"load"})
    monkeypatch.setattr(run, "ONLY", {"collections", "load"})
    assert [step for step in run.STEPS if run.wanted(step)] == ["collections"]
    assert run.why_not("load") == "skipped (BENCH_SKIP)" and run.why_not("pages") == "skipped (not in BENCH_ONLY)"
    monkeypatch.setattr(run, "ONLY", {"provisioning"})
    assert [step for step in run.STEPS if run.wanted(step)] == ["status_changes", "provisioning"]
    monkeypatch.setattr(run, "ONLY", set())
    assert [step for step in run.STEPS if not run.wanted(step)] == ["load"]
