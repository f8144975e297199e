"""accounts/{id}/status-changes/, …/preview/, status-changes/{id}/ — the same engine as the pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, StatusChange
from billing.models import ChargeLine
from billing.proration import period_containing

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db


def url(account):
    return f"/api/v1/accounts/{account.pk}/status-changes/"


def billed_account():
    account = make_account(bill_day=1)
    today = timezone.localdate()
    s, e = period_containing(1, today)
    give_package(account, price="31.00", start=s, next_bill=e)
    return account, today, s, e


def test_post_applies_now_with_the_exact_transactions(api_support):
    account, today, s, e = billed_account()
    body = {
        "status_type": status_type("Cancelled").pk,
        "option": "immediately_with_prorated_transaction",
        "reason": reason("Non-payment").pk,
        "note": "called twice",
    }
    response = api_support.post(url(account), body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    expected = (Decimal("31.00") * (e - today).days / (e - s).days).quantize(Decimal("0.01"))
    assert data["state"] == "applied" and data["effective_date"] == today.isoformat()
    assert data["transactions"] == [
        {
            "kind": "prorated_credit",
            "amount": f"-{expected}",
            "period_start": today.isoformat(),
            "period_end": e.isoformat(),
        }
    ]
    assert Account.objects.get(pk=account.pk).status_type.name == "Cancelled"
    history = api_support.get(url(account)).json()["results"]
    assert history[0]["state"] == "applied" and history[0]["note"] == "called twice"


def test_preview_answers_the_same_and_saves_nothing(api_support):
    account, today, s, e = billed_account()
    body = {
        "status_type": status_type("Suspended").pk,
        "option": "immediately_with_prorated_transaction",
        "reason": reason("Non-payment").pk,
    }
    preview = api_support.post(url(account) + "preview/", body, format="json")
    assert preview.status_code == 200
    assert preview.json()["id"] is None and preview.json()["state"] == "applied"
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"
    assert ChargeLine.objects.count() == 0 and StatusChange.objects.count() == 0
    applied = api_support.post(url(account), body, format="json").json()
    assert applied["transactions"] == preview.json()["transactions"]


def test_a_future_change_is_pending_and_can_be_deleted_until_executed(api_support):
    account, today, s, e = billed_account()
    body = {
        "status_type": status_type("Suspended").pk,
        "option": "specific_date",
        "effective_date": (today + timedelta(days=3)).isoformat(),
        "reason": reason("Non-payment").pk,
    }
    created = api_support.post(url(account), body, format="json")
    assert created.status_code == 201 and created.json()["state"] == "pending"
    change_id = created.json()["id"]
    assert api_support.get(f"/api/v1/status-changes/{change_id}/").json()["state"] == "pending"
    assert api_support.delete(f"/api/v1/status-changes/{change_id}/").status_code == 204
    applied = api_support.post(url(account), {**body, "option": "immediately_with_no_transaction"}, format="json")
    gone = api_support.delete(f"/api/v1/status-changes/{applied.json()['id']}/")
    assert gone.status_code == 409 and "already applied" in gone.json()["detail"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"status_type": 999999, "option": "period_end"}, "status_type"),
        ({"status_type": "Active", "option": "period_end"}, "status_type"),
        ({"option": "bogus"}, "option"),
        ({"option": "specific_date"}, "effective_date"),
        ({"option": "specific_date", "effective_date": "2031-02-30"}, "effective_date"),
        ({"option": "specific_date", "effective_date": "yesterday"}, "effective_date"),
        ({"option": "immediately_with_prorated_transaction", "reason": 999999}, "reason"),
        ({"option": "immediately_with_prorated_transaction", "note": "n" * 100_000}, "note"),
        ({"option": "immediately_with_prorated_transaction", "reason": None}, "reason"),
    ],
)
def test_bad_input_is_a_400_with_the_field_and_changes_nothing(api_support, body, field):
    account, *_ = billed_account()
    payload = {"status_type": status_type("Cancelled").pk, "reason": reason("Non-payment").pk, **body}
    response = api_support.post(url(account), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"
    assert StatusChange.objects.count() == 0 and ChargeLine.objects.count() == 0


def test_a_stale_version_is_409(api_support):
    account, *_ = billed_account()
    body = {
        "status_type": status_type("Suspended").pk,
        "option": "immediately_with_no_transaction",
        "reason": reason("Non-payment").pk,
        "version": account.version,
    }
    api_support.post(url(account), body, format="json")
    again = api_support.post(url(account), {**body, "status_type": status_type("Cancelled").pk}, format="json")
    assert again.status_code == 409
    assert "changed while you were editing" in again.json()["detail"]


def test_unknown_account_is_404_and_anonymous_is_401(client, api_support):
    assert api_support.post("/api/v1/accounts/999999/status-changes/", {}, format="json").status_code == 404
    assert client.get("/api/v1/accounts/1/status-changes/").status_code == 401
    valid = {"status_type": status_type("Suspended").pk, "option": "immediately_with_no_transaction",
             "reason": reason("Non-payment").pk}
    response = api_support.post("/api/v1/accounts/999999/status-changes/", valid, format="json")
    assert (response.status_code, response.json()) == (404, {"detail": "No account with id 999999."})


def test_prospect_reentry_is_refused_with_a_message(api_support):
    account = make_account(type_name="Prospect")
    api_support.post(
        url(account),
        {"status_type": status_type("Active").pk, "option": "immediately_with_no_transaction"},
        format="json",
    )
    response = api_support.post(
        url(account),
        {"status_type": status_type("Prospect").pk, "option": "immediately_with_no_transaction"},
        format="json",
    )
    assert response.status_code == 400
    assert "never return" in response.json()["status_type"][0]
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"


def test_a_suspension_through_the_api_costs_a_fixed_number_of_statements(api_support, django_assert_max_num_queries):
    """Issue 28: 27 statements before (the account read twice, updated twice, the change row written twice,
    the provisioning target read back); each one is a round trip under load."""
    account, _today, _s, _e = billed_account()
    body = {"status_type": status_type("Suspended").pk, "option": "immediately_with_prorated_transaction",
            "reason": reason("Non-payment").pk}
    with django_assert_max_num_queries(23):  # 21 on a connection of its own (the test's savepoint pair)
        response = api_support.post(url(account), body, format="json")
    assert response.status_code == 201 and response.json()["transactions"][0]["kind"] == "prorated_credit"
