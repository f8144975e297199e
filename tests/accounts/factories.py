from datetime import date
from decimal import Decimal

from accounts.services import account_create
from billing.models import Package, UserPackage
from statuses.models import AccountStatusType, StatusReason


def status_type(name: str) -> AccountStatusType:
    return AccountStatusType.objects.get(name=name)


def reason(name: str) -> StatusReason:
    return StatusReason.objects.get(name=name)


def make_account(*, bill_day=15, type_name="Active", name="Test Customer", email="customer@example.com"):
    return account_create(name=name, email=email, bill_day=bill_day, status_type=status_type(type_name))


def give_package(account, *, price="49.99", quantity=1, start=date(2031, 1, 15), next_bill=None, name=None):
    package, _ = Package.objects.get_or_create(name=name or f"Package {price}", defaults={"price": Decimal(price)})
    return UserPackage.objects.create(
        account=account,
        package=package,
        price=Decimal(price),
        quantity=quantity,
        start_date=start,
        next_bill_date=next_bill or start,
    )
