"""Setup → Collection Steps in Chromium, as an Administrator clicks through it; axe-core finds no serious or
critical violation on the list and the edit page. Screenshots land in test-results/."""


import pytest

from dunning.models import CollectionStep
from tests.browser import axe_violations, login, restore_installation_defaults, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]



@pytest.fixture(autouse=True)
def installation_defaults():
    restore_installation_defaults()




def test_add_a_status_change_step(live_server, browser_page, admin_user):
    page = browser_page
    login(page, live_server, "admin1", "admin-pass-123")

    page.goto(f"{live_server.url}/setup/")
    page.click("text=Collection Steps")
    page.wait_for_load_state("networkidle")
    assert "No collection steps yet" in page.inner_text("[data-testid=object-list]")
    page.click("[data-testid=add]")
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], "empty edit page"

    # A status change without its reason: the Reason label turns red with why; nothing is saved.
    page.fill("#id_name", "Suspend after 30 days")
    page.fill("#id_days_overdue", "30")
    page.fill("#id_min_amount", "10.00")
    page.select_option("#id_action", "status_change")
    page.select_option("#id_status_type", label="Suspended")
    page.select_option("#id_option", "immediately_with_prorated_transaction")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    label = page.locator("[data-testid=label-reason]")
    assert "invalid-label" in label.get_attribute("class")
    assert label.evaluate("el => getComputedStyle(el).color") == "rgb(204, 0, 0)"
    assert page.inner_text("[data-testid=error-reason]") == (
        "Pick a reason: the history and the customer's e-mail say why.")
    assert page.evaluate("document.activeElement.id") == "id_reason"
    assert page.input_value("#id_name") == "Suspend after 30 days"  # the input is kept
    assert not CollectionStep.objects.exists()
    assert axe_violations(page) == [], "edit page with an error"
    shot(page, "collection-step-missing-reason")

    page.select_option("#id_reason", label="Non-payment")
    page.select_option("#id_restore_to", label="Active")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").inner_text() == "Collection step “Suspend after 30 days” added."
    cells = page.locator("[data-testid=step-row] td").all_inner_texts()
    assert [c.strip() for c in cells[1:]] == [
        "1", "Suspend after 30 days", "30 days, ≥ 10.00",
        "→ Suspended (Non-payment, Immediately with prorated transaction)", "Active",
    ]
    assert axe_violations(page) == [], "list"
    shot(page, "collection-steps-list")

    page.click("[data-testid=step-row] a:text-is('Suspend after 30 days')")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#id_days_overdue") == "30"
    assert axe_violations(page) == [], "edit page"
    shot(page, "collection-step-edit")
