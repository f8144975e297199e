"""In Chromium: a support agent records a payment from the Overview, sees the oldest invoice paid and the
balance fall, then reverses the payment with a reason (SPEC §11, issue 16 part)."""

import time
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


@pytest.fixture
def slow_payment_writes():
    """The server takes 0.6 s to write a payment (a busy database), on every connection the live server opens:
    time for a second click to reach it while the first is being written."""
    from django.db.backends.signals import connection_created

    def slow(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "billing_payment"'):
            time.sleep(0.6)
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs):
        connection.execute_wrappers.append(slow)

    connection_created.connect(install)
    yield
    connection_created.disconnect(install)


@pytest.mark.parametrize("clicks", [2, 3])
def test_two_or_three_clicks_on_save_record_one_payment(live_server, browser_page, support_user, clicks,
                                                        slow_payment_writes):
    # A hurried double (or triple) click on Save while the first answer is on its way: the browser sends the
    # form each time; the form's one-time token makes the later ones replay the first answer (SPEC §5).
    account = make_account(name="Hasty Clicker", email="hasty@example.com")
    page = browser_page
    login(page, live_server, "support1", "support-pass-123")
    page.goto(f"{live_server.url}/accounts/{account.pk}/payments/add/")
    page.fill("#id_amount", "25.00")
    page.select_option("#id_method", label="Card")
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and "/payments/add/" in r.url else None)
    box = page.locator("button:has-text('Save')").bounding_box()
    for _ in range(clicks):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(150)
    page.wait_for_url(f"**/accounts/{account.pk}/")
    page.wait_for_load_state("networkidle")
    assert len(posts) == clicks  # the browser sent the form each time
    assert Payment.objects.filter(account=account).count() == 1
    assert page.locator("[data-testid=balance]").inner_text() == "Balance: -25.00 (in credit)"
    shot(page, f"payment-{clicks}-clicks")


def test_the_back_button_and_save_again_record_one_payment(live_server, browser_page, support_user):
    # Back after saving: Chromium fetches the form anew (a new token) and puts back the amount typed. Save there
    # replays the first answer: the page takes back the token the form was sent with (engage.js).
    account = make_account(name="Back Button", email="back@example.com")
    page = browser_page
    login(page, live_server, "support1", "support-pass-123")
    page.goto(f"{live_server.url}/accounts/{account.pk}/payments/add/")
    page.fill("#id_amount", "25.00")
    page.select_option("#id_method", label="Card")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    page.go_back()
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_amount").input_value() == "25.00"  # the form as it was sent
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "This was already submitted; nothing was done twice." in page.locator(".alert").all_inner_texts()
    assert Payment.objects.filter(account=account).count() == 1
    assert page.locator("[data-testid=balance]").inner_text() == "Balance: -25.00 (in credit)"
    shot(page, "payment-back-button")
