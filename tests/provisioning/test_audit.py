"""The switch audit: the real switch is read for every account and what differs is repaired; drift is
counted in scheduler health."""

import pytest
from django.core.management import call_command

from engage.models import PassRun
from provisioning.audit import switch_audit
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import provisioning_pass
from reporting.health import scheduler_health

pytestmark = pytest.mark.django_db


def settled(make_account, n, status="Active"):
    accounts = [make_account(status) for _ in range(n)]
    provisioning_pass()
    assert not ProvisioningJob.objects.filter(state__in=["pending", "failed"]).exists()
    return accounts


def audit_warning():
    return [w for w in scheduler_health().warnings if w.startswith("Switch audit")]


def test_ledger_drift_is_found_repaired_and_shown_until_an_audit_finds_none(make_account):
    accounts = settled(make_account, 4)
    SwitchEntry.objects.filter(account=accounts[1]).delete()  # someone removed it on the switch
    SwitchEntry.objects.filter(account=accounts[2]).update(state="suspended")

    summary = switch_audit(chunk_size=2)
    assert (summary.checked, summary.drifted, summary.unreadable) == (4, 2, 0)
    run = PassRun.objects.get(name="switch_audit")
    assert (run.processed, run.found, run.succeeded) == (4, 2, True)
    assert audit_warning() == [
        "Switch audit: 2 accounts were not in their desired state on the switch; jobs were written to repair them"
    ]
    provisioning_pass()
    assert set(SwitchEntry.objects.values_list("state", flat=True)) == {"enabled"}
    assert SwitchEntry.objects.count() == 4
    assert switch_audit().drifted == 0
    assert audit_warning() == []


def test_an_account_changed_on_the_webhook_switch_is_found_only_by_the_audit(make_account, fake_switch):
    accounts = settled(make_account, 3)
    assert all(fake_switch.state(a.pk) == "enabled" for a in accounts)
    fake_switch.states[accounts[0].pk] = "suspended"  # changed on the switch behind Engage's back
    fake_switch.states.pop(accounts[1].pk)

    before = len(fake_switch.requests)
    assert provisioning_pass().drift_jobs == 0  # Engage's own record still says enabled
    assert len(fake_switch.requests) == before

    summary = switch_audit()
    assert (summary.checked, summary.drifted, summary.recorded) == (3, 2, 2)
    assert dict(SwitchEntry.objects.values_list("account_id", "state")) == {
        accounts[0].pk: "suspended", accounts[2].pk: "enabled"
    }
    provisioning_pass()
    assert [fake_switch.state(a.pk) for a in accounts] == ["enabled"] * 3
    assert fake_switch.actions[(accounts[0].pk, "resume")] == 1
    assert fake_switch.actions[(accounts[1].pk, "create")] == 2  # at first, and after the removal
    assert switch_audit().drifted == 0


def test_an_unreadable_switch_is_counted_and_writes_nothing(make_account, fake_switch):
    settled(make_account, 2)
    fake_switch.answer_next("500", "500")
    summary = switch_audit()
    assert (summary.checked, summary.unreadable, summary.drifted) == (0, 2, 0)
    run = PassRun.objects.get(name="switch_audit")
    assert (run.succeeded, run.failed) == (False, 2)
    assert "HTTP 500" in run.detail
    assert not ProvisioningJob.objects.filter(state="pending").exists()


def test_the_command_runs_the_audit(make_account, capsys):
    settled(make_account, 2)
    call_command("audit_switch")
    out = capsys.readouterr().out
    assert "Switch audit (every account read from the switch; what differs is repaired) as of" in out
    assert PassRun.objects.filter(name="switch_audit", succeeded=True).count() == 1


def test_accounts_being_provisioned_are_left_to_their_job(make_account):
    accounts = settled(make_account, 2)
    ProvisioningJob.objects.create(account=accounts[0], target="enabled", state=JobState.PENDING)
    SwitchEntry.objects.filter(account=accounts[0]).delete()
    assert switch_audit().checked == 1


def test_one_drifted_account_is_said_in_the_singular(make_account):
    accounts = settled(make_account, 2)
    SwitchEntry.objects.filter(account=accounts[0]).delete()
    switch_audit()
    assert audit_warning() == [
        "Switch audit: 1 account was not in its desired state on the switch; a job was written to repair it"
    ]
