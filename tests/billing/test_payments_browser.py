"""In Chromium: a support agent records a payment from the Overview, sees the oldest invoice paid and the
balance fall, then reverses the payment with a reason (SPEC §11, issue 16 part)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, Payment
from tests.accounts.factories import make_account
from tests.browser import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_record_a_payment_then_reverse_it(live_server, browser_page, support_user):
    today = timezone.localdate()
    account = make_account(name="Ada Lovelace", email="ada@example.com")
    old = Invoice.objects.create(account=account, issued_on=today - timedelta(days=40), total=Decimal("49.99"),
                                 due_on=today - timedelta(days=26))
    new = Invoice.objects.create(account=account, issued_on=today - timedelta(days=10), total=Decimal("49.99"),
                                 due_on=today + timedelta(days=4))
    page = browser_page
    login(page, live_server, "support1", "support-pass-123")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    assert page.locator("[data-testid=balance]").inner_text() == "Balance: 99.98"
    page.click("[data-testid=payment-add]")
    page.fill("#id_amount", "60.00")
    page.select_option("#id_method", label="Bank transfer")
    page.fill("#id_reference", "SEPA 4411")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "Payment of 60.00" in page.locator(".alert-success").inner_text()
    assert page.locator("[data-testid=balance]").inner_text() == "Balance: 39.98"
    assert "Paid" in page.locator(f"[data-testid=invoice-{old.pk}]").inner_text()
    assert "10.01" in page.locator(f"[data-testid=invoice-{new.pk}]").inner_text()
    assert "Partly paid" in page.locator(f"[data-testid=invoice-{new.pk}]").inner_text()
    shot(page, "payment-recorded")
    page.click("[data-testid=payments] >> text=Reverse")
    page.click("[data-testid=confirm-reverse]")
    assert page.evaluate("document.activeElement.id") == "id_reason"  # refused: the focus is on the reason
    page.fill("#id_reason", "Charged back by the bank")
    page.click("[data-testid=confirm-reverse]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert page.locator("[data-testid=balance]").inner_text() == "Balance: 99.98"
    assert "Reverses payment" in page.locator("[data-testid=payments]").inner_text()
    assert Payment.objects.filter(account=account).count() == 2
    shot(page, "payment-reversed")
