"""Billing test data. Accounts come from tests/accounts/factories.py (through the real services)."""

from datetime import date
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import Package, UsageRecord, UserPackage


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
