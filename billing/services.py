"""Billing writes: the catalogue, user packages, usage, and Bill Account. The billing pass is in
billing/passes.py; both bill through billing/lines.py."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from engage.account_model import account_exists, get_account_model
from engage.errors import ConflictError, DomainError
from engage.limits import DESCRIPTION_MAX_CHARS, MAX_AMOUNT, MAX_QUANTITY, PACKAGE_NAME_MAX_CHARS

from .lines import bill_locked_accounts
from .models import Invoice, Package, UsageRecord, UserPackage
from .proration import money


def _check_account(account_id) -> int:
    if not account_exists(account_id):
        raise DomainError("Unknown account.", field="account")
    return int(account_id)


def _check_amount(value, *, field: str, label: str) -> Decimal:
    """A non-negative amount of whole cents that fits the columns; never a float's rounding."""
    if isinstance(value, bool) or value is None:
        raise DomainError(f"{label} must be a number.", field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label} must be a number, like 19.95.", field=field) from None
    if not amount.is_finite():
        raise DomainError(f"{label} must be a number, like 19.95.", field=field)
    if amount < 0:
        raise DomainError(f"{label} must not be negative.", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(f"{label} must be in whole cents (at most 2 decimal places).", field=field)
    if amount > MAX_AMOUNT:
        raise DomainError(f"{label} must be at most {MAX_AMOUNT}.", field=field)
    return money(amount)


def _check_date(value, *, field: str, label: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise DomainError(f"{label} must be a date (YYYY-MM-DD).", field=field) from None


# ---------------------------------------------------------------- catalogue, user packages, usage


@transaction.atomic
def package_create(*, name: str, price) -> Package:
    """A catalogue package: a unique name (case-insensitively, trimmed) and a monthly price ≥ 0."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Name is required.", field="name")
    if len(name) > PACKAGE_NAME_MAX_CHARS:
        raise DomainError(f"Name must be at most {PACKAGE_NAME_MAX_CHARS} characters.", field="name")
    price = _check_amount(price, field="price", label="Price")
    if Package.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A package named “{name}” already exists.", field="name")
    try:
        with transaction.atomic():
            return Package.objects.create(name=name, price=price)
    except IntegrityError:  # created at the same moment by someone else
        raise DomainError(f"A package named “{name}” already exists.", field="name") from None


def user_package_create(
    *, account_id: int, package: Package, price=None, quantity=1, start_date: date | None = None, today: date
) -> UserPackage:
    """Sell a package to an account: the price defaults to the catalogue's, the start date to today, and
    nothing is billed yet (the next bill date is the start date; the billing pass bills from it)."""
    account_id = _check_account(account_id)
    if not isinstance(package, Package) or package.pk is None:
        raise DomainError("Pick a package from the catalogue.", field="package")
    price = package.price if price is None else _check_amount(price, field="price", label="Price")
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise DomainError("Quantity must be a whole number.", field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(f"Quantity must be from 1 to {MAX_QUANTITY}.", field="quantity")
    start_date = today if start_date is None else _check_date(start_date, field="start_date", label="Start date")
    return UserPackage.objects.create(
        account_id=account_id,
        package=package,
        price=price,
        quantity=quantity,
        start_date=start_date,
        next_bill_date=start_date,
    )


def usage_record_create(*, account_id: int, amount, occurred_on, description: str = "", today: date) -> UsageRecord:
    """Already-rated usage: a non-negative amount on a date that is not in the future."""
    account_id = _check_account(account_id)
    amount = _check_amount(amount, field="amount", label="Amount")
    occurred_on = _check_date(occurred_on, field="occurred_on", label="Date")
    if occurred_on > today:
        raise DomainError("Usage cannot be dated in the future.", field="occurred_on")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise DomainError(f"Description must be at most {DESCRIPTION_MAX_CHARS} characters.", field="description")
    return UsageRecord.objects.create(
        account_id=account_id, amount=amount, occurred_on=occurred_on, description=description
    )


@transaction.atomic
def bill_account(*, account_id: int, as_of: date) -> Invoice | None:
    """Bill Account: bill what is due for this one account as of `as_of` (packages with next bill date
    ≤ as_of, unbilled usage dated ≤ as_of) whatever its back-end status; this is how a cancelled
    account's packages are billed by hand. Returns the invoice, or None when nothing was due."""
    rows = list(
        get_account_model().objects.select_for_update().filter(pk=account_id).values_list("pk", "bill_day")
    )
    if not rows:
        raise DomainError("Unknown account.", field="account")
    pk, bill_day = rows[0]
    try:
        with transaction.atomic():
            invoices, _lines = bill_locked_accounts(
                {pk: bill_day}, package_accounts={pk}, usage_accounts={pk}, as_of=as_of, issued_on=as_of
            )
    except IntegrityError:
        raise ConflictError(
            "A period due now was already billed for one of this account's packages; nothing was billed."
        ) from None
    return invoices[0] if invoices else None
