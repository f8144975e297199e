import pytest
from django.template.loader import render_to_string

from provisioning.runner import run_account_jobs
from provisioning.selectors import provisioning_summary

from .conftest import set_status

pytestmark = pytest.mark.django_db


def render(account):
    return render_to_string("provisioning/_overview.html", {"provisioning": provisioning_summary(account.pk)})


def test_summary_of_a_provisioned_account(make_account):
    account = make_account("Active")
    run_account_jobs(account.pk)
    summary = provisioning_summary(account.pk)
    assert {k: summary[k] for k in ("state", "desired", "pending_jobs", "last_error", "in_step")} == {
        "state": "enabled", "desired": "enabled", "pending_jobs": 0, "last_error": "", "in_step": True,
    }
    assert [(j["target"], j["state"], j["attempts"]) for j in summary["jobs"]] == [("enabled", "done", 1)]
    html = render(account)
    assert 'data-testid="switch-state"' in html and "Provisioned, enabled" in html
    assert "In step" in html


def test_the_overview_shows_pending_jobs_and_the_last_error(make_account, settings):
    account = make_account("Active")
    run_account_jobs(account.pk)
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = ""
    set_status(account, "Suspended")
    run_account_jobs(account.pk)

    summary = provisioning_summary(account.pk)
    assert (summary["state"], summary["desired"], summary["pending_jobs"]) == ("enabled", "suspended", 1)
    assert summary["last_error"] == "ENGAGE_WEBHOOK_URL is not set, so the webhook backend cannot send anything."
    html = render(account)
    assert "Provisioned, suspended" in html  # desired
    assert '<dd class="col-sm-8" data-testid="pending-jobs">1</dd>' in html
    assert "ENGAGE_WEBHOOK_URL is not set" in html
    assert "Failed (will retry)" in html
    assert "Changing" in html


def test_the_error_is_escaped(make_account, monkeypatch):
    from provisioning.backends import ledger

    def evil(self, account, *, idempotency_key):
        raise RuntimeError("<script>alert(1)</script>")

    monkeypatch.setattr(ledger.Backend, "create", evil)
    account = make_account("Active")
    run_account_jobs(account.pk)
    html = render(account)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_cancelled_account_shows_absent(make_account):
    account = make_account("Active")
    run_account_jobs(account.pk)
    set_status(account, "Cancelled")
    run_account_jobs(account.pk)
    html = render(account)
    assert "Absent" in html
    assert provisioning_summary(account.pk)["state"] == "absent"


def test_the_account_overview_page_shows_the_provisioning_card(support_client, make_account):
    account = make_account("Active")
    run_account_jobs(account.pk)
    html = support_client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'data-testid="provisioning"' in html
    assert "Provisioned, enabled" in html
