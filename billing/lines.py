"""The two things every way of billing shares: the line that bills a package from a date, and the
invoice that groups an account's new lines. The billing pass, Bill Account and status changes use them."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from .models import ChargeKind, ChargeLine, Invoice, UserPackage
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


def invoice_lines(lines_by_account: Mapping[int, list[ChargeLine]], *, issued_on: date):
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
