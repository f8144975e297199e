"""SPEC §6: "Background work that a request causes (provisioning jobs, status e-mails) is written as rows
in the same transaction and handed to Celery afterwards …; a relay on beat's schedule sends whatever was
not handed over. No e-mail and no job is ever lost; each is sent once."

The narrowest kill there is, made deterministic: a process applying a due change is SIGKILLed right
after the change's transaction commits and before anything is handed to the broker (the first on-commit
hook kills it). The provisioning job and the status e-mail are both rows (a ProvisioningJob, an
OutboxMessage of engage/outbox.py) committed with the change, so nothing is lost: everything on beat's
schedule runs — the provisioning pass runs the job, the relay `engage.outbox.relay` hands the e-mail
over — and the e-mail is sent exactly once, however often beat's tasks run again afterwards.

The relay leaves a message alone for HANDOVER_GRACE after it was written (its own after-commit hand-over
may still be on the way), so beat's tasks first run within that grace (nothing sent yet), then once the
message is older than the grace (simulated: its created_at is moved back), then again (nothing more).
"""

import importlib
import os
import signal
import subprocess
import sys
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db.models import F

from accounts.engine import account_change_status
from accounts.engine.notifications import EMAIL
from accounts.models import StatusChange
from engage.celery import app
from engage.models import OutboxMessage
from engage.outbox import HANDOVER_GRACE, deliver
from engage.schedule import schedule
from provisioning.models import SwitchEntry
from provisioning.passes import provisioning_pass
from tests.accounts.factories import make_account, reason, status_type

from .conftest import ROOT, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DUE = date(2031, 3, 5)

# Apply due changes, but die (SIGKILL) at the first hand-over to the broker: the provisioning job's, in the
# first on-commit hook (the engine registers it before the e-mail's). The change's transaction is committed by
# then. The kill is at Celery's own door (Task.apply_async), not inside the code under test.
KILLED_AFTER_COMMIT = """
import os, signal, sys
from datetime import date, timedelta

import django

django.setup()
from celery.app.task import Task


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


Task.apply_async = die
from accounts.passes import apply_due_status_changes

apply_due_status_changes(as_of=date.fromisoformat(sys.argv[1]))
print("not killed")
"""


def test_a_change_applied_by_a_worker_killed_right_after_commit_still_gets_its_e_mail():
    account = make_account(bill_day=1, email="killed@example.com")
    provisioning_pass()
    account_change_status(
        account_id=account.pk, to_type=status_type("Suspended"), reason=reason("Non-payment"),
        option="specific_date", effective_date=DUE, on=date(2031, 3, 1),
    )
    mail.outbox.clear()

    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "engage.settings"}
    process = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, DUE.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert process.returncode == -signal.SIGKILL, process.stdout + process.stderr
    change = StatusChange.objects.get(account=account)
    assert change.state == "applied"  # committed before the kill

    # The e-mail is a row committed with the change, never handed over.
    message = OutboxMessage.objects.get(kind=EMAIL, payload__change_id=change.pk)
    assert (message.handed_at, message.done_at, message.handovers) == (None, None, 0)

    def killed_mails():
        return [m for m in mail.outbox if "killed@example.com" in m.to]

    # Everything beat runs (the tasks run eagerly here, as a worker would run them): first within the
    # grace, where the relay leaves the message to its own hand-over (which died with the process) …
    assert app.conf.task_always_eager
    run_everything_on_beats_schedule()
    assert StatusChange.objects.get(account=account).state == "applied"
    assert SwitchEntry.objects.get(account=account).state == "suspended"  # the job was a row: not lost
    assert killed_mails() == []
    # … then a minute later, when the message is older than the grace: the relay sends it.
    older = HANDOVER_GRACE + timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=F("created_at") - older)
    run_everything_on_beats_schedule()
    message.refresh_from_db()
    assert message.done_at is not None and message.handovers == 1, message
    assert len(killed_mails()) == 1
    # Beat goes on, and a duplicate delivery of the message does nothing: still exactly one e-mail.
    run_everything_on_beats_schedule()
    run_everything_on_beats_schedule()
    assert deliver(message.pk) is False
    assert OutboxMessage.objects.get(pk=message.pk).handovers == 1
    # The control: a change applied by a process that lives gets its e-mail here.
    other = make_account(bill_day=1, email="control@example.com")
    account_change_status(account_id=other.pk, to_type=status_type("Suspended"), reason=reason("Non-payment"),
                          option="immediately_with_no_transaction", on=DUE)
    assert [m.to for m in mail.outbox if "control@example.com" in m.to] == [["control@example.com"]]
    sent = killed_mails()
    assert len(sent) == 1, f"status e-mails sent for the applied change: {len(sent)}"
    assert sent[0].subject.endswith("is now Suspended")


def run_everything_on_beats_schedule() -> None:
    """Each task of beat's schedule once, the outbox relay included."""
    assert "engage.outbox.relay" in {entry.task for entry in schedule()}
    for entry in schedule():
        importlib.import_module(entry.task.rsplit(".", 1)[0])
        # Not .get(): Celery's "a task is joining" flag is process-global, and eager tasks run in threads
        # by an earlier test (test_concurrent_status_changes) can leave it set; the result is enough.
        result = app.tasks[entry.task].apply()
        assert result.successful(), f"{entry.task}: {result.traceback}"
    provisioning_pass()
