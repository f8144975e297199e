"""Bill Account: what is due for one account, whatever its back-end status."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import ChargeLine, Invoice, UserPackage
from billing.passes import billing_pass
from billing.services import bill_account
from engage.errors import ConflictError, DomainError

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

pytestmark = pytest.mark.django_db


def test_bill_account_bills_a_cancelled_accounts_packages_and_usage_by_hand():
    account = make_account(bill_day=15, type_name="Cancelled")
    UserPackageFactory(account=account, package=PackageFactory(name="Fibre 100", price=Decimal("49.99")),
                       start_date=date(2031, 1, 15))
    UsageRecordFactory(account=account, amount=Decimal("7.25"), occurred_on=date(2031, 2, 20))
    UsageRecordFactory(account=account, amount=Decimal("1.00"), occurred_on=date(2031, 3, 2))  # after as_of

    billing_pass(as_of=date(2031, 3, 1))
    assert not ChargeLine.objects.filter(account=account).exists()  # the pass leaves it alone

    invoice = bill_account(account_id=account.pk, as_of=date(2031, 3, 1))

    assert invoice.account_id == account.pk
    assert invoice.total == Decimal("107.23")
    assert list(invoice.lines.order_by("period_start").values_list("kind", "amount", "period_start", "period_end")) == [
        ("recurring", Decimal("49.99"), date(2031, 1, 15), date(2031, 2, 15)),
        ("recurring", Decimal("49.99"), date(2031, 2, 15), date(2031, 3, 15)),
        ("usage", Decimal("7.25"), date(2031, 2, 20), date(2031, 2, 20)),
    ]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 3, 15)


def test_bill_account_twice_bills_once():
    account = make_account(bill_day=1, type_name="Suspended")
    UserPackageFactory(account=account, package=PackageFactory(name="VoIP line", price=Decimal("19.95")),
                       start_date=date(2031, 1, 1))
    assert bill_account(account_id=account.pk, as_of=date(2031, 1, 5)).total == Decimal("19.95")
    assert bill_account(account_id=account.pk, as_of=date(2031, 1, 5)) is None
    assert Invoice.objects.filter(account=account).count() == 1


def test_bill_account_then_the_pass_does_not_bill_again():
    account = make_account(bill_day=1)
    UserPackageFactory(account=account, package=PackageFactory(name="VoIP line", price=Decimal("19.95")),
                       start_date=date(2031, 1, 10))
    assert bill_account(account_id=account.pk, as_of=date(2031, 1, 10)).total == Decimal("14.16")  # 19.95 × 22/31
    assert billing_pass(as_of=date(2031, 1, 31)).lines == 0
    assert billing_pass(as_of=date(2031, 2, 1)).total == Decimal("19.95")


def test_bill_account_with_nothing_due_makes_no_invoice():
    account = make_account(bill_day=1)
    UserPackageFactory(account=account, package=PackageFactory(name="VoIP line"), start_date=date(2031, 2, 1))
    assert bill_account(account_id=account.pk, as_of=date(2031, 1, 31)) is None
    assert not Invoice.objects.exists()


def test_bill_account_of_an_unknown_account_is_refused():
    with pytest.raises(DomainError):
        bill_account(account_id=987654, as_of=date(2031, 1, 1))


def test_bill_account_refuses_a_period_billed_behind_its_back_and_writes_nothing():
    account = make_account(bill_day=1)
    up = UserPackageFactory(account=account, package=PackageFactory(name="VoIP line"), start_date=date(2031, 1, 1))
    UsageRecordFactory(account=account)
    ChargeLine.objects.create(account=account, user_package=up, kind="recurring", amount=Decimal("49.99"),
                              period_start=date(2031, 1, 1), period_end=date(2031, 2, 1))
    with pytest.raises(ConflictError):
        bill_account(account_id=account.pk, as_of=date(2031, 1, 20))
    assert ChargeLine.objects.filter(account=account).count() == 1
    assert not Invoice.objects.exists()
