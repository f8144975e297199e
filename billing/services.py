"""Billing writes: the catalogue, user packages, usage, the billing pass and Bill Account.

The pass and Bill Account share one implementation (`_bill_locked_accounts`): it takes accounts whose
rows the caller has locked, reads their due packages and unbilled usage with one query each, and
writes every line, invoice and next bill date of the batch with set-based queries in the caller's
transaction. The database refuses a second billing-pass line for a package and period start.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from engage.errors import ConflictError, DomainError
from engage.passes import recorded_pass
from statuses.rules import package_billing_statuses, usage_billing_statuses

from .lines import WRITE_BATCH, invoice_lines, period_line
from .models import (
    BillingFailure,
    ChargeKind,
    ChargeLine,
    Invoice,
    Package,
    UsageRecord,
    UserPackage,
    UserPackageStatus,
)
from .proration import money

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
# DecimalField(max_digits=12, decimal_places=2): ten digits before the point.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_QUANTITY = 100_000


def _account_model():
    # Billing reaches accounts only through the ORM, never by importing accounts/.
    return UserPackage._meta.get_field("account").related_model


def _status_type_model():
    return _account_model()._meta.get_field("status_type").related_model


def _check_account(account_id) -> int:
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise DomainError("Unknown account.", field="account") from None
    if not _account_model().objects.filter(pk=account_id).exists():
        raise DomainError("Unknown account.", field="account")
    return account_id


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
    if len(name) > 100:
        raise DomainError("Name must be at most 100 characters.", field="name")
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
    if len(description) > 200:
        raise DomainError("Description must be at most 200 characters.", field="description")
    return UsageRecord.objects.create(
        account_id=account_id, amount=amount, occurred_on=occurred_on, description=description
    )


# ---------------------------------------------------------------- the shared billing code


def package_lines(user_package: UserPackage, bill_day: int, as_of: date) -> list[ChargeLine]:
    """Bill a package from its next bill date n, one period at a time while n ≤ as_of (catching up
    missed periods); advances user_package.next_bill_date in memory."""
    lines = []
    n = user_package.next_bill_date
    while n <= as_of:
        line = period_line(user_package, n, bill_day)
        lines.append(line)
        n = line.period_end
    user_package.next_bill_date = n
    return lines


def usage_line(record: UsageRecord) -> ChargeLine:
    # A usage line's period is the day it occurred.
    return ChargeLine(
        account_id=record.account_id,
        usage_record=record,
        kind=ChargeKind.USAGE,
        amount=record.amount,
        period_start=record.occurred_on,
        period_end=record.occurred_on,
        description=record.description or "Usage",
    )


def _bill_locked_accounts(
    bill_days: dict[int, int], *, package_accounts, usage_accounts, as_of: date
) -> tuple[list[Invoice], list[ChargeLine]]:
    """Bill what is due as of `as_of` for accounts whose rows the caller holds locked.

    Packages of `package_accounts` with next bill date ≤ as_of, unbilled usage of `usage_accounts`
    dated ≤ as_of; each account's new lines go into one invoice. A constant number of queries
    whatever the number of accounts; next bill dates advance in the caller's transaction."""
    packages = []
    if package_accounts:
        packages = list(
            UserPackage.objects.filter(
                account_id__in=sorted(package_accounts),
                status=UserPackageStatus.ACTIVE,
                next_bill_date__lte=as_of,
            )
            .select_related("package")
            .order_by("account_id", "pk")
        )
    usage = []
    if usage_accounts:
        usage = list(
            UsageRecord.objects.filter(
                account_id__in=sorted(usage_accounts), billed=False, occurred_on__lte=as_of
            ).order_by("account_id", "occurred_on", "pk")
        )

    lines_by_account: dict[int, list[ChargeLine]] = defaultdict(list)
    for user_package in packages:
        bill_day = bill_days[user_package.account_id]
        lines_by_account[user_package.account_id] += package_lines(user_package, bill_day, as_of)
    for record in usage:
        lines_by_account[record.account_id].append(usage_line(record))
    if not lines_by_account:
        return [], []

    invoices, all_lines = invoice_lines(lines_by_account, issued_on=as_of)
    if packages:
        UserPackage.objects.bulk_update(packages, ["next_bill_date"], batch_size=WRITE_BATCH)
    # By id: a usage record added meanwhile is not marked billed without its line.
    usage_ids = [record.pk for record in usage]
    for i in range(0, len(usage_ids), WRITE_BATCH * 5):
        UsageRecord.objects.filter(pk__in=usage_ids[i : i + WRITE_BATCH * 5]).update(billed=True)
    return invoices, all_lines


# ---------------------------------------------------------------- the billing pass


@dataclass
class BillingSummary:
    as_of: date
    accounts: int = 0
    lines: int = 0
    invoices: int = 0
    total: Decimal = Decimal("0.00")
    failed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    def add(self, invoices: list[Invoice], lines: list[ChargeLine]) -> None:
        self.accounts += len(invoices)
        self.invoices += len(invoices)
        self.lines += len(lines)
        self.total += sum((invoice.total for invoice in invoices), Decimal(0))

    def as_dict(self) -> dict:
        """JSON-safe (a Celery result, an API answer)."""
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "lines": self.lines,
            "invoices": self.invoices,
            "total": str(self.total),
            "failed": self.failed,
        }

    def __str__(self):
        text = (
            f"Billed {self.accounts} accounts as of {self.as_of}: {self.lines} lines, "
            f"{self.invoices} invoices, total {self.total}."
        )
        if self.failed:
            text += f" {self.failed} accounts failed: " + "; ".join(f"{a}: {e}" for a, e in self.failures[:20])
        return text


def _billing_type_ids() -> tuple[list[int], list[int]]:
    """Status types whose back-end status bills packages, and usage (the truth table, one small query)."""
    package_statuses, usage_statuses = set(package_billing_statuses()), set(usage_billing_statuses())
    package_types, usage_types = [], []
    for pk, backend_status in _status_type_model().objects.values_list("pk", "backend_status"):
        if backend_status in package_statuses:
            package_types.append(pk)
        if backend_status in usage_statuses:
            usage_types.append(pk)
    return package_types, usage_types


def _claim_chunk(*, after: int, as_of: date, package_types, usage_types, exclude, only=None):
    """Lock the next accounts (pk order) that have something due, skipping rows another run holds.

    The WHERE is on the account row itself (status type), so PostgreSQL re-checks it on the locked,
    latest row version."""
    due_packages = UserPackage.objects.filter(
        account_id=OuterRef("pk"), status=UserPackageStatus.ACTIVE, next_bill_date__lte=as_of
    )
    due_usage = UsageRecord.objects.filter(account_id=OuterRef("pk"), billed=False, occurred_on__lte=as_of)
    qs = _account_model().objects.filter(
        (Q(status_type_id__in=package_types) & Exists(due_packages))
        | (Q(status_type_id__in=usage_types) & Exists(due_usage))
    )
    if only is not None:
        qs = qs.filter(pk__in=only)
    else:
        qs = qs.filter(pk__gt=after)
    if exclude:
        qs = qs.exclude(pk__in=sorted(exclude))
    return list(
        qs.select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "bill_day", "status_type_id")[:CHUNK_SIZE]
    )


def _bill_rows(rows, *, as_of, package_types, usage_types):
    package_types, usage_types = set(package_types), set(usage_types)
    return _bill_locked_accounts(
        {pk: bill_day for pk, bill_day, _ in rows},
        package_accounts={pk for pk, _, type_id in rows if type_id in package_types},
        usage_accounts={pk for pk, _, type_id in rows if type_id in usage_types},
        as_of=as_of,
    )


def _bill_chunk_one_by_one(account_ids, *, as_of, package_types, usage_types, summary: BillingSummary) -> set[int]:
    """The slow path after a chunk failed: each account in its own savepoint; a failing one is
    recorded and skipped. Returns the ids that failed."""
    failed = set()
    with transaction.atomic():
        rows = _claim_chunk(
            after=0, as_of=as_of, package_types=package_types, usage_types=usage_types, exclude=(), only=account_ids
        )
        failures = []
        for row in rows:
            try:
                with transaction.atomic():
                    invoices, lines = _bill_rows(
                        [row], as_of=as_of, package_types=package_types, usage_types=usage_types
                    )
            except Exception as exc:  # one bad account must not stop the pass
                logger.exception("Billing account %s as of %s failed", row[0], as_of)
                error = f"{type(exc).__name__}: {exc}"[:2000]
                failures.append(BillingFailure(account_id=row[0], as_of=as_of, error=error))
                summary.failures.append((row[0], error))
                failed.add(row[0])
            else:
                summary.add(invoices, lines)
        BillingFailure.objects.bulk_create(failures)
    summary.failed += len(failed)
    return failed


def billing_pass(*, as_of: date) -> BillingSummary:
    """SPEC §6: bill every active user package whose next bill date ≤ as_of, period by period, for
    accounts whose back-end status bills packages, and unbilled usage of accounts whose back-end status
    bills usage; one invoice per account per run.

    Accounts are claimed in pk-ordered chunks with SKIP LOCKED, so two runs at once share the work and
    never bill the same account twice; each chunk is one transaction. A failing chunk is redone account
    by account, and an account that fails on its own is recorded (BillingFailure) and skipped."""
    summary = BillingSummary(as_of=as_of)
    with recorded_pass("billing", as_of) as run:
        package_types, usage_types = _billing_type_ids()
        failed: set[int] = set()
        # Two sweeps: the second picks up accounts that another transaction held during the first.
        for _sweep in range(2):
            after = 0
            while True:
                rows = []
                try:
                    with transaction.atomic():
                        rows = _claim_chunk(
                            after=after, as_of=as_of, package_types=package_types, usage_types=usage_types,
                            exclude=failed,
                        )
                        if not rows:
                            break
                        invoices, lines = _bill_rows(
                            rows, as_of=as_of, package_types=package_types, usage_types=usage_types
                        )
                except Exception:
                    if not rows:
                        raise
                    logger.warning("Billing chunk after account %s failed; billing it account by account", after)
                    failed |= _bill_chunk_one_by_one(
                        [row[0] for row in rows], as_of=as_of, package_types=package_types,
                        usage_types=usage_types, summary=summary,
                    )
                else:
                    summary.add(invoices, lines)
                after = rows[-1][0]
        run.processed = summary.accounts
        run.failed = summary.failed
        run.detail = str(summary)[:5000]
    return summary


# ---------------------------------------------------------------- Bill Account


@transaction.atomic
def bill_account(*, account_id: int, as_of: date) -> Invoice | None:
    """Bill Account: bill what is due for this one account as of `as_of` (packages with next bill date
    ≤ as_of, unbilled usage dated ≤ as_of) whatever its back-end status; this is how a cancelled
    account's packages are billed by hand. Returns the invoice, or None when nothing was due."""
    rows = list(
        _account_model().objects.select_for_update().filter(pk=account_id).values_list("pk", "bill_day")
    )
    if not rows:
        raise DomainError("Unknown account.", field="account")
    pk, bill_day = rows[0]
    try:
        with transaction.atomic():
            invoices, _lines = _bill_locked_accounts(
                {pk: bill_day}, package_accounts={pk}, usage_accounts={pk}, as_of=as_of
            )
    except IntegrityError:
        raise ConflictError(
            "A period due now was already billed for one of this account's packages; nothing was billed."
        ) from None
    return invoices[0] if invoices else None
