"""Every write happens once (SPEC §5 once only, §9): an API POST with an Idempotency-Key, and a page form with
its one-time token, answer a repeat with the first answer and write nothing more."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Invoice, Payment, UsageRecord, UserPackage
from engage.models import OnceKey
from engage.once import prune_once_keys
from engage.tokens import make_token
from tests.accounts.factories import give_package, make_account, reason, status_type
from tests.concurrency import run_at_once
from tests.conftest import TEST_TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user, name='test')[1]}")
    return api


def pay(api, account, key, amount="25.00"):
    return api.post(f"/api/v1/accounts/{account.pk}/payments/",
                    {"amount": amount, "paid_on": TEST_TODAY.isoformat(), "method": "card"},
                    format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_answer_the_first_answer_and_write_nothing_more(support_user):
    api, account = token_client(support_user), make_account()
    first = pay(api, account, "pay-7f3a")
    again = pay(api, account, "pay-7f3a")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Payment.objects.filter(account=account).count() == 1
    other = pay(api, account, "pay-8b21")  # a new key is a new payment
    assert other.status_code == 201 and Payment.objects.filter(account=account).count() == 2


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(support_user):
    api, account = token_client(support_user), make_account()
    pay(api, account, "k-1", amount="25.00")
    refused = pay(api, account, "k-1", amount="30.00")
    assert refused.status_code == 422
    assert refused.json() == {"detail": "This Idempotency-Key was used for another request; use a new key for a "
                                        "new request."}
    assert list(Payment.objects.filter(account=account).values_list("amount", flat=True)) == [Decimal("25.00")]


def test_keys_are_each_users_own(support_user, admin_user):
    account = make_account()
    assert pay(token_client(support_user), account, "shared-key").status_code == 201
    assert pay(token_client(admin_user), account, "shared-key").status_code == 201
    assert Payment.objects.filter(account=account).count() == 2


@pytest.mark.parametrize("key", ["", "has space", "ünïcode", "x" * 256])
def test_a_malformed_key_is_a_400_and_nothing_is_written(support_user, key):
    account = make_account()
    response = pay(token_client(support_user), account, key)
    assert response.status_code == 400
    assert response.json() == {"detail": "Idempotency-Key must be 1 to 255 printable ASCII characters, no spaces."}
    assert not Payment.objects.exists()


def test_a_refusal_is_replayed_too_but_not_a_refusal_of_who_asks(support_user):
    api, account = token_client(support_user), make_account()
    refused = pay(api, account, "neg", amount="-5.00")
    assert refused.status_code == 400 and pay(api, account, "neg", amount="-5.00").json() == refused.json()
    # Without a valid token nothing is kept: the same key works once signed in.
    anonymous = APIClient().post(f"/api/v1/accounts/{account.pk}/payments/", {}, format="json",
                                 HTTP_IDEMPOTENCY_KEY="later")
    assert anonymous.status_code == 401 and not OnceKey.objects.filter(key="later").exists()


def _writes(api, account, package_id):
    """Each creating POST of the API: (url, body, how many rows it made)."""
    return {
        "usage": (f"/api/v1/accounts/{account.pk}/usage/",
                  {"amount": "3.10", "occurred_on": TEST_TODAY.isoformat(), "description": "Calls"},
                  lambda: UsageRecord.objects.filter(account=account).count()),
        "package": (f"/api/v1/accounts/{account.pk}/packages/", {"package": package_id},
                    lambda: UserPackage.objects.filter(account=account).count()),
        "bill": (f"/api/v1/accounts/{account.pk}/bill/", {}, lambda: Invoice.objects.filter(account=account).count()),
        "status_change": (f"/api/v1/accounts/{account.pk}/status-changes/",
                          {"status_type": status_type("Suspended").pk, "option": "period_end",
                           "reason": reason("Non-payment").pk},
                          lambda: account.status_changes.count()),
        "reversal": (f"/api/v1/accounts/{account.pk}/payments/",
                     {"reverses": pay(api, account, "to-reverse").json()["id"], "reason": "Charged back"},
                     lambda: Payment.objects.filter(account=account).count()),
    }


@pytest.mark.parametrize("what", ["usage", "package", "bill", "status_change", "reversal"])
def test_every_creating_post_happens_once(support_user, what):
    api, account = token_client(support_user), make_account()
    up = give_package(account, next_bill=TEST_TODAY)
    url, body, count = _writes(api, account, up.package_id)[what]
    before = count()
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"once-{what}")
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"once-{what}")
    assert first.status_code in (200, 201) and (again.status_code, again.json()) == (first.status_code, first.json())
    assert count() == before + 1


def test_the_schema_documents_the_header_and_the_422(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/accounts/{account_id}/payments/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert "422" in operation["responses"]


def test_keys_are_kept_48_hours(support_user):
    account = make_account()
    pay(token_client(support_user), account, "old")
    pay(token_client(support_user), account, "new")
    OnceKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))
    assert prune_once_keys() == 1 and list(OnceKey.objects.values_list("key", flat=True)) == ["new"]


# --- page forms ----------------------------------------------------------------------------------------


def _token(response) -> str:
    html = response.content.decode()
    start = html.index('name="once_token" value="') + len('name="once_token" value="')
    return html[start:start + 32]


def test_a_form_submitted_twice_records_one_payment_and_says_so(support_client):
    account = make_account()
    url = reverse("accounts:payment-add", args=[account.pk])
    token = _token(support_client.get(url))
    data = {"amount": "25.00", "paid_on": TEST_TODAY.isoformat(), "method": "card", "reference": "",
            "once_token": token}
    first = support_client.post(url, data)
    again = support_client.post(url, data)  # a second click, a resubmitted page, the back button
    assert first.status_code == again.status_code == 302 and again["Location"] == first["Location"]
    assert Payment.objects.filter(account=account).count() == 1
    page = support_client.get(again["Location"]).content.decode()
    assert "This was already submitted; nothing was done twice." in page


def test_a_refused_form_keeps_its_token_for_the_corrected_one(support_client):
    account = make_account()
    url = reverse("accounts:payment-add", args=[account.pk])
    token = _token(support_client.get(url))
    data = {"amount": "0", "paid_on": TEST_TODAY.isoformat(), "method": "card", "reference": "", "once_token": token}
    assert support_client.post(url, data).status_code == 400
    assert support_client.post(url, {**data, "amount": "12.00"}).status_code == 302
    assert list(Payment.objects.filter(account=account).values_list("amount", flat=True)) == [Decimal("12.00")]


def test_a_preview_does_not_use_up_the_token_of_the_form_it_previews(support_client):
    from accounts.models import Account

    account = make_account()
    suspended = status_type("Suspended")
    url = reverse("accounts:status-options", args=[account.pk, suspended.pk])
    token = _token(support_client.get(url))
    data = {"option": "immediately_with_no_transaction", "reason": reason("Non-payment").pk, "note": "",
            "version": Account.objects.get(pk=account.pk).version, "once_token": token}
    assert support_client.post(url, {**data, "preview": "1"}).status_code == 200
    assert support_client.post(url, data).status_code == 302
    assert support_client.post(url, data).status_code == 302  # the back button: replayed
    assert account.status_changes.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_five_requests_at_once_with_one_key_make_one_payment(support_user):
    account = make_account()
    key = make_token(support_user, name="test")[1]

    def post():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        response = pay(api, account, "concurrent-1")
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    answers = run_at_once(*[post] * 5)
    assert Payment.objects.filter(account=account).count() == 1
    assert {(status, body["id"]) for status, body, _ in answers} == {(201, Payment.objects.get().pk)}
    assert sorted(str(replayed) for *_, replayed in answers) == ["None", "true", "true", "true", "true"]
