"""What every way of billing shares: the line that bills a package from a date, the invoice that groups
an account's new lines, and billing what is due for locked accounts. The billing pass, Bill Account and
status changes use them.

One set of rules, two forms of a package: a `UserPackage` (status changes, forecasts) gets its lines as unsaved
`ChargeLine`s; a `DuePackage`, the values the billing pass reads of a due package, gets them as `LineRow`
tuples. `period_line` and `package_lines` decide every line of either (SPEC §5: proration.period_containing,
prorate, money); only `package_line`, which puts the decision in the package's form, tells them apart.

`bill_locked_accounts` takes accounts whose rows the caller has locked, reads their due packages and unbilled
usage as values (one query each), and writes every invoice and line of the batch as rows (COPY on PostgreSQL),
the next bill dates and the usage billed flags with one statement each, in the caller's transaction; it answers
with saved instances (Bill Account, status changes) or, for the billing pass, with the rows (`as_rows`). The
database refuses a second billing-pass line for a package and period start.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q

from engage.copy_rows import build, insert_objects, insert_rows
from engage.update_rows import update_rows

from .models import BillingFailure, ChargeKind, ChargeLine, Invoice, UsageRecord, UserPackage, UserPackageStatus
from .proration import money, period_containing, prorate

WRITE_BATCH = 1000


class LineRow(NamedTuple):
    """A new line as a row: what the billing pass writes, without a model instance."""

    account_id: int
    user_package_id: int | None
    usage_record_id: int | None
    kind: str
    amount: Decimal
    period_start: date
    period_end: date
    description: str


# The ChargeLine fields a LineRow holds, in its order, and the invoice it goes into.
LINE_FIELDS = (*LineRow._fields, "invoice_id")


class InvoiceRow(NamedTuple):
    """A written invoice as a row (its id from the sequence)."""

    id: int
    account_id: int
    issued_on: date
    due_on: date
    total: Decimal


class DuePackage:
    """A due user package as the billing pass reads it: its values, not a model instance. The rules read of it
    what they read of a UserPackage (pk, account_id, amount, next_bill_date, which package_lines advances)."""

    __slots__ = ("pk", "account_id", "amount", "description", "next_bill_date")

    def __init__(self, pk: int, account_id: int, price: Decimal, quantity: int, name: str, next_bill_date: date):
        self.pk, self.account_id, self.next_bill_date = pk, account_id, next_bill_date
        self.amount = price * quantity
        self.description = label(name, quantity)


def label(name: str, quantity: int) -> str:
    """A package line's description: the catalogue name, with the quantity when it is not 1."""
    return f"{name} × {quantity}" if quantity != 1 else name


def package_label(user_package: UserPackage) -> str:
    # The billing pass reads the catalogue name with the package (`package_name`) rather than the row.
    return label(getattr(user_package, "package_name", None) or user_package.package.name, user_package.quantity)


def package_line(user_package: UserPackage | DuePackage, kind: str, amount, start: date, end: date, **fields):
    """A line of a package for [start, end) in the package's form: a LineRow of a DuePackage, else an unsaved
    ChargeLine (with `fields`)."""
    if isinstance(user_package, DuePackage):  # a test of its class: singledispatch cost more than the line
        return LineRow(user_package.account_id, user_package.pk, None, kind, amount, start, end,
                       user_package.description)
    fields.setdefault("description", package_label(user_package))
    return build(ChargeLine, {
        "account_id": user_package.account_id, "user_package_id": user_package.pk, "kind": kind, "amount": amount,
        "period_start": start, "period_end": end, **fields,
    })


def period_line(user_package: UserPackage | DuePackage, d: date, bill_day: int, **fields):
    """SPEC §5, billing a package from a date d: the line covers [d, e) of the period [s, e) that
    contains d; `recurring` at the full price when d = s, else a `prorated_charge`. Unsaved."""
    start, end = period_containing(bill_day, d)
    if d == start:
        return package_line(user_package, ChargeKind.RECURRING, money(user_package.amount), d, end, **fields)
    return package_line(
        user_package, ChargeKind.PRORATED_CHARGE, prorate(user_package.amount, d, start, end), d, end, **fields
    )


# The Invoice fields an InvoiceRow holds after its id.
INVOICE_FIELDS = InvoiceRow._fields[1:]


def _invoices_of(lines_by_invoice) -> tuple[list[tuple[int, date]], list[tuple[int, date, date, Decimal]]]:
    """One invoice per (account, issue date) with new lines, in key order: the keys, and each invoice's values
    (account, issued on, due on after the payment terms, total of its lines)."""
    keys = sorted(key for key, lines in lines_by_invoice.items() if lines)
    terms = timedelta(days=settings.ENGAGE_PAYMENT_TERMS_DAYS)
    return keys, [(a, day, day + terms, sum((x.amount for x in lines_by_invoice[a, day]), Decimal(0)))
                  for a, day in keys]


def write_invoices(lines_by_invoice: Mapping[tuple[int, date], list[ChargeLine]]):
    """One invoice per (account, issue date) for its new lines (unsaved ChargeLines); writes invoices and lines
    with two bulk inserts. Returns the invoices and the lines, saved."""
    keys, values = _invoices_of(lines_by_invoice)
    invoices = insert_objects(Invoice, [build(Invoice, dict(zip(INVOICE_FIELDS, row, strict=True))) for row in values],
                              batch_size=WRITE_BATCH)
    written = []
    for invoice, key in zip(invoices, keys, strict=True):
        for line in lines_by_invoice[key]:
            line.invoice = invoice
            written.append(line)
    insert_objects(ChargeLine, written, batch_size=WRITE_BATCH)
    return invoices, written


def write_line_rows(lines_by_invoice: Mapping[tuple[int, date], list[LineRow]]):
    """The same for lines as rows: invoices and lines written as rows (COPY on PostgreSQL), no instance made.
    Returns the invoices and the lines (rows)."""
    keys, values = _invoices_of(lines_by_invoice)
    ids = insert_rows(Invoice, INVOICE_FIELDS, values, ids=True, batch_size=WRITE_BATCH)
    invoices = [InvoiceRow(pk, *row) for pk, row in zip(ids, values, strict=True)]
    lines = [line for key in keys for line in lines_by_invoice[key]]
    rows = [(*line, invoice.id) for invoice, key in zip(invoices, keys, strict=True) for line in lines_by_invoice[key]]
    insert_rows(ChargeLine, LINE_FIELDS, rows, batch_size=WRITE_BATCH)
    return invoices, lines


def set_next_bill_dates(user_packages) -> None:
    """Save the packages' next bill dates (UserPackages or DuePackages) in one UPDATE … FROM a list of (id, date)
    pairs (engage/update_rows.py), not Django's CASE per row."""
    update_rows(UserPackage, [("id", "bigint"), ("next_bill_date", "date")],
                [(up.pk, up.next_bill_date) for up in user_packages], assignments=["next_bill_date = v.next_bill_date"])


def due_day(line) -> date:
    """The day a daily run bills this line: a package's period from its next bill date on that date, a
    usage record on the day it occurred. A catch-up run dates each invoice so, and so writes the very
    invoices the daily runs would have (SPEC §6, time is replayed in order)."""
    return line.period_start


def package_lines(user_package: UserPackage | DuePackage, bill_day: int, as_of: date) -> list:
    """Bill a package from its next bill date n, one period at a time while n ≤ as_of (catching up
    missed periods); advances user_package.next_bill_date in memory. Lines in the package's form."""
    lines = []
    n = user_package.next_bill_date
    while n <= as_of:
        line = period_line(user_package, n, bill_day)
        lines.append(line)
        n = line.period_end
    user_package.next_bill_date = n
    return lines


def usage_line(record_id: int, account_id: int, amount: Decimal, occurred_on: date, description: str) -> LineRow:
    # A usage line's period is the day it occurred.
    return LineRow(account_id, None, record_id, ChargeKind.USAGE, amount, occurred_on, occurred_on,
                   description or "Usage")


def _write_as_objects(lines_by_invoice: Mapping[tuple[int, date], list[LineRow]]):
    return write_invoices({key: [build(ChargeLine, line._asdict()) for line in lines]
                           for key, lines in lines_by_invoice.items()})


def _ids(ids) -> frozenset[int]:
    """Ids for an `__any` lookup as a set: Django walks every element of a list (or tuple) looking for expressions
    to resolve, a millisecond for a chunk's accounts."""
    return frozenset(ids)


def _of_accounts(account_ids) -> Q:
    """The rows of these accounts. The bounds say the same again: the planner then reads the account_id index for
    a chunk's accounts (a range of ids) instead of scanning the whole table for each chunk."""
    return Q(account_id__any=_ids(account_ids), account_id__gte=min(account_ids), account_id__lte=max(account_ids))


def bill_locked_accounts(
    bill_days: dict[int, int],
    *,
    package_accounts,
    usage_accounts,
    as_of: date,
    until: Mapping[int, date] | None = None,
    issued_on: date | None = None,
    as_rows: bool = False,
):
    """Bill what is due as of `as_of` for accounts whose rows the caller holds locked.

    Packages of `package_accounts` with next bill date ≤ as_of, unbilled usage of `usage_accounts`
    dated ≤ as_of; an account in `until` is billed only through that date (the day before a pending
    change not applied yet: what comes after it depends on the status it brings). Each account's new
    lines go into one invoice per day they fell due (the invoices the daily runs write), or into one
    invoice dated `issued_on` when given (Bill Account). A constant number of queries whatever the
    number of accounts; next bill dates advance in the caller's transaction.

    Returns (invoices, lines) as written: saved Invoice and ChargeLine instances (Bill Account, status changes),
    or with `as_rows` InvoiceRow and LineRow tuples (the billing pass: values read, rows written, no model
    instance per package, line or invoice). Either way the lines are decided and written by the same code."""
    until = until or {}

    def through(account_id: int) -> date:
        return min(as_of, until.get(account_id, as_of))

    packages = []
    if package_accounts:
        packages = [
            DuePackage(*values)
            for values in UserPackage.objects.filter(
                _of_accounts(package_accounts), status=UserPackageStatus.ACTIVE, next_bill_date__lte=as_of
            )
            .order_by("account_id", "pk")
            .values_list("pk", "account_id", "price", "quantity", "package__name", "next_bill_date")
        ]
    usage = []
    if usage_accounts:
        records = (
            UsageRecord.objects.filter(_of_accounts(usage_accounts), billed=False, occurred_on__lte=as_of)
            .order_by("account_id", "occurred_on", "pk")
            .values_list("pk", "account_id", "amount", "occurred_on", "description")
        )
        usage = [usage_line(*values) for values in records]
        usage = [line for line in usage if line.period_start <= through(line.account_id)]

    lines_by_invoice: dict[tuple[int, date], list[LineRow]] = defaultdict(list)
    billed_packages = []
    for package in packages:
        account_id = package.account_id
        lines = package_lines(package, bill_days[account_id], through(account_id))
        if lines:
            billed_packages.append(package)
        for line in lines:
            lines_by_invoice[account_id, issued_on or due_day(line)].append(line)
    for line in usage:
        lines_by_invoice[line.account_id, issued_on or due_day(line)].append(line)
    # Billing these accounts works now: earlier failures of theirs no longer need an operator.
    BillingFailure.objects.filter(account_id__any=_ids(bill_days), resolved=False).update(resolved=True)
    if not lines_by_invoice:
        return [], []

    written = (write_line_rows if as_rows else _write_as_objects)(lines_by_invoice)
    set_next_bill_dates(billed_packages)
    # By id: a usage record added meanwhile is not marked billed without its line.
    if usage:
        UsageRecord.objects.filter(pk__any=_ids(line.usage_record_id for line in usage)).update(billed=True)
    return written
