"""The scheduled path with a real Celery worker and Redis: a pending row is applied by the worker."""

import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.engine import account_change_status
from accounts.models import StatusChange
from accounts.tasks import apply_due_status_changes_task
from engage.celery import app

from .factories import make_account, reason, status_type

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def worker():
    queue = f"engage-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "engage", "worker", "--pool=solo", "-Q", queue, "--loglevel=warning"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        process.terminate()
        process.wait(20)


def test_a_worker_applies_the_due_change(worker):
    account = make_account(bill_day=15)
    account_change_status(
        account_id=account.pk,
        to_type=status_type("Suspended"),
        reason=reason("Non-payment"),
        option="specific_date",
        effective_date=date(2031, 3, 5),
        on=date(2031, 3, 1),
    )
    apply_due_status_changes_task.apply_async(args=["2031-03-05"], queue=worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if StatusChange.objects.filter(account=account, state="applied").exists():
            break
        time.sleep(0.5)
    change = StatusChange.objects.get(account=account)
    assert change.state == "applied" and change.executed_by is None
    assert change.account.status_type.name == "Suspended"
