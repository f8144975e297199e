"""Scheduler health: each warning (late pass, overdue pending change, failed billing, failed
provisioning job), none when healthy, and where they show (the sidebar, the statistics page)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.engine import account_change_status
from accounts.models import Account
from billing.models import BillingFailure
from engage.models import PassRun
from engage.schedule import watched_passes
from provisioning.models import ProvisioningJob
from reporting.health import scheduler_health

from ..accounts.factories import make_account, reason, status_type

pytestmark = pytest.mark.django_db


def run(name, *, ago, succeeded=True, failed=0, now=None):
    """A finished PassRun that ended `ago` before now."""
    now = now or timezone.now()
    r = PassRun.objects.create(name=name, as_of=timezone.localdate(now), processed=1, failed=failed)
    PassRun.objects.filter(pk=r.pk).update(
        started_at=now - ago - timedelta(seconds=5), finished_at=now - ago, succeeded=succeeded
    )
    return r


def all_passes_recent(now=None):
    for sched in watched_passes():
        run(sched.name, ago=timedelta(minutes=1), now=now)


def warnings(now=None):
    return scheduler_health(now=now).warnings


def test_healthy_system_has_no_warning(support_client):
    make_account()
    all_passes_recent()
    assert warnings() == []
    response = support_client.get(reverse("reporting:statistics"))
    html = response.content.decode()
    assert 'data-testid="health-ok"' in html and 'data-testid="scheduler-warning"' not in html
    assert html.count('<span class="badge text-bg-success">OK</span>') == len(watched_passes())


def test_fresh_install_without_accounts_has_no_warning():
    assert warnings() == []


def test_a_pass_that_never_ran_is_reported_once_accounts_are_older_than_its_limit():
    make_account()
    now = timezone.now()
    Account.objects.update(created_at=now - timedelta(minutes=10))
    # Accounts for 10 minutes: only the every-minute pass is late so far.
    assert warnings(now) == ["Apply due status changes: has never run"]
    later = now + timedelta(hours=30)
    assert warnings(later) == [
        "Apply due status changes: has never run",
        "Billing pass: has never run",
        "Provisioning pass: has never run",
        "Switch audit: has never run",
        "Collections pass: has never run",
        "Statistics snapshot: has never run",
    ]


def test_a_just_created_account_gives_no_never_ran_warning():
    make_account()
    assert warnings() == []


@pytest.mark.parametrize(
    "name, ok_ago, late_ago, label",
    [
        ("apply_status_changes", timedelta(minutes=4), timedelta(minutes=6), "Apply due status changes"),
        ("provisioning", timedelta(minutes=14), timedelta(minutes=16), "Provisioning pass"),
        ("billing", timedelta(hours=25), timedelta(hours=27), "Billing pass"),
        ("collections", timedelta(hours=25), timedelta(hours=27), "Collections pass"),
        ("statistics_snapshot", timedelta(hours=25), timedelta(hours=27), "Statistics snapshot"),
        ("switch_audit", timedelta(hours=25), timedelta(hours=27), "Switch audit"),
    ],
)
def test_a_late_pass_is_reported_after_its_interval_plus_slack(name, ok_ago, late_ago, label):
    make_account()
    now = timezone.now()
    for sched in watched_passes():
        if sched.name != name:
            run(sched.name, ago=timedelta(minutes=1), now=now)
    on_time = run(name, ago=ok_ago, now=now)
    assert warnings(now) == []
    on_time.delete()
    run(name, ago=late_ago, now=now)
    late = "1 day, 3 hours" if late_ago > timedelta(hours=1) else f"{late_ago.seconds // 60} minutes"
    assert warnings(now) == [f"{label}: no successful run for {late}"]


def test_a_failing_pass_says_its_last_run_failed(support_client):
    make_account()
    now = timezone.now()
    all_passes_recent(now)
    PassRun.objects.filter(name="billing").delete()
    run("billing", ago=timedelta(hours=30), now=now)
    run("billing", ago=timedelta(hours=2), succeeded=False, failed=3, now=now)
    assert warnings(now) == ["Billing pass: no successful run for 1 day, 6 hours (last run failed)"]
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    row = re.search(r'data-testid="pass-billing">(.*?)</tr>', html, re.S).group(1)
    assert "failed (3 errors)" in row and "Late" in row


def test_overdue_pending_change_is_reported_and_listed(support_client):
    today = timezone.localdate()
    account = make_account(name="Overdue Customer")
    all_passes_recent()
    # Scheduled a week ago for three days ago; the scheduler never applied it.
    account_change_status(account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
                          effective_date=today - timedelta(days=3), reason=reason("Non-payment"),
                          on=today - timedelta(days=7))
    assert warnings() == ["1 pending status change is overdue"]
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    listed = re.search(r'data-testid="overdue-changes">(.*?)</table>', html, re.S).group(1)
    assert "Overdue Customer" in listed and (today - timedelta(days=3)).isoformat() in listed
    sidebar = re.search(r'data-testid="scheduler-warning">(.*?)</div>', html, re.S).group(1)
    assert "1 pending status change is overdue" in sidebar and 'href="/statistics/#health"' in sidebar


def test_a_change_due_today_is_not_overdue_yet():
    today = timezone.localdate()
    account = make_account()
    all_passes_recent()
    account_change_status(account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
                          effective_date=today, reason=reason("Non-payment"), on=today - timedelta(days=1))
    assert warnings() == []


def test_accounts_that_failed_the_last_billing_run_are_reported(support_client):
    now = timezone.now()
    a, b = make_account(name="Bad Billing"), make_account(name="Fixed Since")
    all_passes_recent(now)
    PassRun.objects.filter(name="billing").delete()
    run("billing", ago=timedelta(days=1, hours=1), now=now)
    old = BillingFailure.objects.create(account=b, as_of=timezone.localdate(now), error="old failure")
    BillingFailure.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=1, hours=2))
    run("billing", ago=timedelta(minutes=30), succeeded=False, failed=2, now=now)
    BillingFailure.objects.create(account=a, as_of=timezone.localdate(now), error="<b>no price</b>")
    BillingFailure.objects.create(account=a, as_of=timezone.localdate(now), error="again")
    BillingFailure.objects.create(account=b, as_of=timezone.localdate(now), error="resolved", resolved=True)
    # Only the latest run's unresolved failures count, per account.
    assert "1 account failed in the last billing run" in warnings(now)
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    listed = re.search(r'data-testid="billing-failures">(.*?)</table>', html, re.S).group(1)
    assert "Bad Billing" in listed and "Fixed Since" not in listed
    assert "&lt;b&gt;no price&lt;/b&gt;" in listed


def test_failed_provisioning_jobs_are_reported(support_client):
    account = make_account(name="<script>x</script> Switch")
    all_passes_recent()
    ProvisioningJob.objects.create(account=account, target="enabled", state="failed", attempts=3,
                                   last_error="switch timeout")
    ProvisioningJob.objects.create(account=account, target="enabled", state="done")
    assert warnings() == ["1 provisioning job failed (retrying)"]
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    listed = re.search(r'data-testid="failed-jobs">(.*?)</table>', html, re.S).group(1)
    assert "switch timeout" in listed and "&lt;script&gt;x&lt;/script&gt; Switch" in listed
    assert "<script>x" not in html


def test_backlog_counts_are_capped(monkeypatch):
    import reporting.health as health

    monkeypatch.setattr(health, "CAP", 2)
    account = make_account()
    all_passes_recent()
    ProvisioningJob.objects.bulk_create(
        [ProvisioningJob(account=account, target="enabled", state="failed") for _ in range(5)]
    )
    result = scheduler_health()
    assert result.failed_jobs == 3 and result.failed_jobs_label == "2+"
    assert result.warnings == ["2+ provisioning jobs failed (retrying)"]


def test_every_warning_together_in_the_sidebar(support_client):
    today = timezone.localdate()
    account = make_account()
    Account.objects.update(created_at=timezone.now() - timedelta(hours=1))
    account_change_status(account_id=account.pk, to_type=status_type("Cancelled"), option="specific_date",
                          effective_date=today - timedelta(days=1), reason=reason("Fraud"),
                          on=today - timedelta(days=2))
    BillingFailure.objects.create(account=account, as_of=today, error="x")
    ProvisioningJob.objects.create(account=account, target="enabled", state="failed")
    html = support_client.get(reverse("accounts:list")).content.decode()
    items = re.findall(r"<li>(.*?)</li>", re.search(r'data-testid="scheduler-warning">(.*?)</div>', html,
                                                   re.S).group(1))
    assert items == [
        "Apply due status changes: has never run",
        "Provisioning pass: has never run",
        "1 pending status change is overdue",
        "1 account failed in the last billing run",
        "1 provisioning job failed (retrying)",
    ]


def test_a_billing_failure_is_resolved_once_billing_the_account_works_again(support_client):
    from datetime import date

    from billing.services import bill_account

    now = timezone.now()
    account = make_account(name="Fixed By Hand", bill_day=1)
    all_passes_recent(now)
    run("billing", ago=timedelta(minutes=30), succeeded=False, failed=1, now=now)
    failure = BillingFailure.objects.create(account=account, as_of=timezone.localdate(now), error="no price")
    assert "1 account failed in the last billing run" in warnings(now)

    bill_account(account_id=account.pk, as_of=date(2031, 1, 1))  # Bill Account by hand now works

    failure.refresh_from_db()
    assert failure.resolved
    assert not any("failed in the last billing run" in w for w in warnings(now))
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    listed = re.search(r'data-testid="billing-failures">(.*?)</table>', html, re.S)
    assert listed is None or "Fixed By Hand" not in listed.group(1)


def killed_run(name, *, started_ago, heard_ago, processed, now):
    """A run whose worker was killed: never finished, last heartbeat `heard_ago`."""
    r = PassRun.objects.create(name=name, as_of=timezone.localdate(now), processed=processed)
    PassRun.objects.filter(pk=r.pk).update(started_at=now - started_ago, heartbeat_at=now - heard_ago)
    return r


def test_a_killed_pass_shows_as_interrupted_with_how_far_it_got(support_client):
    make_account()
    now = timezone.now()
    all_passes_recent(now)
    PassRun.objects.filter(name="billing").delete()
    run("billing", ago=timedelta(hours=20), now=now)  # yesterday's, fine
    killed_run("billing", started_ago=timedelta(minutes=40), heard_ago=timedelta(minutes=30), processed=124_500,
               now=now)
    assert warnings(now) == [
        "Billing pass: the last run was interrupted (started 40 minutes ago, stopped after 124,500 done "
        "(last heard of 30 minutes ago))"
    ]
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    row = re.search(r'data-testid="pass-billing">(.*?)</tr>', html, re.S).group(1)
    assert "Interrupted: started 40" in row and "124,500 done" in row and "the next run finishes its work" in row
    assert "text-bg-danger\">Interrupted" in row
    # The next run finishes: it is the latest, and the warning goes.
    run("billing", ago=timedelta(minutes=1), now=now)
    assert warnings(now) == []


def test_a_running_pass_is_not_interrupted():
    make_account()
    now = timezone.now()
    all_passes_recent(now)
    PassRun.objects.filter(name="billing").delete()
    run("billing", ago=timedelta(hours=20), now=now)
    killed_run("billing", started_ago=timedelta(minutes=40), heard_ago=timedelta(minutes=2), processed=9_000, now=now)
    assert warnings(now) == []
