"""In Chromium: sign in, the accounts list, the two-step Status flow with its preview, and a
Change User Status component scheduled and removed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, StatusChange
from billing.proration import period_containing
from tests.browser import login, shot

from .factories import give_package, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_sign_in_lands_on_the_accounts_list(live_server, browser_page, admin_user):
    make_account(name="Ada Lovelace", email="ada@example.com")
    login(browser_page, live_server, "admin1", "admin-pass-123")
    assert browser_page.url.endswith("/accounts/")
    assert browser_page.locator("h1").inner_text() == "Accounts"
    assert "Ada Lovelace" in browser_page.locator("[data-testid=accounts-table]").inner_text()
    assert browser_page.locator("[data-testid=stat-active]").inner_text() == "1"
    # Bootstrap really loaded from our static files: the navbar is dark.
    assert browser_page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).backgroundColor") != (
        "rgba(0, 0, 0, 0)"
    )
    shot(browser_page, "accounts-list")


def test_two_step_status_flow_with_preview(live_server, browser_page, support_user):
    today = timezone.localdate()
    s, e = period_containing(1, today)
    account = make_account(bill_day=1, name="Grace Hopper", email="grace@example.com")
    give_package(account, price="31.00", start=s, next_bill=e, name="Fibre 100")
    login(browser_page, live_server, "support1", "support-pass-123")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.click("text=Status")
    # Step 1 offers only what the rules allow: never the status it has, never a prospect type once left.
    offered = page.locator("#id_status_type option").all_inner_texts()
    assert "Cancelled" in offered and "Suspended" in offered
    assert "Active" not in offered and "Prospect" not in offered
    page.select_option("#id_status_type", label="Cancelled")
    page.click("button:has-text('Save')")
    # Step 2 is the seed's Cancel options, each worded for a cancel (not "cancel/suspend …; enable …").
    assert page.locator("h1").inner_text() == "Cancel options: Active → Cancelled"
    assert page.locator("text=Immediately with prorated transaction").count() == 1
    definitions = page.locator("fieldset").inner_text()
    assert "Cancels today and credits the unused part of the current period" in definitions
    assert "enable" not in definitions.lower()
    assert page.locator("input[name=option]:checked").count() == 0  # nothing preselected
    # The date is offered only with Specific date.
    assert not page.locator("#id_effective_date").is_visible()
    page.check("input[value=specific_date]")
    assert page.locator("#id_effective_date").is_visible()
    page.check("input[value=immediately_with_prorated_transaction]")
    assert not page.locator("#id_effective_date").is_visible()
    # A refused preview says why in the preview area and beside each field, and the focus goes to the first.
    page.goto(page.url)
    page.click("button:has-text('Preview')")
    refused = page.locator("#preview [data-testid=preview-errors]")
    refused.wait_for()
    assert refused.inner_text().splitlines() == ["No preview:", "Option: This field is required.",
                                                 "Reason: This field is required."]
    assert page.locator("[data-testid=error-option]").inner_text() == "This field is required."
    assert page.locator("[data-testid=error-reason]").inner_text() == "This field is required."
    assert page.evaluate("document.activeElement.name") == "option"
    shot(page, "status-preview-refused")
    page.check("input[value=immediately_with_prorated_transaction]")
    page.select_option("#id_reason", label="Non-payment")
    page.fill("#id_note", "Asked by phone")
    page.click("button:has-text('Preview')")
    preview = page.locator("[data-testid=preview]")
    preview.wait_for()
    expected = f"-{(31 * (e - today).days / (e - s).days):.2f}"
    assert "Prorated credit" in preview.inner_text() and expected in preview.inner_text()
    assert page.locator("[data-testid=error-reason]").count() == 0  # the corrected field is clear again
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"  # a preview saves nothing
    shot(page, "status-preview")
    page.click("button[name=save]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "Status changed to “Cancelled”" in page.locator(".alert-success").inner_text()
    assert "Cancelled" in page.locator("[data-testid=account-status]").inner_text()
    history = page.locator("[data-testid=history]").inner_text()
    assert "Active → Cancelled" in history and "Asked by phone" in history and expected in history
    assert "UTC" in history  # times say their time zone
    assert page.locator("[data-testid=stat-cancelled]").inner_text() == "1"
    shot(page, "overview-after-cancel")


def test_component_is_previewed_shown_beside_the_status_and_removed_with_a_confirmation(
    live_server, browser_page, support_user
):
    account = make_account(bill_day=1, name="Alan Turing", email="alan@example.com")
    when = timezone.localdate() + timedelta(days=5)
    login(browser_page, live_server, "support1", "support-pass-123")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.click("#components >> text=Add")
    page.select_option("#id_status_type", label="Suspended")
    assert page.locator("input[value=specific_date]").is_checked()  # ticked in sight: a component is dated
    page.fill("#id_effective_date", when.isoformat())
    page.click("button:has-text('Preview')")
    page.locator("#preview [data-testid=preview-errors]").wait_for()
    assert "A reason is required" in page.locator("[data-testid=error-reason]").inner_text()
    page.select_option("#id_reason", label="Non-payment")
    page.click("button:has-text('Preview')")
    page.locator("[data-testid=preview]").wait_for()
    assert f"scheduled for {when.isoformat()}" in page.locator("[data-testid=preview]").inner_text()
    assert not StatusChange.objects.filter(account=account).exists()
    page.click("button[name=save]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    components = page.locator("[data-testid=components]").inner_text()
    assert "Change User Status" in components and "Suspended" in components and when.isoformat() in components
    beside = page.locator("[data-testid=pending-next]").inner_text()
    assert beside == f"Suspends on {when.isoformat()} (Non-payment)"
    shot(page, "component-pending")
    page.click("[data-testid=components] >> text=Remove")
    assert page.locator("[data-testid=remove-what]").inner_text().startswith(
        f"The change to “Suspended” on {when.isoformat()} (Non-payment) will not happen."
    )
    assert StatusChange.objects.get(account=account).state == "pending"  # nothing removed before Yes
    page.click("[data-testid=confirm-remove]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert (page.locator(".alert-success").inner_text()
            == f"Removed the pending change to “Suspended” on {when.isoformat()} (Non-payment).")
    assert "No pending changes." in page.locator("[data-testid=components]").inner_text()
    assert page.locator("[data-testid=pending-next]").count() == 0
    assert StatusChange.objects.get(account=account).state == "removed"
    history = page.locator("[data-testid=history]").inner_text()
    assert "Removed" in history and "support1" in history
