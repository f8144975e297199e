"""The collections story through the API alone (issue 16): an Administrator sets up the steps, the dry run
says what the pass will do, the pass does it, a payment recorded through the API restores the account at
once, and the account, the invoices and the aging say so."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from statuses.rules import ChangeOption
from tests.accounts.factories import make_account, reason, status_type
from tests.conftest import TEST_TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

T = TEST_TODAY


def test_the_story_through_the_api(api_admin, api_support, django_capture_on_commit_callbacks):
    suspended, non_payment = status_type("Suspended"), reason("Non-payment")
    created = api_admin.post("/api/v1/collection-steps/", {
        "name": "Suspend after 14 days", "days_overdue": 14, "min_amount": "10.00", "action": "status_change",
        "status_type": suspended.pk, "reason": non_payment.pk, "option": ChangeOption.PRORATED,
    }, format="json")
    assert created.status_code == 201, created.json()
    assert api_support.post("/api/v1/collection-steps/", {"name": "x"}, format="json").status_code == 403

    account = make_account(name="Api Overdue")
    Invoice.objects.create(account=account, total=Decimal("45.00"), issued_on=T - timedelta(days=34),
                           due_on=T - timedelta(days=20))
    detail = api_support.get(f"/api/v1/accounts/{account.pk}/").json()
    assert (detail["balance"], detail["overdue_amount"], detail["overdue_days"]) == ("45.00", "45.00", 20)

    plan = api_support.get("/api/v1/collections/dry-run/").json()
    assert [(r["account"], r["step"], r["action"]) for r in plan["results"]] == [
        (account.pk, "Suspend after 14 days", "status_change")]
    assert (plan["totals"]["overdue_accounts"], plan["totals"]["overdue_amount"]) == (1, "45.00")

    from dunning.passes import run_collections_pass

    with django_capture_on_commit_callbacks(execute=True):
        run_collections_pass(as_of=T)
    assert api_support.get(f"/api/v1/accounts/{account.pk}/").json()["status_type"] == suspended.pk
    history = api_support.get(f"/api/v1/accounts/{account.pk}/status-changes/").json()
    rows = history["results"] if isinstance(history, dict) else history
    assert rows[0]["source"] == "collection step Suspend after 14 days"
    aging = api_support.get("/api/v1/statistics/aging/").json()
    assert (aging["accounts"], aging["amount"], aging["buckets"][0]["accounts"]) == (1, "45.00", 1)

    with django_capture_on_commit_callbacks(execute=True):
        paid = api_support.post(f"/api/v1/accounts/{account.pk}/payments/", {
            "amount": "45.00", "paid_on": T.isoformat(), "method": "card", "reference": "R-1"}, format="json")
    assert paid.status_code == 201
    detail = api_support.get(f"/api/v1/accounts/{account.pk}/").json()
    assert (detail["status_type"], detail["backend_status"], detail["overdue_amount"]) == (
        status_type("Active").pk, "active", "0.00")
    assert [i["state"] for i in api_support.get(f"/api/v1/accounts/{account.pk}/invoices/").json()] == ["paid"]
    assert api_support.get("/api/v1/collections/dry-run/").json()["totals"]["accounts"] == 0
    # The step is now used by an ended episode only: it may go.
    assert api_admin.delete(f"/api/v1/collection-steps/{created.json()['id']}/").status_code == 204
