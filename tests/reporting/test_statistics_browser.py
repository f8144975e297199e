"""In Chromium: the sidebar's numbers move after a status change made through the Status flow, and the
statistics page (counts, chart, reasons, scheduler health) renders from local files only."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.engine import account_change_status
from accounts.passes import apply_due_status_changes
from billing.passes import billing_pass
from provisioning.passes import provisioning_pass
from reporting.statistics import record_snapshot
from tests.browser import login, shot

from ..accounts.factories import make_account, reason, status_type

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _history(today):
    """Three weeks of accounts coming and going, with a snapshot each day, and every pass run once."""
    rng = random.Random(3)
    accounts = [make_account(name=f"Customer {i}", email=f"c{i}@example.com") for i in range(24)]
    for i in range(4):
        make_account(type_name="Prospect", name=f"Lead {i}", email=f"l{i}@example.com")
    start = today - timedelta(days=20)
    for n in range(21):
        day = start + timedelta(days=n)
        for account in rng.sample(accounts, 2):
            account.refresh_from_db()
            current = account.status_type.backend_status
            target, why = {
                "active": rng.choice([("Suspended", "Non-payment"), ("Cancelled", "Customer request")]),
                "suspended": ("Active", "Payment received"),
                "cancelled": ("Active", None),
            }[current]
            account_change_status(account_id=account.pk, to_type=status_type(target),
                                  option="immediately_with_no_transaction", reason=why and reason(why), on=day)
        record_snapshot(day=day)
    apply_due_status_changes(as_of=today)
    billing_pass(as_of=today)
    provisioning_pass()


def test_sidebar_numbers_follow_a_status_change_and_statistics_page(live_server, browser_page, support_user):
    today = timezone.localdate()
    _history(today)
    account = make_account(name="Margaret Hamilton", email="margaret@example.com")
    login(browser_page, live_server, "support1", "support-pass-123")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    active = int(page.locator("[data-testid=stat-active]").inner_text())
    cancelled = int(page.locator("[data-testid=stat-cancelled]").inner_text())
    assert page.locator("[data-testid=scheduler-warning]").count() == 0

    page.click("text=Status")
    page.select_option("#id_status_type", label="Cancelled")
    page.click("button:has-text('Save')")
    page.check("input[value=immediately_with_no_transaction]")
    page.select_option("#id_reason", label="Moved out of service area")
    page.click("button[name=save]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert int(page.locator("[data-testid=stat-active]").inner_text()) == active - 1
    assert int(page.locator("[data-testid=stat-cancelled]").inner_text()) == cancelled + 1

    external = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else external.append(r.url))
    page.click("nav >> text=Statistics")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Statistics"
    backend = page.locator("[data-testid=backend-cancelled]").inner_text()
    assert str(cancelled + 1) in backend
    chart = page.locator("[data-testid=chart] svg")
    assert chart.count() == 1 and chart.bounding_box()["height"] > 200
    reasons = page.locator("[data-testid=reason-counts]").inner_text()
    assert "Moved out of service area" in reasons and "Non-payment" in reasons
    assert page.locator("[data-testid=health-ok]").count() == 1
    assert external == []
    shot(page, "statistics")

    page.fill("#id_start", (today + timedelta(days=1)).isoformat())
    page.fill("#id_end", today.isoformat())
    page.click("button:has-text('Show')")
    page.wait_for_load_state("networkidle")
    assert "before it starts" in page.locator("[data-testid=period-errors]").inner_text()


def test_a_stopped_scheduler_shows_in_the_sidebar_and_on_the_statistics_page(live_server, browser_page, support_user):
    from accounts.models import Account
    from provisioning.models import ProvisioningJob

    today = timezone.localdate()
    account = make_account(name="Ada Lovelace", email="ada@example.com")
    account_change_status(account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
                          effective_date=today - timedelta(days=2), reason=reason("Non-payment"),
                          on=today - timedelta(days=5))
    ProvisioningJob.objects.create(account=account, target="enabled", state="failed", attempts=4,
                                   last_error="switch 10.0.0.7 did not answer")
    Account.objects.update(created_at=timezone.now() - timedelta(hours=2))  # installed 2 hours ago, beat never ran
    login(browser_page, live_server, "support1", "support-pass-123")
    page = browser_page
    warning = page.locator("[data-testid=scheduler-warning]")
    assert "Apply due status changes: has never run" in warning.inner_text()
    assert "1 pending status change is overdue" in warning.inner_text()
    warning.locator("text=Details").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/statistics/#health")
    health = page.locator("#health").inner_text()
    assert "Ada Lovelace" in health and "switch 10.0.0.7 did not answer" in health
    page.locator("#health").scroll_into_view_if_needed()
    shot(page, "statistics-health-warnings")
