"""Billing writes: the catalogue, user packages, usage, and Bill Account. The billing pass is in
billing/passes.py; both bill through billing/lines.py."""

from datetime import date

from django.db import IntegrityError, transaction

from engage.account_model import account_exists
from engage.audit import audit_record, snapshot
from engage.errors import ConflictError, DomainError
from engage.limits import (
    DESCRIPTION_MAX_CHARS,
    PACKAGE_NAME_MAX_CHARS,
    check_amount,
    check_date,
    check_quantity,
    check_text,
)
from engage.locks import lock_account
from engage.models import AuditAction

from .lines import bill_locked_accounts
from .models import BillingAudit, Invoice, Package, UsageRecord, UserPackage


def _check_account(account_id) -> int:
    if not account_exists(account_id):
        raise DomainError("Unknown account.", field="account")
    return int(account_id)


# ---------------------------------------------------------------- catalogue, user packages, usage


@transaction.atomic
def package_create(*, name: str, price) -> Package:
    """A catalogue package: a unique name (case-insensitively, trimmed) and a monthly price ≥ 0."""
    name = check_text(name, field="name", label="Name", max_chars=PACKAGE_NAME_MAX_CHARS, required=True)
    price = check_amount(price, field="price", label="Price")
    if Package.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A package named “{name}” already exists.", field="name")
    try:
        with transaction.atomic():
            package = Package.objects.create(name=name, price=price)
    except IntegrityError:  # created at the same moment by someone else
        raise DomainError(f"A package named “{name}” already exists.", field="name") from None
    audit_record(action=AuditAction.CREATE, obj=package, after=snapshot(package, ("name", "price")))
    return package


@transaction.atomic
def user_package_create(
    *, account_id: int, package: Package, price=None, quantity=1, start_date: date | None = None, today: date
) -> UserPackage:
    """Sell a package to an account: the price defaults to the catalogue's, the start date to today, and
    nothing is billed yet (the next bill date is the start date; the billing pass bills from it)."""
    account_id = _check_account(account_id)
    if not isinstance(package, Package) or package.pk is None:
        raise DomainError("Pick a package from the catalogue.", field="package")
    price = package.price if price is None else check_amount(price, field="price", label="Price")
    quantity = check_quantity(quantity)
    start_date = today if start_date is None else check_date(start_date, field="start_date", label="Start date")
    user_package = UserPackage.objects.create(
        account_id=account_id,
        package=package,
        price=price,
        quantity=quantity,
        start_date=start_date,
        next_bill_date=start_date,
    )
    audit_record(action=BillingAudit.PACKAGE_SOLD, obj=user_package,
                 after={"package": package.name, **snapshot(user_package, ("price", "quantity", "start_date"))})
    return user_package


@transaction.atomic
def usage_record_create(*, account_id: int, amount, occurred_on, description: str = "", today: date) -> UsageRecord:
    """Already-rated usage on a date that is not in the future; a negative amount is an adjustment."""
    account_id = _check_account(account_id)
    amount = check_amount(amount, field="amount", label="Amount", allow_negative=True)
    occurred_on = check_date(occurred_on, field="occurred_on", label="Date")
    if occurred_on > today:
        raise DomainError("Usage cannot be dated in the future.", field="occurred_on")
    description = check_text(description, field="description", label="Description", max_chars=DESCRIPTION_MAX_CHARS)
    if amount < 0 and not description:
        raise DomainError("A negative amount is an adjustment: say why in the description.", field="description")
    usage = UsageRecord.objects.create(
        account_id=account_id, amount=amount, occurred_on=occurred_on, description=description
    )
    audit_record(action=BillingAudit.USAGE_ADDED, obj=usage, object_repr=f"{amount} on {occurred_on:%Y-%m-%d}",
                 after=snapshot(usage, ("amount", "occurred_on", "description")))
    return usage


@transaction.atomic
def bill_account(*, account_id: int, as_of: date) -> Invoice | None:
    """Bill Account: bill what is due for this one account as of `as_of` (packages with next bill date
    ≤ as_of, unbilled usage dated ≤ as_of) whatever its back-end status; this is how a cancelled
    account's packages are billed by hand. Returns the invoice, or None when nothing was due."""
    account = lock_account(account_id)
    pk, bill_day = account.pk, account.bill_day
    try:
        with transaction.atomic():
            invoices, lines = bill_locked_accounts(
                {pk: bill_day}, package_accounts={pk}, usage_accounts={pk}, as_of=as_of, issued_on=as_of
            )
    except IntegrityError:
        raise ConflictError(
            "A period due now was already billed for one of this account's packages; nothing was billed."
        ) from None
    invoice = invoices[0] if invoices else None
    # Recorded even when nothing was due: someone asked, and the log says what came of it.
    audit_record(action=BillingAudit.BILL_ACCOUNT, obj=invoice, object_type=None if invoice else "account",
                 object_id=None if invoice else pk, object_repr=None if invoice else f"Account {pk}", account_id=pk,
                 after={"invoice": invoice and invoice.pk, "total": invoice.total if invoice else "0.00",
                        "lines": len(lines), "as_of": as_of})
    return invoice
