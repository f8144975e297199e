"""Accounts: creation rules, the list (search, filters, keyset paging), the Overview's query count, the API."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.engine import status_type_counts_now
from accounts.models import Account
from accounts.services import account_create
from engage.errors import DomainError

from .factories import give_package, make_account, status_type

pytestmark = pytest.mark.django_db


def test_a_new_account_gets_a_number_the_default_type_and_is_counted():
    account = account_create(name=" Ada ", email="ada@example.com", bill_day=5)
    assert account.number == str(100000 + account.pk) and account.name == "Ada"
    assert account.status_type.name == "Active" and account.status_type.is_default
    assert status_type_counts_now([account.status_type_id]) == {account.status_type_id: 1}


@pytest.mark.parametrize("type_name", ["Cancelled", "Suspended"])
def test_a_new_account_cannot_start_cancelled_or_suspended(type_name):
    with pytest.raises(DomainError, match="starts in an active- or prospect-type status"):
        account_create(name="X", email="x@example.com", bill_day=1, status_type=status_type(type_name))
    assert Account.objects.count() == 0


@pytest.mark.parametrize("bill_day", [0, 29, "text", None])
def test_bill_day_must_be_1_to_28(bill_day):
    with pytest.raises(DomainError, match="Bill day"):
        account_create(name="X", email="x@example.com", bill_day=bill_day)
    assert Account.objects.count() == 0


def _list(client, query=""):
    response = client.get(f"/accounts/{query}")
    return response, response.content.decode()


def test_list_searches_by_number_email_and_name_and_filters_by_status(support_client):
    ada = make_account(name="Ada Lovelace", email="ada@example.com")
    grace = make_account(name="Grace Hopper", email="grace@example.com", type_name="Prospect")
    for query, shown, hidden in [
        (f"?q={ada.number}", "Ada Lovelace", "Grace Hopper"),
        ("?q=GRACE@example.com", "Grace Hopper", "Ada Lovelace"),
        ("?q=lovel", "Ada Lovelace", "Grace Hopper"),
        ("?backend_status=prospect", "Grace Hopper", "Ada Lovelace"),
        (f"?status_type={status_type('Active').pk}", "Ada Lovelace", "Grace Hopper"),
    ]:
        response, page = _list(support_client, query)
        assert response.status_code == 200
        assert shown in page and hidden not in page, query
    assert grace.pk


def test_list_pages_by_id_without_counting(support_client):
    for i in range(55):
        make_account(name=f"Customer {i:02d}", email=f"c{i}@example.com")
    with CaptureQueriesContext(connection) as queries:
        response, page = _list(support_client)
    assert "Customer 54" in page and "Customer 04" not in page and "Next page" in page
    counts = [
        q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "accounts_account" in q["sql"]
    ]
    assert counts == []
    after = Account.objects.order_by("-id")[49].pk
    _response, second = _list(support_client, f"?after={after}")
    assert "Customer 04" in second and "Customer 00" in second and "Customer 05" not in second


def test_bad_filters_are_a_400_with_the_reason(support_client):
    response, page = _list(support_client, "?backend_status=deleted")
    assert response.status_code == 400 and "Pick a back-end status from the list." in page
    assert "[invalid name]" not in page


def _overview_queries(client, account):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/accounts/{account.pk}/").status_code == 200
    return len(queries)


def test_overview_query_count_does_not_grow_with_what_the_account_holds(support_client):
    small = make_account(email="small@example.com")
    give_package(small, next_bill=date(2031, 2, 15))
    big = make_account(email="big@example.com")
    for i in range(12):
        give_package(big, price=f"{10 + i}.00", next_bill=date(2031, 2, 15))
    assert _overview_queries(support_client, big) == _overview_queries(support_client, small)


def test_api_creates_lists_and_edits_accounts_but_never_their_status(api_support):
    created = api_support.post(
        "/api/v1/accounts/",
        {"name": "Lead", "email": "lead@example.com", "bill_day": 28, "status_type": status_type("Prospect").pk},
        format="json",
    )
    assert created.status_code == 201 and created.json()["backend_status"] == "prospect"
    account_id = created.json()["id"]
    patched = api_support.patch(
        f"/api/v1/accounts/{account_id}/", {"name": "Lead Two", "status_type": status_type("Active").pk}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Lead Two" and patched.json()["backend_status"] == "prospect"
    listed = api_support.get("/api/v1/accounts/?backend_status=prospect").json()
    assert [row["name"] for row in listed["results"]] == ["Lead Two"] and "count" not in listed


@pytest.mark.parametrize(
    "body,field",
    [
        ({"bill_day": 0}, "bill_day"),
        ({"bill_day": 29}, "bill_day"),
        ({"bill_day": "text"}, "bill_day"),
        ({"email": "not-an-address"}, "email"),
        ({"name": ""}, "name"),
        ({"status_type": "Cancelled"}, "status_type"),
    ],
)
def test_api_bad_account_input_is_a_400_and_writes_nothing(api_support, body, field):
    payload = {"name": "X", "email": "x@example.com", "bill_day": 1, **body}
    if payload.get("status_type") == "Cancelled":
        payload["status_type"] = status_type("Cancelled").pk
    response = api_support.post("/api/v1/accounts/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Account.objects.count() == 0
