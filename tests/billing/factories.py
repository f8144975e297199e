"""Billing test data. Accounts are made by the accounts service, as the product makes them."""

from datetime import date
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import Package, UsageRecord, UserPackage


def make_account(*, bill_day: int = 1, status: str | None = None, name: str = "Test Customer"):
    """An account; `status` names a default type (Active, Cancelled, Suspended, Prospect)."""
    from accounts.models import Account
    from accounts.services import account_create

    account = account_create(name=name, email="customer@example.com", bill_day=bill_day, status_type=None)
    if status is not None:
        set_status(account.pk, status)
    return Account.objects.get(pk=account.pk)


def set_status(account_id: int, status: str) -> None:
    from accounts.models import Account
    from statuses.models import AccountStatusType

    Account.objects.filter(pk=account_id).update(status_type=AccountStatusType.objects.get(name=status))


class PackageFactory(DjangoModelFactory):
    class Meta:
        model = Package
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Package {n}")
    price = Decimal("49.99")


class UserPackageFactory(DjangoModelFactory):
    class Meta:
        model = UserPackage

    package = factory.SubFactory(PackageFactory)
    price = factory.LazyAttribute(lambda o: o.package.price)
    quantity = 1
    start_date = date(2031, 1, 1)
    next_bill_date = factory.LazyAttribute(lambda o: o.start_date)


class UsageRecordFactory(DjangoModelFactory):
    class Meta:
        model = UsageRecord

    amount = Decimal("3.50")
    occurred_on = date(2031, 1, 10)
    description = "International calls"
