from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from engage.models import PassRun
from provisioning import passes
from provisioning.backends.ledger import Backend as LedgerBackend
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import create_drift_jobs, provisioning_pass
from provisioning.runner import run_account_jobs
from provisioning.tasks import provisioning_pass_task

from .conftest import status_type

pytestmark = pytest.mark.django_db


def provisioned(make_account, n, status="Active"):
    accounts = [make_account(status) for _ in range(n)]
    for account in accounts:
        run_account_jobs(account.pk)
    return accounts


def drift(accounts, status):
    """A status change that wrote no job (a bug, a restore, a manual SQL fix): only the pass notices."""
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(status_type=status_type(status))


def switch_states():
    return dict(SwitchEntry.objects.values_list("account_id", "state"))


def test_the_pass_repairs_drift(make_account):
    accounts = provisioned(make_account, 6)
    drift(accounts[:2], "Suspended")
    drift(accounts[2:4], "Cancelled")
    SwitchEntry.objects.filter(account=accounts[4]).delete()  # someone removed it on the switch

    summary = provisioning_pass()

    assert (summary.drift_jobs, summary.done, summary.failed) == (5, 5, 0)
    states = switch_states()
    assert [states.get(a.pk, "absent") for a in accounts] == [
        "suspended", "suspended", "absent", "absent", "enabled", "enabled"
    ]
    assert str(summary) == "5 jobs created for drift, 5 accounts provisioned, 0 failed."


def test_a_second_pass_finds_nothing_to_do(make_account):
    accounts = provisioned(make_account, 3)
    drift(accounts, "Suspended")
    provisioning_pass()
    jobs = ProvisioningJob.objects.count()
    summary = provisioning_pass()
    assert (summary.drift_jobs, summary.done, summary.failed) == (0, 0, 0)
    assert ProvisioningJob.objects.count() == jobs


def test_the_pass_runs_pending_jobs_nobody_ran(make_account):
    account = make_account("Active")  # its creation job was never run (lost task)
    summary = provisioning_pass()
    assert (summary.drift_jobs, summary.done) == (0, 1)
    assert switch_states() == {account.pk: "enabled"}


def test_an_account_with_an_open_job_gets_no_second_job(make_account, settings):
    account = make_account("Active")
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = ""  # every attempt fails
    now = timezone.now()
    run_account_jobs(account.pk, now=now)
    job = ProvisioningJob.objects.get(account=account)
    assert job.state == JobState.FAILED

    summary = provisioning_pass(now=now + timedelta(seconds=30))  # drift, but the failed job is open
    assert (summary.drift_jobs, summary.done, summary.failed) == (0, 0, 0)
    assert ProvisioningJob.objects.filter(account=account).count() == 1


def test_the_pass_retries_failed_jobs_when_due(make_account, settings):
    account = make_account("Active")
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = ""
    now = timezone.now()
    run_account_jobs(account.pk, now=now)
    job = ProvisioningJob.objects.get(account=account)
    assert job.last_error == "ENGAGE_WEBHOOK_URL is not set, so the webhook backend cannot send anything."

    settings.ENGAGE_PROVISIONING_BACKEND = "ledger"
    summary = provisioning_pass(now=now + timedelta(seconds=59))
    assert summary.done == 0
    summary = provisioning_pass(now=now + timedelta(seconds=60))
    assert summary.done == 1
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    assert switch_states() == {account.pk: "enabled"}


def test_drift_detection_costs_the_same_queries_for_3_or_30_accounts(make_account):
    def queries_for(n):
        accounts = provisioned(make_account, n)
        drift(accounts, "Suspended")
        with CaptureQueriesContext(connection) as ctx:
            created = create_drift_jobs()
        assert created == n
        ProvisioningJob.objects.update(state=JobState.DONE)
        SwitchEntry.objects.filter(account__in=accounts).update(state="suspended")
        return len(ctx.captured_queries)

    assert queries_for(3) == queries_for(30)


def test_drift_is_found_chunk_by_chunk(make_account):
    accounts = provisioned(make_account, 7)
    drift(accounts[1:6], "Cancelled")
    assert create_drift_jobs(chunk_size=2) == 5
    pending = ProvisioningJob.objects.filter(state=JobState.PENDING).values_list("account_id", flat=True)
    assert sorted(pending) == sorted(a.pk for a in accounts[1:6])
    summary = provisioning_pass(chunk_size=2)
    assert summary.done == 5
    assert set(switch_states()) == {accounts[0].pk, accounts[6].pk}


def test_one_bad_account_does_not_stop_the_pass(make_account, monkeypatch):
    first, second = make_account("Active"), make_account("Active")
    real = passes.run_account_jobs

    def flaky(account_id, **kwargs):
        if account_id == first.pk:
            raise RuntimeError("database hiccup")
        return real(account_id, **kwargs)

    def chunk_fails(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(passes, "run_jobs_batch", chunk_fails)  # the chunk fails together: one by one then
    monkeypatch.setattr(passes, "run_account_jobs", flaky)
    summary = provisioning_pass(as_of=date(2025, 3, 1))
    assert (summary.done, summary.failed) == (1, 1)
    assert switch_states() == {second.pk: "enabled"}
    run = PassRun.objects.get(name="provisioning")
    assert run.as_of == date(2025, 3, 1)
    assert (run.succeeded, run.processed, run.failed) == (False, 1, 1)
    assert run.detail == (
        "0 jobs created for drift, 1 account provisioned, 1 failed.\n"
        f"account {first.pk}: RuntimeError: database hiccup"
    )


def test_a_clean_pass_is_recorded_as_succeeded(make_account):
    make_account("Active")
    provisioning_pass(as_of=date(2025, 3, 1))
    run = PassRun.objects.get(name="provisioning")
    assert (run.succeeded, run.processed, run.failed) == (True, 1, 0)
    assert run.finished_at is not None


def test_management_command_runs_the_pass_and_prints_a_summary(make_account, capsys):
    accounts = provisioned(make_account, 2)
    drift(accounts[:1], "Suspended")
    call_command("run_provisioning_pass", "--date", "2025-03-01")
    out = capsys.readouterr().out
    assert "Provisioning pass as of 2025-03-01: 1 job created for drift, 1 account provisioned, 0 failed." in out
    assert switch_states()[accounts[0].pk] == "suspended"
    assert PassRun.objects.get(name="provisioning").as_of == date(2025, 3, 1)


def test_management_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match=r"--date must be a date \(YYYY-MM-DD\)"):
        call_command("run_provisioning_pass", "--date", "01/03/2025")


def test_the_beat_task_runs_the_pass(make_account):
    account = make_account("Active")
    provisioning_pass_task.delay()
    provisioning_pass_task.delay("2025-03-01")
    assert switch_states() == {account.pk: "enabled"}
    assert sorted(PassRun.objects.values_list("as_of", flat=True))[0] == date(2025, 3, 1)
    assert PassRun.objects.filter(name="provisioning").count() == 2


def test_the_pass_runs_a_chunk_of_changed_accounts_in_the_same_number_of_queries(make_account):
    """The ledger batches: claiming, applying and recording a chunk are a few statements whatever its size."""
    counts = []
    for n in (5, 40):
        accounts = provisioned(make_account, n)
        drift(accounts, "Suspended")
        create_drift_jobs()
        # One older job each, superseded by the newest: only the newest target is applied.
        ProvisioningJob.objects.bulk_create([ProvisioningJob(account_id=a.pk, target="absent") for a in accounts])
        ProvisioningJob.objects.bulk_create([ProvisioningJob(account_id=a.pk, target="suspended") for a in accounts])
        with CaptureQueriesContext(connection) as queries:
            summary = provisioning_pass(as_of=date(2025, 3, 1))
        counts.append(len(queries))
        assert summary.done == n and summary.failed == 0
        assert {switch_states()[a.pk] for a in accounts} == {"suspended"}
        jobs = ProvisioningJob.objects.filter(account__in=accounts)
        assert not jobs.filter(state__in=["pending", "failed"]).exists()
        assert jobs.filter(state="superseded").count() == 2 * n
        assert jobs.filter(target="suspended", state="done").count() == n
    assert counts[0] == counts[1], counts


class _RemoteBatches(LedgerBackend):
    """A batching backend outside Engage's database: its chunk is leased and committed before it is called."""

    in_database = False
    seen_leases: list = []
    fail = False

    def apply_targets(self, targets):
        # Called after the claim's transaction: the jobs it is called for are leased.
        self.seen_leases.append(set(ProvisioningJob.objects.filter(account_id__in=targets, leased_until__isnull=False)
                                    .values_list("account_id", flat=True)))
        if self.fail:
            raise RuntimeError("switch unreachable")
        return super().apply_targets(targets)


def test_a_batching_backend_outside_the_database_is_called_with_the_chunk_leased(make_account, monkeypatch):
    accounts = provisioned(make_account, 3)
    drift(accounts, "Suspended")
    backend = _RemoteBatches()
    monkeypatch.setattr(passes, "get_backend", lambda: backend)
    summary = provisioning_pass(as_of=date(2025, 3, 1))
    assert (summary.drift_jobs, summary.done, summary.failed) == (3, 3, 0)
    assert backend.seen_leases == [{a.pk for a in accounts}]
    assert {switch_states()[a.pk] for a in accounts} == {"suspended"}
    jobs = ProvisioningJob.objects.filter(account__in=accounts, target="suspended")
    assert set(jobs.values_list("state", "attempts", "leased_until")) == {("done", 1, None)}


def test_a_chunk_the_remote_backend_refuses_fails_each_job_with_its_back_off(make_account, monkeypatch):
    accounts = provisioned(make_account, 2)
    drift(accounts, "Suspended")
    backend = _RemoteBatches()
    backend.fail, backend.seen_leases = True, []
    monkeypatch.setattr(passes, "get_backend", lambda: backend)
    now = timezone.now()
    summary = provisioning_pass(as_of=date(2025, 3, 1), now=now)
    assert (summary.done, summary.failed) == (0, 2)
    jobs = ProvisioningJob.objects.filter(account__in=accounts, target="suspended")
    rows = set(jobs.values_list("state", "attempts", "last_error", "next_attempt_at", "leased_until"))
    assert rows == {("failed", 1, "Backend error (RuntimeError): switch unreachable", now + timedelta(minutes=1), None)}
    assert {switch_states()[a.pk] for a in accounts} == {"enabled"}  # nothing changed on the switch
