"""In Chromium: the bulk status change end to end (SPEC §5). Tick rows on the accounts list, step 2, the dry
run followed live (htmx polls the progress while a worker checks), Save, the run followed live, the result
and the skipped accounts; no Content-Security-Policy violation on the way."""

from datetime import date

import pytest

from accounts.bulk.services import bulk_change_run
from accounts.models import Account, BulkStatusJob, StatusChange
from tests.browser import login, shot

from .factories import give_package, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_tick_rows_dry_run_save_and_follow_the_job(live_server, browser_page, support_user, broker_down):
    # The worker is this test: the broker refuses every hand-over (the jobs wait in the outbox), and the test
    # runs them while the page watches.
    names = ["Bulk Alpha", "Bulk Beta", "Bulk Gamma"]
    active = [make_account(name=name, email=f"{name.split()[1].lower()}@example.com", bill_day=1) for name in names]
    for account in active:
        give_package(account, price="31.00", start=date(2031, 1, 1), next_bill=date(2031, 1, 1))
    suspended = make_account(name="Bulk Delta", email="delta@example.com", type_name="Suspended")
    violations = []
    page = browser_page
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server, "support1", "support-pass-123")

    page.goto(f"{live_server.url}/accounts/")
    for account in [*active[:2], suspended]:
        page.check(f"input[name=ids][value='{account.pk}']")
    shot(page, "bulk-list-ticked")
    page.click("[data-testid=bulk-ticked]")
    page.wait_for_url("**/accounts/bulk-status/?*")
    assert "3 ticked accounts" in page.locator("[data-testid=bulk-selection]").inner_text()
    page.select_option("#id_status_type", label="Suspended")
    page.check("input[value=immediately_with_prorated_transaction]")
    page.select_option("#id_reason", label="Non-payment")
    page.fill("#id_note", "January wave")
    shot(page, "bulk-step-2")
    page.click("[data-testid=bulk-dry-run]")
    page.wait_for_url("**/accounts/bulk-status/*/")
    job = BulkStatusJob.objects.get()
    assert "Checking (dry run)" in page.locator("[data-testid=bulk-progress]").inner_text()

    bulk_change_run(job.pk)  # the worker checks; the page polls and shows it without a reload
    page.wait_for_selector("text=Checked: ready to save", timeout=10_000)
    progress = page.locator("[data-testid=bulk-progress]").inner_text()
    assert "Already in that status" in progress and "Checked 3 of 3 accounts" in progress
    assert page.locator("[data-testid=count-applied]").inner_text() == "2"
    assert page.locator("[data-testid=count-skipped]").inner_text() == "1"
    shot(page, "bulk-dry-run")
    assert Account.objects.filter(status_type__name="Suspended").count() == 1  # nothing changed yet

    page.click("[data-testid=bulk-save]")
    page.wait_for_selector("text=Queued")
    bulk_change_run(job.pk)  # the worker runs it
    page.wait_for_selector("text=Processed 3 of 3 accounts", timeout=10_000)
    assert page.locator("[data-testid=bulk-progress] strong").inner_text() == "Done"
    assert page.locator("[data-testid=count-applied]").inner_text() == "2"
    shot(page, "bulk-done")
    assert set(Account.objects.filter(pk__in=[a.pk for a in active[:2]]).values_list(
        "status_type__name", flat=True)) == {"Suspended"}
    assert StatusChange.objects.filter(note="January wave").count() == 2

    page.click("[data-testid=bulk-skipped-link]")
    table = page.locator("[data-testid=bulk-skipped]").inner_text()
    assert suspended.number in table and "Already in that status" in table
    shot(page, "bulk-skipped")

    # The other way in: a file of account numbers, when nothing was ticked on the list.
    page.goto(f"{live_server.url}/accounts/bulk-status/")
    assert "Upload a file of account numbers" in page.locator("[data-testid=bulk-selection]").inner_text()
    page.set_input_files("#id_file", files=[{"name": "numbers.csv", "mimeType": "text/csv",
                                             "buffer": b"number\n" + active[2].number.encode() + b"\nNO-SUCH-1\n"}])
    page.select_option("#id_status_type", label="Suspended")
    page.check("input[value=period_end]")
    page.select_option("#id_reason", label="Non-payment")
    page.click("[data-testid=bulk-dry-run]")
    page.wait_for_url("**/accounts/bulk-status/*/")
    upload_job = BulkStatusJob.objects.order_by("-pk").first()
    bulk_change_run(upload_job.pk)
    page.wait_for_selector("text=Checked: ready to save", timeout=10_000)
    progress = page.locator("[data-testid=bulk-progress]").inner_text()
    assert "Unknown account number" in progress and "Checked 2 of 2 accounts" in progress
    assert page.locator("[data-testid=count-pending]").inner_text() == "1"
    assert page.locator("[data-testid=bulk-save]").inner_text() == "Save: change 1 account"
    shot(page, "bulk-upload-dry-run")
    assert violations == []
