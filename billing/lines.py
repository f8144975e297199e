"""What every way of billing shares: the line that bills a package from a date, the invoice that groups
an account's new lines, and billing what is due for locked accounts. The billing pass, Bill Account and
status changes use them.

`bill_locked_accounts` takes accounts whose rows the caller has locked, reads their due packages and
unbilled usage with one query each, and writes every line, invoice and next bill date of the batch with
set-based queries in the caller's transaction. The database refuses a second billing-pass line for a
package and period start.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from .models import BillingFailure, ChargeKind, ChargeLine, Invoice, UsageRecord, UserPackage, UserPackageStatus
from .proration import money, period_containing, prorate

WRITE_BATCH = 1000


def package_label(user_package: UserPackage) -> str:
    name = user_package.package.name
    return f"{name} × {user_package.quantity}" if user_package.quantity != 1 else name


def package_line(user_package: UserPackage, kind: str, amount, start: date, end: date, **fields) -> ChargeLine:
    """An unsaved line of a package for [start, end)."""
    fields.setdefault("description", package_label(user_package))
    return ChargeLine(
        account_id=user_package.account_id,
        user_package=user_package,
        kind=kind,
        amount=amount,
        period_start=start,
        period_end=end,
        **fields,
    )


def period_line(user_package: UserPackage, d: date, bill_day: int, **fields) -> ChargeLine:
    """SPEC §5, billing a package from a date d: the line covers [d, e) of the period [s, e) that
    contains d; `recurring` at the full price when d = s, else a `prorated_charge`. Unsaved."""
    start, end = period_containing(bill_day, d)
    if d == start:
        return package_line(user_package, ChargeKind.RECURRING, money(user_package.amount), d, end, **fields)
    return package_line(
        user_package, ChargeKind.PRORATED_CHARGE, prorate(user_package.amount, d, start, end), d, end, **fields
    )


def write_invoices(lines_by_account: Mapping[int, list[ChargeLine]], *, issued_on: date):
    """One invoice per account for its new lines; writes invoices and lines with two bulk inserts."""
    account_ids = sorted(a for a, lines in lines_by_account.items() if lines)
    if not account_ids:
        return [], []
    invoices = Invoice.objects.bulk_create(
        [
            Invoice(account_id=a, issued_on=issued_on, total=sum((x.amount for x in lines_by_account[a]), Decimal(0)))
            for a in account_ids
        ],
        batch_size=WRITE_BATCH,
    )
    written = []
    for invoice in invoices:
        for line in lines_by_account[invoice.account_id]:
            line.invoice = invoice
            written.append(line)
    ChargeLine.objects.bulk_create(written, batch_size=WRITE_BATCH)
    return invoices, written


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


def bill_locked_accounts(
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
    # Billing these accounts works now: earlier failures of theirs no longer need an operator.
    BillingFailure.objects.filter(account_id__in=sorted(bill_days), resolved=False).update(resolved=True)
    if not lines_by_account:
        return [], []

    invoices, all_lines = write_invoices(lines_by_account, issued_on=as_of)
    if packages:
        UserPackage.objects.bulk_update(packages, ["next_bill_date"], batch_size=WRITE_BATCH)
    # By id: a usage record added meanwhile is not marked billed without its line.
    usage_ids = [record.pk for record in usage]
    for i in range(0, len(usage_ids), WRITE_BATCH * 5):
        UsageRecord.objects.filter(pk__in=usage_ids[i : i + WRITE_BATCH * 5]).update(billed=True)
    return invoices, all_lines
