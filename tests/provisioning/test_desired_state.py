import pytest

from accounts.models import Account
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import drifted_accounts
from provisioning.runner import run_account_jobs
from statuses.rules import BackendStatus, switch_state

from .conftest import set_status

pytestmark = pytest.mark.django_db

# SPEC §7, written out here rather than derived from the code under test.
EXPECTED = {
    BackendStatus.ACTIVE: "enabled",
    BackendStatus.SUSPENDED: "suspended",
    BackendStatus.CANCELLED: "absent",
    BackendStatus.PROSPECT: "absent",
}
TYPE_OF = {"active": "Active", "suspended": "Suspended", "cancelled": "Cancelled", "prospect": "Prospect"}


@pytest.mark.parametrize("backend_status", list(BackendStatus))
def test_truth_table_gives_the_desired_switch_state(backend_status):
    assert switch_state(backend_status) == EXPECTED[backend_status]


@pytest.mark.parametrize("status", ["Active", "Suspended", "Cancelled"])
def test_a_provisioned_account_ends_in_its_status_desired_state(make_account, status):
    expected = EXPECTED[status.lower()]
    start = "Suspended" if status == "Active" else "Active"  # the engine refuses a change to the same type
    account = make_account(start)
    run_account_jobs(account.pk)
    assert SwitchEntry.objects.get(account=account).state == EXPECTED[start.lower()]

    job = set_status(account, status)
    run_account_jobs(account.pk)

    job.refresh_from_db()
    assert job.state == JobState.DONE
    entry = SwitchEntry.objects.filter(account=account).first()
    if expected == "absent":
        assert entry is None  # cancelled: removed from the switch, configuration and all
    else:
        assert entry.state == expected


def test_suspended_account_keeps_its_entry_and_comes_back_enabled(make_account):
    account = make_account("Active")
    run_account_jobs(account.pk)
    set_status(account, "Suspended")
    run_account_jobs(account.pk)
    assert SwitchEntry.objects.get(account=account).state == "suspended"
    set_status(account, "Active")
    run_account_jobs(account.pk)
    assert SwitchEntry.objects.get(account=account).state == "enabled"


def test_prospect_is_never_provisioned(make_account):
    account = make_account("Prospect")
    job = ProvisioningJob.objects.get(account=account)
    assert job.target == "absent"
    run_account_jobs(account.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert not SwitchEntry.objects.filter(account=account).exists()


def test_the_sql_desired_state_agrees_with_the_truth_table(make_account):
    accounts = {name: make_account(name) for name in TYPE_OF.values()}
    desired = dict(
        drifted_accounts().filter(pk__in=[a.pk for a in accounts.values()])
        .values_list("pk", "desired")
    )
    # No switch entries yet: enabled and suspended differ from absent; cancelled and prospect do not.
    # Jobs are open (account_create wrote them), so nothing counts as drift until they are closed.
    assert desired == {}
    ProvisioningJob.objects.update(state=JobState.DONE)
    desired = dict(drifted_accounts().values_list("pk", "desired"))
    assert desired == {accounts["Active"].pk: "enabled", accounts["Suspended"].pk: "suspended"}
    assert Account.objects.count() == 4
