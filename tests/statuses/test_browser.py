"""The Setup pages in Chromium, as an Administrator clicks through them."""


import pytest

from statuses.models import AccountStatusType
from tests.browser import login, restore_installation_defaults, shot

from .factories import account_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def installation_defaults():
    """A transactional test may start from emptied tables (an earlier one flushed them): put back the
    types and reasons of a new installation, with the data migrations' own functions."""
    restore_installation_defaults()


def test_add_with_save_new_red_label_and_bulk_delete(live_server, browser_page, admin_user):
    page = browser_page
    login(page, live_server, "admin1", "admin-pass-123")

    page.goto(f"{live_server.url}/setup/")
    page.click("text=Account Status Types")
    page.click("[data-testid=add]")

    # Two types with Save/New: each time a confirmation and an empty form.
    for name, status in (("Trial", "prospect"), ("Premium", "active")):
        page.fill("#id_name", name)
        page.select_option("#id_backend_status", status)
        page.click("button[name=save_new]")
        page.wait_for_load_state("networkidle")
        assert page.locator(".alert-success").inner_text() == (
            f"Account status type “{name}” added. Add the next one below."
        )
        assert page.input_value("#id_name") == ""
        assert page.input_value("#id_backend_status") == ""
    shot(page, "statuses-save-new")

    # A blank name: the Name label is red, with the reason next to the field; nothing saved.
    page.select_option("#id_backend_status", "active")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    label = page.locator("[data-testid=label-name]")
    assert "invalid-label" in label.get_attribute("class")
    assert label.evaluate("el => getComputedStyle(el).color") == "rgb(204, 0, 0)"
    assert page.locator("[data-testid=error-name]").inner_text() == "Name is required."
    assert "is-invalid" in page.get_attribute("#id_name", "class")
    assert page.evaluate("document.activeElement.id") == "id_name"  # the focus is on the field to correct
    assert page.get_attribute("#id_name", "aria-invalid") == "true"
    assert page.locator("[data-testid=label-image_url]").evaluate("el => getComputedStyle(el).color") != (
        "rgb(204, 0, 0)"
    )
    shot(page, "statuses-blank-name")
    assert AccountStatusType.objects.count() == 6

    # Two checked types, one of them in use: the used one is kept and named with why, the other goes.
    account_of(AccountStatusType.objects.get(name="Premium"))
    page.goto(f"{live_server.url}/setup/account-status-types/")
    page.check("input[aria-label='Select Trial']")
    page.check("input[aria-label='Select Premium']")
    shot(page, "statuses-list-checked")
    page.click("[data-testid=delete]")
    page.wait_for_load_state("networkidle")
    assert "Delete 2 account status types?" in page.inner_text("h1")
    assert page.locator("[data-testid=will-keep]").inner_text() == "Will be kept: 1 account uses it."
    shot(page, "statuses-delete-confirm")
    page.click("[data-testid=confirm-delete]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").inner_text() == "Deleted 1 of the checked account status types: “Trial”."
    assert page.locator(".alert-danger").inner_text() == "“Premium” was not deleted: 1 account uses it."
    names = page.locator("[data-testid=type-row] td:nth-child(2)").all_inner_texts()
    assert names == ["Active", "Cancelled", "Premium", "Prospect", "Suspended"]
    shot(page, "statuses-after-delete")
    assert set(AccountStatusType.objects.values_list("name", flat=True)) == {
        "Active", "Cancelled", "Premium", "Prospect", "Suspended"
    }

    # The edit page of the used type says how many accounts use it.
    page.click("[data-testid=type-row] a:text-is('Premium')")
    page.wait_for_load_state("networkidle")
    assert "1 account uses this type." in page.inner_text("[data-testid=account-count]")
    shot(page, "statuses-edit")

    # Ticking Default while Active is the default asks for the explicit replace, then moves it.
    page.check("#id_is_default")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=error-is_default]").inner_text().startswith(
        "“Active” is already the default type for new accounts"
    )
    shot(page, "statuses-second-default")
    page.check("#id_replace_default")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").inner_text() == "Account status type “Premium” saved."
    assert list(AccountStatusType.objects.filter(is_default=True).values_list("name", flat=True)) == ["Premium"]


def test_reason_form_marks_applies_to(live_server, browser_page, admin_user):
    page = browser_page
    login(page, live_server, "admin1", "admin-pass-123")
    page.goto(f"{live_server.url}/setup/status-reasons/add/")
    page.fill("#id_name", "Chargeback")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert "invalid-label" in page.get_attribute("[data-testid=label-backend_statuses]", "class")
    assert page.inner_text("[data-testid=error-backend_statuses]") == "Pick at least one status this reason applies to."
    shot(page, "reasons-blank-applies-to")
    page.check("input[name=backend_statuses][value=cancelled]")
    page.click("button[name=save]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").inner_text() == "Status reason “Chargeback” added."
    shot(page, "reasons-list")
