import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from accounts.services import account_create
from engage.errors import DomainError
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import provisioning_pass
from provisioning.services import request_provisioning
from statuses.models import AccountStatusType
from statuses.rules import BackendStatus
from statuses.signals import backend_status_changed

from .conftest import status_type

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_account_create_writes_a_job_in_its_transaction():
    account = account_create(name="Ann", email="ann@example.com", bill_day=3)
    job = ProvisioningJob.objects.get(account=account)
    assert (job.target, job.state, job.attempts) == ("enabled", JobState.PENDING, 0)


def test_a_rolled_back_change_leaves_no_job(make_account):
    account = make_account("Active")
    ProvisioningJob.objects.update(state=JobState.DONE)
    with pytest.raises(Boom), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(status_type=status_type("Suspended"))
        request_provisioning([account.pk])
        assert ProvisioningJob.objects.filter(account=account, target="suspended").count() == 1
        raise Boom
    assert not ProvisioningJob.objects.filter(account=account, target="suspended").exists()


def test_a_refused_account_creation_leaves_no_job_and_runs_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError):
        account_create(name="Bad", email="bad@example.com", bill_day=31)
    assert callbacks == []
    assert not ProvisioningJob.objects.exists()
    assert not SwitchEntry.objects.exists()


def test_on_commit_the_worker_runs_the_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account = account_create(name="Ann", email="ann@example.com", bill_day=3)
    assert ProvisioningJob.objects.get(account=account).state == JobState.DONE
    assert SwitchEntry.objects.get(account=account).state == "enabled"


def test_broker_down_keeps_the_job_for_the_pass(django_capture_on_commit_callbacks, broker_down):
    with django_capture_on_commit_callbacks(execute=True):
        account = account_create(name="Ann", email="ann@example.com", bill_day=3)  # no exception
    assert ProvisioningJob.objects.get(account=account).state == JobState.PENDING
    provisioning_pass()
    assert ProvisioningJob.objects.get(account=account).state == JobState.DONE
    assert SwitchEntry.objects.get(account=account).state == "enabled"


def _gold_type(n_accounts, make_account):
    gold = AccountStatusType.objects.create(name="Gold", backend_status=BackendStatus.ACTIVE)
    accounts = [make_account("Active") for _ in range(n_accounts)]
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(status_type=gold)
    other = make_account("Active")  # another type: untouched
    ProvisioningJob.objects.update(state=JobState.DONE)
    return gold, accounts, other


def test_a_type_edit_writes_jobs_for_all_its_accounts_in_one_insert(make_account, django_capture_on_commit_callbacks):
    gold, accounts, other = _gold_type(5, make_account)
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            AccountStatusType.objects.filter(pk=gold.pk).update(backend_status=BackendStatus.SUSPENDED)
            backend_status_changed.send(
                sender=AccountStatusType, status_type=gold, old=BackendStatus.ACTIVE, new=BackendStatus.SUSPENDED
            )
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    jobs = ProvisioningJob.objects.filter(state=JobState.PENDING)
    assert sorted(jobs.values_list("account_id", flat=True)) == sorted(a.pk for a in accounts)
    assert set(jobs.values_list("target", flat=True)) == {"suspended"}
    keys = [job.idempotency_key for job in jobs]
    assert all(isinstance(k, uuid.UUID) for k in keys) and len(set(keys)) == 5
    assert all(job.created_at is not None for job in jobs)
    assert len(callbacks) == 1  # one provisioning pass queued on commit, not one task per account


def test_a_type_edit_through_the_setup_service_is_followed_by_the_switch(
    make_account, django_capture_on_commit_callbacks
):
    from statuses.services import status_type_update

    gold, accounts, other = _gold_type(3, make_account)
    with django_capture_on_commit_callbacks(execute=True):
        status_type_update(gold, backend_status=BackendStatus.SUSPENDED)
    states = dict(SwitchEntry.objects.values_list("account_id", "state"))
    assert all(states[a.pk] == "suspended" for a in accounts)
    assert states[other.pk] == "enabled"


def test_a_rolled_back_type_edit_leaves_no_job(make_account):
    gold, accounts, other = _gold_type(3, make_account)
    with pytest.raises(Boom), transaction.atomic():
        backend_status_changed.send(
            sender=AccountStatusType, status_type=gold, old=BackendStatus.ACTIVE, new=BackendStatus.CANCELLED
        )
        assert ProvisioningJob.objects.filter(state=JobState.PENDING).count() == 3
        raise Boom
    assert not ProvisioningJob.objects.filter(state=JobState.PENDING).exists()


def test_a_type_edit_that_keeps_the_switch_state_writes_nothing(make_account):
    gold = AccountStatusType.objects.create(name="Former", backend_status=BackendStatus.CANCELLED)
    account = make_account("Active")
    Account.objects.filter(pk=account.pk).update(status_type=gold)
    ProvisioningJob.objects.update(state=JobState.DONE)
    backend_status_changed.send(
        sender=AccountStatusType, status_type=gold, old=BackendStatus.CANCELLED, new=BackendStatus.PROSPECT
    )
    assert not ProvisioningJob.objects.filter(state=JobState.PENDING).exists()
