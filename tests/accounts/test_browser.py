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
    page.select_option("#id_status_type", label="Cancelled")
    page.click("button:has-text('Save')")
    assert "Active → Cancelled" in page.locator("h1").inner_text()
    assert page.locator("text=Immediately with prorated transaction").count() == 1
    assert page.locator("text=credits the unused part").count() == 1
    # Preview before choosing: the server refuses (400) and the preview area says why instead of staying blank.
    page.click("button:has-text('Preview')")
    refused = page.locator("#preview [data-testid=preview-errors]")
    refused.wait_for()
    assert refused.inner_text().splitlines() == ["No preview:", "Option: This field is required.",
                                                 "Reason: This field is required."]
    shot(page, "status-preview-refused")
    page.check("input[value=immediately_with_prorated_transaction]")
    page.select_option("#id_reason", label="Non-payment")
    page.fill("#id_note", "Asked by phone")
    page.click("button:has-text('Preview')")
    preview = page.locator("[data-testid=preview]")
    preview.wait_for()
    expected = f"-{(31 * (e - today).days / (e - s).days):.2f}"
    assert "Prorated credit" in preview.inner_text() and expected in preview.inner_text()
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"  # a preview saves nothing
    shot(page, "status-preview")
    page.click("button[name=save]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "Status changed to “Cancelled”" in page.locator(".alert-success").inner_text()
    assert "Cancelled" in page.locator("[data-testid=account-status]").inner_text()
    history = page.locator("[data-testid=history]").inner_text()
    assert "Active → Cancelled" in history and "Asked by phone" in history and expected in history
    assert page.locator("[data-testid=stat-cancelled]").inner_text() == "1"
    shot(page, "overview-after-cancel")


def test_component_is_listed_until_removed(live_server, browser_page, support_user):
    account = make_account(bill_day=1, name="Alan Turing", email="alan@example.com")
    when = timezone.localdate() + timedelta(days=5)
    login(browser_page, live_server, "support1", "support-pass-123")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.click("#components >> text=Add")
    page.select_option("#id_status_type", label="Suspended")
    page.fill("#id_effective_date", when.isoformat())
    page.click("button:has-text('Save')")
    assert "A reason is required" in page.locator("body").inner_text()
    page.select_option("#id_reason", label="Non-payment")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    components = page.locator("[data-testid=components]").inner_text()
    assert "Change User Status" in components and "Suspended" in components and when.isoformat() in components
    shot(page, "component-pending")
    page.click("[data-testid=components] >> text=Remove")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "No pending changes." in page.locator("[data-testid=components]").inner_text()
    assert StatusChange.objects.get(account=account).state == "removed"
    assert "Removed" in page.locator("[data-testid=history]").inner_text()
