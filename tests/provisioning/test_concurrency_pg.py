"""Two provisioning passes at once, on real PostgreSQL with real threads (SPEC §6: safe to run twice)."""

import threading
from collections import Counter

import pytest
from django.db import transaction

from accounts.models import Account
from provisioning import services
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import provisioning_pass
from provisioning.runner import Outcome, run_account_jobs
from tests.concurrency import all_succeed

from .conftest import status_type

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_passes_at_once_give_each_account_one_job_and_one_run(make_account, fake_switch):
    # Created with the webhook backend: the commit runs each creation job (eager Celery) → enabled.
    accounts = [make_account("Active") for _ in range(40)]
    assert all(fake_switch.state(a.pk) == "enabled" for a in accounts)
    suspended, cancelled = accounts[:15], accounts[15:30]
    Account.objects.filter(pk__in=[a.pk for a in suspended]).update(status_type=status_type("Suspended"))
    Account.objects.filter(pk__in=[a.pk for a in cancelled]).update(status_type=status_type("Cancelled"))
    last_job = ProvisioningJob.objects.order_by("-id").values_list("id", flat=True).first()
    actions_before = Counter(fake_switch.actions)

    first, second = all_succeed(lambda: provisioning_pass(chunk_size=4), lambda: provisioning_pass(chunk_size=4))

    new_jobs = ProvisioningJob.objects.filter(id__gt=last_job)
    per_account = Counter(new_jobs.values_list("account_id", flat=True))
    drifted = {a.pk for a in suspended + cancelled}
    assert set(per_account) == drifted
    assert set(per_account.values()) == {1}  # never two jobs for one account
    assert set(new_jobs.values_list("state", flat=True)) == {JobState.DONE}
    assert first.drift_jobs + second.drift_jobs == 30
    assert first.done + second.done == 30
    assert first.failed == second.failed == 0

    # The switch got exactly one action per drifted account, and the right one.
    sent = fake_switch.actions - actions_before
    assert sent == Counter({(a.pk, "suspend"): 1 for a in suspended} | {(a.pk, "remove"): 1 for a in cancelled})
    states = dict(SwitchEntry.objects.values_list("account_id", "state"))
    assert all(states[a.pk] == "suspended" for a in suspended)
    assert all(a.pk not in states for a in cancelled)
    assert all(states[a.pk] == "enabled" for a in accounts[30:])


def test_an_account_whose_jobs_another_worker_holds_is_left_to_it(make_account, request):
    account = make_account("Active")  # provisioned on commit
    Account.objects.filter(pk=account.pk).update(status_type=status_type("Suspended"))
    request.getfixturevalue("broker_down")  # the hand-over is refused: the new job stays pending
    job = services.request_provisioning([account.pk])[0]
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            list(ProvisioningJob.objects.select_for_update().filter(pk=job.pk))
            holding.set()
            release.wait(10)

    def this_worker():
        holding.wait(10)
        try:
            return run_account_jobs(account.pk)
        finally:
            release.set()

    _, result = all_succeed(other_worker, this_worker)
    assert result.outcome == Outcome.BUSY
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.PENDING, 0)
    assert run_account_jobs(account.pk).outcome == Outcome.DONE
    assert SwitchEntry.objects.get(account=account).state == "suspended"
