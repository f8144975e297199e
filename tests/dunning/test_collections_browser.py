"""In Chromium, the whole collections story (issue 16): the dry run shows beforehand what the pass will do,
the pass suspends the overdue account (its history names the step), a support agent records the payment
that clears it, and the account is back to Active at once, with the Overview saying why."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice
from dunning.passes import run_collections_pass
from dunning.steps import step_create
from statuses.rules import ChangeOption
from tests.accounts.factories import make_account, reason, status_type
from tests.browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_dry_run_suspension_payment_and_restore(live_server, browser_page, support_user):
    today = timezone.localdate()
    step_create(name="Reminder after 5 days", days_overdue=5, action="reminder", subject="Your account is overdue",
                body="Hello {name}, {overdue_amount} is overdue.")
    step_create(name="Suspend after 21 days", days_overdue=21, min_amount="20.00", action="status_change",
                status_type=status_type("Suspended"), reason=reason("Non-payment"),
                option=ChangeOption.NO_TRANSACTION)
    account = make_account(name="Grace Overdue", email="grace@example.com")
    make_account(name="Alan Uptodate", email="alan@example.com")
    Invoice.objects.create(account=account, issued_on=today - timedelta(days=39), total=Decimal("49.99"),
                           due_on=today - timedelta(days=25))
    page = browser_page
    login(page, live_server, "support1", "support-pass-123")

    page.click("nav >> text=Collections")
    page.wait_for_url("**/collections/dry-run/")
    summary = page.locator("[data-testid=dry-run-summary]").inner_text()
    assert "1 account overdue, 49.99 in all; 1 account to act on" in summary
    row = page.locator("[data-testid=dry-run-accounts] tbody tr").first.inner_text()
    assert "Grace Overdue" in row and "Suspend after 21 days" in row and "Status → Suspended" in row
    assert "49.99" in row and "25" in row
    shot(page, "collections-dry-run")

    run_collections_pass(as_of=today)  # what beat runs daily at 02:00

    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    assert "Suspended" in page.locator("[data-testid=account-status]").inner_text()
    assert "by collection step Suspend after 21 days" in page.locator("[data-testid=history]").inner_text()
    card = page.locator("[data-testid=collections]")
    assert "Overdue: 49.99, 25 days" in card.inner_text()
    assert "Suspend after 21 days" in card.locator("[data-testid=step-runs]").inner_text()
    shot(page, "collections-suspended")

    page.click("[data-testid=payment-add]")
    page.fill("#id_amount", "49.99")
    page.select_option("#id_method", label="Card")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "Active" in page.locator("[data-testid=account-status]").inner_text()
    assert "collections (payment received)" in page.locator("[data-testid=history]").inner_text()
    card = page.locator("[data-testid=collections]")
    assert "Nothing overdue" in card.inner_text()
    assert "Paid. Restored to “Active”." in card.locator("[data-testid=episode]").inner_text()
    shot(page, "collections-restored")

    page.goto(f"{live_server.url}/collections/dry-run/")
    assert "0 accounts overdue" in page.locator("[data-testid=dry-run-summary]").inner_text()
