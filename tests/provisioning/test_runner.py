from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from provisioning.backends import ledger
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.runner import Outcome, backoff, run_account_jobs

from .conftest import set_status

pytestmark = pytest.mark.django_db


def test_backoff_doubles_from_one_minute_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(30) == timedelta(hours=6)


def test_only_the_newest_target_is_applied_and_history_is_kept(make_account, fake_switch):
    account = make_account("Active")
    run_account_jobs(account.pk)
    assert fake_switch.sent(account.pk) == [(account.pk, "read"), (account.pk, "create")]

    first = set_status(account, "Suspended")
    second = set_status(account, "Cancelled")
    third = set_status(account, "Suspended")
    result = run_account_jobs(account.pk)

    assert (result.outcome, result.job_id) == (Outcome.DONE, third.pk)
    # The cancelled target in between was never sent: no remove then create.
    assert fake_switch.sent(account.pk)[2:] == [(account.pk, "read"), (account.pk, "suspend")]
    states = dict(ProvisioningJob.objects.filter(account=account).values_list("id", "state"))
    assert [states[j.pk] for j in (first, second, third)] == [JobState.SUPERSEDED, JobState.SUPERSEDED, JobState.DONE]
    assert SwitchEntry.objects.get(account=account).state == "suspended"


def test_jobs_run_in_order_one_after_the_other(make_account, fake_switch):
    account = make_account("Active")
    run_account_jobs(account.pk)
    set_status(account, "Suspended")
    run_account_jobs(account.pk)
    set_status(account, "Active")
    run_account_jobs(account.pk)
    set_status(account, "Cancelled")
    run_account_jobs(account.pk)
    actions = [a for _, a in fake_switch.sent(account.pk) if a != "read"]
    assert actions == ["create", "suspend", "resume", "remove"]
    assert fake_switch.state(account.pk) == "absent"
    assert not SwitchEntry.objects.filter(account=account).exists()


def test_failure_backs_off_and_is_retried_when_due(make_account, fake_switch):
    account = make_account("Active")
    now = timezone.now()
    fake_switch.answer_next("500")

    result = run_account_jobs(account.pk, now=now)
    job = ProvisioningJob.objects.get(account=account)
    assert result.outcome == Outcome.FAILED
    assert (job.state, job.attempts, job.next_attempt_at) == (JobState.FAILED, 1, now + timedelta(minutes=1))
    assert job.last_error == "Webhook answered HTTP 500 Internal Server Error to read, with 'internal error'."

    # Not due yet: nothing is sent.
    sent = len(fake_switch.requests)
    assert run_account_jobs(account.pk, now=now + timedelta(seconds=30)).outcome == Outcome.IDLE
    assert len(fake_switch.requests) == sent
    job.refresh_from_db()
    assert job.attempts == 1

    fake_switch.answer_next("500")
    run_account_jobs(account.pk, now=now + timedelta(seconds=61))
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, 2)
    assert job.next_attempt_at == now + timedelta(seconds=61) + timedelta(minutes=2)

    result = run_account_jobs(account.pk, now=now + timedelta(minutes=4))
    job.refresh_from_db()
    assert result.outcome == Outcome.DONE
    assert (job.state, job.attempts) == (JobState.DONE, 3)
    assert job.last_error.startswith("Webhook answered HTTP 500")  # kept as history
    assert SwitchEntry.objects.get(account=account).state == "enabled"
    # Every attempt of the job carried the same idempotency key for the same step.
    read_keys = {r["key"] for r in fake_switch.requests if r["body"]["action"] == "read"}
    assert read_keys == {f"{job.idempotency_key}:read"}


def test_a_new_change_does_not_wait_for_an_old_jobs_backoff(make_account, fake_switch):
    account = make_account("Active")
    fake_switch.answer_next("500")
    run_account_jobs(account.pk)
    old = ProvisioningJob.objects.get(account=account)
    assert old.state == JobState.FAILED

    new = set_status(account, "Suspended")
    assert run_account_jobs(account.pk).outcome == Outcome.DONE
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == (JobState.SUPERSEDED, JobState.DONE)
    assert fake_switch.state(account.pk) == "suspended"  # created, then suspended, in one job
    assert [a for _, a in fake_switch.sent(account.pk)][-3:] == ["read", "create", "suspend"]


def test_a_half_done_job_resumes_from_what_the_switch_confirmed(make_account, fake_switch):
    account = make_account("Active")
    ProvisioningJob.objects.update(state=JobState.DONE)  # never ran: the switch has nothing
    job = set_status(account, "Suspended")  # absent → suspended takes two steps: create, suspend
    fake_switch.answer_next("ok", "ok", "500")  # read, create succeed; suspend fails
    run_account_jobs(account.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert SwitchEntry.objects.get(account=account).state == "enabled"  # the step that succeeded

    run_account_jobs(account.pk, now=timezone.now() + timedelta(minutes=2))
    assert [a for _, a in fake_switch.sent(account.pk)] == ["read", "create", "suspend", "read", "suspend"]
    assert fake_switch.actions[(account.pk, "create")] == 1
    assert SwitchEntry.objects.get(account=account).state == "suspended"


def test_a_crashing_backend_is_a_failed_job_not_a_crash(make_account, monkeypatch):
    account = make_account("Active")

    def crash(self, account, *, idempotency_key):
        raise KeyError("switch_port")

    monkeypatch.setattr(ledger.Backend, "create", crash)
    result = run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert result.outcome == Outcome.FAILED
    assert job.state == JobState.FAILED
    assert job.last_error == "Backend error (KeyError): 'switch_port'"


def test_a_database_error_in_the_backend_does_not_poison_the_job(make_account, monkeypatch):
    account = make_account("Active")

    def bad_sql(self, account, *, idempotency_key):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_switch_table")

    monkeypatch.setattr(ledger.Backend, "create", bad_sql)
    run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert "no_such_switch_table" in job.last_error


def test_an_unknown_backend_fails_the_job_with_the_reason(make_account, settings):
    account = make_account("Active")
    settings.ENGAGE_PROVISIONING_BACKEND = "radius"
    run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert job.state == JobState.FAILED
    assert "Unknown provisioning backend 'radius'; known backends: ledger, webhook." in job.last_error


def test_nothing_to_do_is_idle(make_account):
    account = make_account("Active")
    assert run_account_jobs(account.pk).outcome == Outcome.DONE
    assert run_account_jobs(account.pk).outcome == Outcome.IDLE
    assert ProvisioningJob.objects.get(account=account).attempts == 1
