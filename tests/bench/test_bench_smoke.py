"""`make bench` at a small size (PostgreSQL): the harness builds its data set, runs every step, writes its
JSON with a ratio for each work, and the app wrote exactly the rows its SQL floor wrote (same checksums)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def test_the_harness_measures_every_step_and_the_app_writes_what_its_floor_writes(tmp_path):
    base = database_url().rsplit("/", 1)[0]
    env = {**os.environ, "BENCH_ACCOUNTS": "400", "BENCH_DATABASE_URL": f"{base}/engage_bench_smoke",
           "BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["accounts"] == 400
    for key in ("billing_ratio", "status_changes_ratio", "bulk_change_ratio", "provisioning_ratio", "sidebar_ratio",
                "list_ratio", "overview_ratio", "statistics_ratio"):
        assert isinstance(result[key], int | float) and result[key] > 0, key
    for work in ("billing", "status_changes", "bulk_change", "provisioning"):
        assert result[work]["check"] == {"same_rows": True, "differ": []}, (work, result[work])
    assert result["status_changes"]["counts"]["applied"] == result["status_changes"]["changes"] == 140
    assert result["bulk_change"]["applied"] == 140 and result["provisioning"]["done"] == 140
    assert "billing pass" in done.stdout and "page list" in done.stdout
