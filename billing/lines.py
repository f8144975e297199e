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
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F

from engage.copy_rows import build, insert_objects

from .models import BillingFailure, ChargeKind, ChargeLine, Invoice, UsageRecord, UserPackage, UserPackageStatus
from .proration import money, period_containing, prorate

WRITE_BATCH = 1000


def package_label(user_package: UserPackage) -> str:
    # The billing pass reads the catalogue name with the package (`package_name`) rather than the row.
    name = getattr(user_package, "package_name", None) or user_package.package.name
    return f"{name} × {user_package.quantity}" if user_package.quantity != 1 else name


def package_line(user_package: UserPackage, kind: str, amount, start: date, end: date, **fields) -> ChargeLine:
    """An unsaved line of a package for [start, end)."""
    fields.setdefault("description", package_label(user_package))
    return build(ChargeLine, {
        "account_id": user_package.account_id, "user_package_id": user_package.pk, "kind": kind, "amount": amount,
        "period_start": start, "period_end": end, **fields,
    })


def period_line(user_package: UserPackage, d: date, bill_day: int, **fields) -> ChargeLine:
    """SPEC §5, billing a package from a date d: the line covers [d, e) of the period [s, e) that
    contains d; `recurring` at the full price when d = s, else a `prorated_charge`. Unsaved."""
    start, end = period_containing(bill_day, d)
    if d == start:
        return package_line(user_package, ChargeKind.RECURRING, money(user_package.amount), d, end, **fields)
    return package_line(
        user_package, ChargeKind.PRORATED_CHARGE, prorate(user_package.amount, d, start, end), d, end, **fields
    )


def write_invoices(lines_by_invoice: Mapping[tuple[int, date], list[ChargeLine]]):
    """One invoice per (account, issue date) for its new lines; writes invoices and lines with two bulk
    inserts."""
    keys = sorted(key for key, lines in lines_by_invoice.items() if lines)
    if not keys:
        return [], []
    terms = timedelta(days=settings.ENGAGE_PAYMENT_TERMS_DAYS)
    invoices = insert_objects(
        Invoice,
        [
            build(Invoice, {"account_id": a, "issued_on": day, "due_on": day + terms,
                            "total": sum((x.amount for x in lines_by_invoice[a, day]), Decimal(0))})
            for a, day in keys
        ],
        batch_size=WRITE_BATCH,
    )
    written = []
    for invoice, key in zip(invoices, keys, strict=True):
        for line in lines_by_invoice[key]:
            line.invoice = invoice
            written.append(line)
    insert_objects(ChargeLine, written, batch_size=WRITE_BATCH)
    return invoices, written


def set_next_bill_dates(user_packages) -> None:
    """Save the packages' next bill dates in one UPDATE … FROM a list of (id, date) pairs (an unnest of two
    arrays on PostgreSQL, which the planner joins through the primary key; a VALUES list of 500 rows at a
    time on SQLite), not Django's CASE per row."""
    rows = [(up.pk, up.next_bill_date) for up in user_packages]
    if not rows:
        return
    table = connection.ops.quote_name(UserPackage._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET next_bill_date = v.day FROM unnest(%s::bigint[], %s::date[]) AS v(id, day) "
                f"WHERE {table}.id = v.id",
                [[pk for pk, _ in rows], [day for _, day in rows]],
            )
            return
        for i in range(0, len(rows), 500):
            batch = rows[i : i + 500]
            cursor.execute(
                f"WITH v(id, day) AS (VALUES {', '.join(['(%s, %s)'] * len(batch))}) "
                f"UPDATE {table} SET next_bill_date = v.day FROM v WHERE {table}.id = v.id",
                [value for pk, day in batch for value in (pk, connection.ops.adapt_datefield_value(day))],
            )


def due_day(line: ChargeLine) -> date:
    """The day a daily run bills this line: a package's period from its next bill date on that date, a
    usage record on the day it occurred. A catch-up run dates each invoice so, and so writes the very
    invoices the daily runs would have (SPEC §6, time is replayed in order)."""
    return line.period_start


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
    return build(ChargeLine, {
        "account_id": record.account_id, "usage_record_id": record.pk, "kind": ChargeKind.USAGE,
        "amount": record.amount, "period_start": record.occurred_on, "period_end": record.occurred_on,
        "description": record.description or "Usage",
    })


def bill_locked_accounts(
    bill_days: dict[int, int],
    *,
    package_accounts,
    usage_accounts,
    as_of: date,
    until: Mapping[int, date] | None = None,
    issued_on: date | None = None,
) -> tuple[list[Invoice], list[ChargeLine]]:
    """Bill what is due as of `as_of` for accounts whose rows the caller holds locked.

    Packages of `package_accounts` with next bill date ≤ as_of, unbilled usage of `usage_accounts`
    dated ≤ as_of; an account in `until` is billed only through that date (the day before a pending
    change not applied yet: what comes after it depends on the status it brings). Each account's new
    lines go into one invoice per day they fell due (the invoices the daily runs write), or into one
    invoice dated `issued_on` when given (Bill Account). A constant number of queries whatever the
    number of accounts; next bill dates advance in the caller's transaction."""
    until = until or {}

    def through(account_id: int) -> date:
        return min(as_of, until.get(account_id, as_of))

    packages = []
    if package_accounts:
        packages = list(
            UserPackage.objects.filter(
                account_id__any=sorted(package_accounts),
                status=UserPackageStatus.ACTIVE,
                next_bill_date__lte=as_of,
            )
            .annotate(package_name=F("package__name"))
            .order_by("account_id", "pk")
        )
    usage = []
    if usage_accounts:
        usage = list(
            UsageRecord.objects.filter(
                account_id__any=sorted(usage_accounts), billed=False, occurred_on__lte=as_of
            ).order_by("account_id", "occurred_on", "pk")
        )
        usage = [record for record in usage if record.occurred_on <= through(record.account_id)]

    lines_by_invoice: dict[tuple[int, date], list[ChargeLine]] = defaultdict(list)
    billed_packages = []
    for user_package in packages:
        account_id = user_package.account_id
        lines = package_lines(user_package, bill_days[account_id], through(account_id))
        if lines:
            billed_packages.append(user_package)
        for line in lines:
            lines_by_invoice[account_id, issued_on or due_day(line)].append(line)
    for record in usage:
        line = usage_line(record)
        lines_by_invoice[record.account_id, issued_on or due_day(line)].append(line)
    # Billing these accounts works now: earlier failures of theirs no longer need an operator.
    BillingFailure.objects.filter(account_id__any=sorted(bill_days), resolved=False).update(resolved=True)
    if not lines_by_invoice:
        return [], []

    invoices, all_lines = write_invoices(lines_by_invoice)
    set_next_bill_dates(billed_packages)
    # By id: a usage record added meanwhile is not marked billed without its line.
    if usage:
        UsageRecord.objects.filter(pk__any=[record.pk for record in usage]).update(billed=True)
    return invoices, all_lines
