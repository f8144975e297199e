"""The main pages in Chromium at desktop size (1280×900) and phone size (390×844): axe-core (through
axe-playwright-python, which ships it) finds no serious or critical violation; on a phone nothing is wider
than the screen, the page's content comes before the statistics sidebar and the menu folds into a button;
the skip link goes to the content. Screenshots of each page land in test-results/."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.engine import account_change_status
from billing.models import Invoice
from billing.proration import next_bill_day
from tests.accounts.factories import give_package, make_account, reason, status_type
from tests.browser import axe_violations, login, restore_installation_defaults, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

User = get_user_model()
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(autouse=True)
def installation_defaults():
    restore_installation_defaults()




def settled(page):
    """htmx has finished (the Preview button enabled again) and the pointer rests off the buttons, so axe
    judges the page as it stays, not a button caught mid-request or under the mouse."""
    page.wait_for_selector("button[name=preview]:not([disabled])")
    page.mouse.move(0, 0)


def _tour(base, account, pending_pk):
    """(name, url, what to do on the page before it is checked)."""
    def refused_preview(page):
        page.select_option("#id_status_type", label="Suspended")
        page.click("button:has-text('Save')")
        page.click("button:has-text('Preview')")
        page.locator("#preview [data-testid=preview-errors]").wait_for()
        settled(page)

    def component_preview(page):
        page.select_option("#id_status_type", label="Cancelled")
        page.fill("#id_effective_date", (timezone.localdate() + timedelta(days=20)).isoformat())
        page.select_option("#id_reason", label="Non-payment")
        page.click("button:has-text('Preview')")
        page.locator("[data-testid=preview]").wait_for()
        settled(page)

    def start_two_factor(page):
        if page.locator("button:has-text('Set up two-factor sign-in')").count():
            page.click("button:has-text('Set up two-factor sign-in')")
            page.wait_for_load_state("networkidle")
        page.locator("[data-testid=qr-code] svg").wait_for()

    return [
        ("list", f"{base}/accounts/", None),
        ("overview", f"{base}/accounts/{account.pk}/", None),
        ("status-flow", f"{base}/accounts/{account.pk}/status/", refused_preview),
        ("component-add", f"{base}/accounts/{account.pk}/components/add/", component_preview),
        ("component-remove", f"{base}/accounts/{account.pk}/components/{pending_pk}/remove/", None),
        ("payment-add", f"{base}/accounts/{account.pk}/payments/add/", None),
        ("setup-types", f"{base}/setup/account-status-types/", None),
        ("setup-type-edit", f"{base}/setup/account-status-types/{status_type('Suspended').pk}/", None),
        ("setup-reasons", f"{base}/setup/status-reasons/", None),
        ("statistics", f"{base}/statistics/", None),
        ("collections-dry-run", f"{base}/collections/dry-run/", None),
        ("collections-exemption", f"{base}/accounts/{account.pk}/collections-exemption/", None),
        ("setup-collection-steps", f"{base}/setup/collection-steps/", None),
        ("audit", f"{base}/audit/", None),
        ("setup-users", f"{base}/setup/users/", None),
        ("setup-user", f"{base}/setup/users/{User.objects.get(username='admin1').pk}/", None),
        ("your-sign-in", f"{base}/me/", None),
        ("your-api-tokens", f"{base}/me/tokens/", None),
        ("two-factor-set-up", f"{base}/me/two-factor/", start_two_factor),
    ]


@pytest.mark.parametrize("size", SIZES)
def test_main_pages_pass_axe_and_fit_the_screen(live_server, browser_page, admin_user, size):
    page = browser_page
    page.set_viewport_size(SIZES[size])
    today = timezone.localdate()
    account = make_account(bill_day=1, name="Grace Hopper", email="grace@example.com")
    give_package(account, price="31.00", start=date(2026, 1, 1), next_bill=next_bill_day(1, today),
                 name="Fibre 100")
    pending = account_change_status(
        account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
        effective_date=today + timedelta(days=10), reason=reason("Non-payment"),
    ).change
    Invoice.objects.create(account=account, issued_on=today, total=Decimal("-12.40"))
    for i in range(3):
        make_account(name=f"Customer {i}", email=f"c{i}@example.com")

    page.goto(f"{live_server.url}/login/")
    assert axe_violations(page) == [], "login"
    shot(page, f"{size}-login")
    login(page, live_server, "admin1", "admin-pass-123")
    found = {}
    for name, url, act in _tour(live_server.url, account, pending.pk):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if act:
            act(page)
        shot(page, f"{size}-{name}")
        found[name] = axe_violations(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["width"], f"{name} is {width} px wide at {size} size"
        if size == "phone":
            main_top = page.evaluate("document.querySelector('main').getBoundingClientRect().top")
            sidebar_top = page.evaluate("document.querySelector('#sidebar').getBoundingClientRect().top")
            assert main_top < 100 < sidebar_top, f"{name}: the content does not come first"
    assert found == {name: [] for name in found}


def test_on_a_phone_the_menu_folds_and_opens_within_the_screen(live_server, browser_page, support_user):
    page = browser_page
    page.set_viewport_size(SIZES["phone"])
    login(page, live_server, "support1", "support-pass-123")
    sign_out = page.locator("button:has-text('Sign out')")
    assert not sign_out.is_visible()
    page.click("button[aria-label=Menu]")
    sign_out.wait_for(state="visible")
    box = sign_out.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= 390
    assert page.locator("#main-nav >> text=Statistics").is_visible()
    shot(page, "phone-menu-open")


def test_the_skip_link_is_the_first_stop_and_goes_to_the_content(live_server, browser_page, support_user):
    page = browser_page
    login(page, live_server, "support1", "support-pass-123")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_login_labels_are_not_red_before_anything_is_typed(live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    label = page.locator("label[for=id_username]")
    assert label.evaluate("el => getComputedStyle(el).color") == "rgb(33, 37, 41)"
    assert label.inner_text() == "User name"
    assert label.evaluate("el => getComputedStyle(el, '::after').content") == '" (required)"'
    assert page.get_attribute("#id_username", "required") is not None
