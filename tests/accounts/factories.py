from datetime import date
from decimal import Decimal

from accounts.engine import account_change_status
from accounts.models import Account
from accounts.services import account_create
from billing.models import Package, UserPackage
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import ChangeOption, can_start_in, needs_reason
from statuses.selectors import reasons_for


def status_type(name: str) -> AccountStatusType:
    return AccountStatusType.objects.get(name=name)


def reason(name: str) -> StatusReason:
    return StatusReason.objects.get(name=name)


def make_account(*, bill_day=15, type_name="Active", name="Test Customer", email="customer@example.com"):
    """The one way tests make an account: through the real services, as the product does. A new account
    starts in the default type, or in a type it may start in (active or prospect); any other type is then
    reached through the engine, with no transaction (so the counters, history and jobs are all real)."""
    target = status_type(type_name)
    initial = target if can_start_in(target.backend_status) else None
    account = account_create(name=name, email=email, bill_day=bill_day, status_type=initial)
    if account.status_type_id != target.pk:
        change_status(account, type_name)
    return Account.objects.select_related("status_type").get(pk=account.pk)


def change_status(account, type_name: str, *, on: date | None = None):
    """Change the account's status now through the engine, with no transaction and the first reason that
    applies when the target needs one; returns the engine's outcome."""
    target = status_type(type_name)
    reasons = reasons_for(target.backend_status) if needs_reason(target.backend_status) else []
    return account_change_status(
        account_id=account.pk, to_type=target, option=ChangeOption.NO_TRANSACTION,
        reason=reasons[0] if reasons else None, on=on,
    )


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
