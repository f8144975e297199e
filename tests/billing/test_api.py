"""The billing rows of the REST API (SPEC §9), bad input included."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Package, UsageRecord, UserPackage
from billing.passes import billing_pass

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account(bill_day=1)


@pytest.fixture
def fibre():
    return PackageFactory(name="Fibre 100", price=Decimal("49.99"))


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# ---------------------------------------------------------------- catalogue


def test_catalogue_is_read_by_support_and_written_by_administrators(api_admin, api_support, fibre):
    assert _results(api_support.get("/api/v1/packages/")) == [{"id": fibre.pk, "name": "Fibre 100", "price": "49.99"}]
    assert api_support.post("/api/v1/packages/", {"name": "VoIP line", "price": "19.95"}).status_code == 403
    response = api_admin.post("/api/v1/packages/", {"name": "VoIP line", "price": "19.95"}, format="json")
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "name": "VoIP line", "price": "19.95"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "X", "price": "abc"}, "price"),
        ({"name": "X", "price": "-1.00"}, "price"),
        ({"name": "X", "price": "1.001"}, "price"),
        ({"name": "X"}, "price"),
        ({"name": "", "price": "1.00"}, "name"),
        ({"name": "fibre 100", "price": "1.00"}, "name"),
    ],
)
def test_catalogue_bad_input_is_400(api_admin, fibre, body, field):
    response = api_admin.post("/api/v1/packages/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Package.objects.count() == 1


def test_anonymous_is_refused(account):
    assert APIClient().get(f"/api/v1/accounts/{account.pk}/charges/").status_code in (401, 403)
    assert APIClient().post(f"/api/v1/accounts/{account.pk}/bill/").status_code in (401, 403)


# ---------------------------------------------------------------- user packages


def test_sell_a_package_with_the_catalogue_price_starting_today(api_support, account, fibre):
    response = api_support.post(f"/api/v1/accounts/{account.pk}/packages/", {"package": fibre.pk}, format="json")
    assert response.status_code == 201, response.content
    today = timezone.localdate().isoformat()
    body = response.json()
    assert body == {
        "id": body["id"], "package": fibre.pk, "price": "49.99", "quantity": 1,
        "start_date": today, "next_bill_date": today, "status": "active",
    }
    assert _results(api_support.get(f"/api/v1/accounts/{account.pk}/packages/")) == [body]


def test_sell_a_package_at_another_price_and_start(api_support, account, fibre):
    response = api_support.post(
        f"/api/v1/accounts/{account.pk}/packages/",
        {"package": fibre.pk, "price": "39.00", "quantity": 3, "start_date": "2031-01-15"}, format="json",
    )
    assert response.status_code == 201
    assert (response.json()["price"], response.json()["quantity"], response.json()["next_bill_date"]) == (
        "39.00", 3, "2031-01-15"
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"price": "-1"}, "price"),
        ({"price": "cheap"}, "price"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"start_date": "soon"}, "start_date"),
        ({"package": 999999}, "package"),
        ({"package": None}, "package"),
    ],
)
def test_sell_a_package_bad_input_is_400(api_support, account, fibre, body, field):
    response = api_support.post(
        f"/api/v1/accounts/{account.pk}/packages/", {"package": fibre.pk, **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not UserPackage.objects.exists()


def test_unknown_account_is_404(api_support, fibre):
    for path in ("packages", "usage", "charges"):
        assert api_support.get(f"/api/v1/accounts/999999/{path}/").status_code == 404
    assert api_support.post("/api/v1/accounts/999999/packages/", {"package": fibre.pk}).status_code == 404
    assert api_support.post(
        "/api/v1/accounts/999999/usage/", {"amount": "1.00", "occurred_on": "2020-01-01"}
    ).status_code == 404
    assert api_support.post("/api/v1/accounts/999999/bill/").status_code == 404
    assert not UserPackage.objects.exists() and not UsageRecord.objects.exists()


# ---------------------------------------------------------------- usage


def test_add_and_list_usage(api_support, account):
    response = api_support.post(
        f"/api/v1/accounts/{account.pk}/usage/",
        {"amount": "4.20", "occurred_on": "2020-06-01", "description": "Roaming"}, format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("amount", "occurred_on", "description", "billed")} == {
        "amount": "4.20", "occurred_on": "2020-06-01", "description": "Roaming", "billed": False
    }
    assert [r["amount"] for r in _results(api_support.get(f"/api/v1/accounts/{account.pk}/usage/"))] == ["4.20"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "-0.01"}, "description"),  # a negative amount is an adjustment that says why
        ({"amount": "-1000000.00", "description": "refund"}, "amount"),
        ({"amount": "1000000.00"}, "amount"),
        ({"occurred_on": "1989-12-31"}, "occurred_on"),
        ({"description": "spoofed \u202egpj.exe"}, "description"),
        ({"amount": "a lot"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"occurred_on": "tomorrow"}, "occurred_on"),
        ({"occurred_on": "future"}, "occurred_on"),
    ],
)
def test_usage_bad_input_is_400(api_support, account, body, field):
    if body.get("occurred_on") == "future":
        body = {"occurred_on": (timezone.localdate() + timedelta(days=1)).isoformat()}
    response = api_support.post(
        f"/api/v1/accounts/{account.pk}/usage/", {"amount": "1.00", "occurred_on": "2020-01-01", **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not UsageRecord.objects.exists()


# ---------------------------------------------------------------- charges and Bill Account


def test_charges_list_lines_with_decimal_string_amounts(api_support, account, fibre):
    up = UserPackageFactory(account=account, package=fibre, start_date=date(2031, 1, 10))
    billing_pass(as_of=date(2031, 1, 10))
    [line] = _results(api_support.get(f"/api/v1/accounts/{account.pk}/charges/"))
    assert line["kind"] == "prorated_charge"
    assert line["amount"] == "35.48"  # 49.99 × 22/31
    assert (line["period_start"], line["period_end"]) == ("2031-01-10", "2031-02-01")
    assert line["invoice"] is not None
    assert up.pk  # the line belongs to this package's period


def test_bill_account_over_the_api_on_a_cancelled_account(api_support, fibre):
    account = make_account(bill_day=1, type_name="Cancelled")
    today = timezone.localdate()
    start = today.replace(day=1)
    UserPackageFactory(account=account, package=fibre, start_date=start)
    UsageRecordFactory(account=account, amount=Decimal("2.00"), occurred_on=today)

    response = api_support.post(f"/api/v1/accounts/{account.pk}/bill/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["billed"] is True
    assert body["invoice"]["total"] == "51.99"
    assert sorted((line["kind"], line["amount"]) for line in body["invoice"]["lines"]) == [
        ("recurring", "49.99"), ("usage", "2.00")
    ]

    again = api_support.post(f"/api/v1/accounts/{account.pk}/bill/")
    assert again.status_code == 200
    assert again.json()["billed"] is False and again.json()["invoice"] is None
    assert "Nothing was due" in again.json()["detail"]


def test_billing_schema_has_no_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    from billing.api.urls import urlpatterns

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS, dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    assert "/accounts/{account_id}/bill/" in schema["paths"]
