"""Writes of the catalogue, user packages and usage: the rules and the bad input they refuse."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Package, UsageRecord, UserPackage
from billing.services import package_create, usage_record_create, user_package_create
from engage.errors import DomainError

from ..accounts.factories import make_account
from .factories import PackageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]
TODAY = date(2031, 5, 10)


def test_package_create():
    package = package_create(name="  Fibre 100 ", price="49.99")
    assert (package.name, package.price) == ("Fibre 100", Decimal("49.99"))


@pytest.mark.parametrize(
    "name, price, field",
    [
        ("", "1.00", "name"),
        ("x" * 101, "1.00", "name"),
        ("Fibre", "abc", "price"),
        ("Fibre", "-0.01", "price"),
        ("Fibre", "1.005", "price"),
        ("Fibre", "NaN", "price"),
        ("Fibre", None, "price"),
        ("Fibre", "99999999999", "price"),
    ],
)
def test_package_create_refuses_bad_input(name, price, field):
    with pytest.raises(DomainError) as err:
        package_create(name=name, price=price)
    assert err.value.field == field
    assert not Package.objects.exists()


def test_package_names_are_unique_case_insensitively():
    package_create(name="Static IP", price="5.00")
    with pytest.raises(DomainError) as err:
        package_create(name="static ip", price="6.00")
    assert err.value.field == "name"


def test_user_package_defaults_to_the_catalogue_price_and_today():
    account = make_account(bill_day=15)
    package = PackageFactory(name="Fibre 100", price=Decimal("49.99"))
    up = user_package_create(account_id=account.pk, package=package, today=TODAY)
    assert (up.price, up.quantity, up.start_date, up.next_bill_date) == (Decimal("49.99"), 1, TODAY, TODAY)
    other = user_package_create(
        account_id=account.pk, package=package, price="39.00", quantity=2, start_date=date(2031, 4, 1), today=TODAY
    )
    assert (other.price, other.quantity, other.next_bill_date) == (Decimal("39.00"), 2, date(2031, 4, 1))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"price": "-5"}, "price"),
        ({"price": "ten"}, "price"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"start_date": "yesterday"}, "start_date"),
    ],
)
def test_user_package_refuses_bad_input(kwargs, field):
    account = make_account(bill_day=1)
    with pytest.raises(DomainError) as err:
        user_package_create(account_id=account.pk, package=PackageFactory(), today=TODAY, **kwargs)
    assert err.value.field == field
    assert not UserPackage.objects.exists()


def test_user_package_of_an_unknown_account_is_refused():
    with pytest.raises(DomainError) as err:
        user_package_create(account_id=99999, package=PackageFactory(), today=TODAY)
    assert err.value.field == "account"


def test_usage_record_create():
    account = make_account(bill_day=1)
    record = usage_record_create(
        account_id=account.pk, amount="12.30", occurred_on=TODAY, description=" Roaming ", today=TODAY
    )
    assert (record.amount, record.occurred_on, record.description, record.billed) == (
        Decimal("12.30"), TODAY, "Roaming", False
    )


@pytest.mark.parametrize(
    "amount, occurred_on, field",
    [
        ("-1.00", TODAY, "description"),
        ("-1000000.00", TODAY, "amount"),
        ("1000000.00", TODAY, "amount"),
        ("1.00", date(1989, 12, 31), "occurred_on"),
        ("lots", TODAY, "amount"),
        ("Infinity", TODAY, "amount"),
        ("1.00", date(2031, 5, 11), "occurred_on"),
        ("1.00", "2031-13-01", "occurred_on"),
    ],
)
def test_usage_record_refuses_bad_input(amount, occurred_on, field):
    account = make_account(bill_day=1)
    with pytest.raises(DomainError) as err:
        usage_record_create(account_id=account.pk, amount=amount, occurred_on=occurred_on, description="", today=TODAY)
    assert err.value.field == field
    assert not UsageRecord.objects.exists()
