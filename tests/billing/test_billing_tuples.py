"""The billing pass on tuples (issue 28): it reads values, decides each line with the same rules as the model
path (billing/lines.py period_line, package_lines on a DuePackage or a UserPackage) and writes rows. What a
user sees is the same: the lines, invoices, next bill dates, usage billed and the pass's figures equal what
the model-based functions compute for random packages, bill days, prices, quantities and dates; the two writers
(rows for the pass, instances for Bill Account and status changes) write the same rows; and the second sweep
visits again only the ranges where the first met a locked account, and bills it there."""

import threading
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from billing import passes
from billing.lines import DuePackage, bill_locked_accounts, package_lines
from billing.models import ChargeLine, Invoice, Package, UsageRecord, UserPackage, UserPackageStatus
from billing.passes import billing_pass, split_range

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

prices = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2)
days = st.dates(date(2030, 1, 1), date(2031, 12, 31))


def _user_package(price, quantity, next_bill, name="Fibre 100"):
    return UserPackage(pk=7, account_id=3, package=Package(name=name, price=price), price=price, quantity=quantity,
                       start_date=next_bill, next_bill_date=next_bill)


@settings(max_examples=300, deadline=None)
@given(price=prices, quantity=st.integers(1, 50), bill_day=st.integers(1, 28), next_bill=days,
       months=st.integers(-2, 30), extra=st.integers(0, 27))
def test_a_due_package_gets_the_lines_of_its_user_package(price, quantity, bill_day, next_bill, months, extra):
    as_of = next_bill + timedelta(days=months * 30 + extra)
    up = _user_package(price, quantity, next_bill)
    due = DuePackage(7, 3, price, quantity, "Fibre 100", next_bill)
    objects, rows = package_lines(up, bill_day, as_of), package_lines(due, bill_day, as_of)
    assert [(x.account_id, x.user_package_id, x.usage_record_id, x.kind, x.amount, x.period_start, x.period_end,
             x.description) for x in objects] == [tuple(row) for row in rows]
    assert up.next_bill_date == due.next_bill_date


# ---------------------------------------------------------------- the pass against the model-based functions

# Dates as days before the as-of date (a few after it: not due yet).
before = st.integers(-30, 400)
package_specs = st.tuples(prices, st.integers(1, 4), before,
                          st.sampled_from([UserPackageStatus.ACTIVE] * 3 + [UserPackageStatus.REMOVED]))
usage_specs = st.tuples(st.decimals(min_value=Decimal("-50.00"), max_value=Decimal("500.00"), places=2), before,
                        st.sampled_from(["", "Calls", "Roaming\tdata \\ EU"]))
account_specs = st.tuples(st.integers(1, 28), st.sampled_from(["Active", "Active", "Suspended"]),
                          st.lists(package_specs, max_size=3), st.lists(usage_specs, max_size=3))


def _expected(accounts, as_of):
    """What the pass bills, computed with the model path (package_lines on UserPackage instances) and the SPEC's
    grouping: one invoice per account and day a line fell due, due after the payment terms."""
    lines, next_bill = [], {}
    for account in accounts:
        if account.status_type.backend_status != "active":
            continue
        for up in UserPackage.objects.filter(account=account, status=UserPackageStatus.ACTIVE).order_by("pk"):
            lines += [(line.account_id, str(line.kind), line.amount, line.period_start, line.period_end,
                       line.description, line.user_package_id, None)
                      for line in package_lines(up, account.bill_day, as_of)]
            next_bill[up.pk] = up.next_bill_date
        for r in UsageRecord.objects.filter(account=account, billed=False, occurred_on__lte=as_of):
            lines.append((r.account_id, "usage", r.amount, r.occurred_on, r.occurred_on, r.description or "Usage",
                          None, r.pk))
    invoices = defaultdict(Decimal)
    for line in lines:
        invoices[line[0], line[3]] += line[2]
    terms = timedelta(days=django_settings.ENGAGE_PAYMENT_TERMS_DAYS)
    return (sorted(lines, key=repr), {(a, day, day + terms, total) for (a, day), total in invoices.items()},
            next_bill)


def _written():
    lines = sorted(
        ChargeLine.objects.values_list("account_id", "kind", "amount", "period_start", "period_end", "description",
                                       "user_package_id", "usage_record_id"), key=repr)
    invoices = set(Invoice.objects.values_list("account_id", "issued_on", "due_on", "total"))
    # Each line in the invoice of its account and the day it fell due.
    assert not ChargeLine.objects.exclude(invoice__account_id=F("account_id")).exists()
    assert not ChargeLine.objects.exclude(invoice__issued_on=F("period_start")).exists()
    return lines, invoices


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(specs=st.lists(account_specs, min_size=1, max_size=4), as_of=days)
@pytest.mark.django_db
def test_the_pass_writes_what_the_model_functions_compute(specs, as_of):
    with transaction.atomic():
        accounts = []
        for bill_day, status, packages, usage in specs:
            account = make_account(bill_day=bill_day, type_name=status, email=f"t{Account.objects.count()}@example.com")
            for i, (price, quantity, days_before, state) in enumerate(packages):
                next_bill = as_of - timedelta(days=days_before)
                UserPackageFactory(account=account, package=PackageFactory(name=f"Package {i}", price=price),
                                   price=price, quantity=quantity, start_date=next_bill, next_bill_date=next_bill,
                                   status=state)
            for amount, days_before, description in usage:
                UsageRecordFactory(account=account, amount=amount, occurred_on=as_of - timedelta(days=days_before),
                                   description=description)
            accounts.append(account)
        expected_lines, expected_invoices, next_bill = _expected(accounts, as_of)

        summary = billing_pass(as_of=as_of)

        assert _written() == (expected_lines, expected_invoices)
        assert {up.pk: up.next_bill_date for up in UserPackage.objects.filter(pk__in=next_bill)} == next_bill
        billed = {line[7] for line in expected_lines if line[7]}
        assert set(UsageRecord.objects.filter(billed=True).values_list("pk", flat=True)) == billed
        assert (summary.accounts, summary.lines, summary.invoices, summary.total, summary.failed) == (
            len({line[0] for line in expected_lines}), len(expected_lines), len(expected_invoices),
            sum((total for *_, total in expected_invoices), Decimal("0.00")), 0)
        transaction.set_rollback(True)


# ---------------------------------------------------------------- the two writers


def _catch_up_accounts(n):
    """n accounts (bill day b = 1…19) behind since January, as of 28 March: Fibre from its bill day (3 periods),
    TV from 20 January (prorated to 1 February or b, then 2 periods), usage of 2 February whose description COPY
    must escape: 7 lines, on 5 days (4 when b = 2)."""
    fibre = PackageFactory(name="Fibre 100", price=Decimal("49.99"))
    tv = PackageFactory(name="TV «Plus»", price=Decimal("12.50"))
    bill_days = {}
    for i in range(n):
        account = make_account(bill_day=1 + i % 19, name=f"Customer {i}", email=f"c{i}@example.com")
        UserPackageFactory(account=account, package=fibre, start_date=date(2031, 1, 1 + i % 19))
        UserPackageFactory(account=account, package=tv, quantity=1 + i % 3, start_date=date(2031, 1, 20))
        UsageRecordFactory(account=account, amount=Decimal("-1.25"), occurred_on=date(2031, 2, 2),
                           description="Refund\tline 2\\3\nthanks" if i % 2 else "")
        bill_days[account.pk] = account.bill_day
    return bill_days


def _rows():
    lines = ChargeLine.objects.order_by("pk").values_list(
        "account_id", "user_package_id", "usage_record_id", "kind", "amount", "period_start", "period_end",
        "description", "invoice__account_id", "invoice__issued_on", "invoice__due_on", "invoice__total")
    return list(lines), sorted(UserPackage.objects.values_list("pk", "next_bill_date")), sorted(
        UsageRecord.objects.values_list("pk", "billed"))


@pytest.mark.django_db
def test_rows_and_instances_write_the_same_rows():
    # 40 accounts × 7 lines: over COPY_MIN_ROWS, so on PostgreSQL both writers COPY (rows, and instances).
    bill_days = _catch_up_accounts(40)
    every = set(bill_days)
    written = []
    for as_rows in (True, False):
        with transaction.atomic():
            invoices, lines = bill_locked_accounts(bill_days, package_accounts=every, usage_accounts=every,
                                                   as_of=date(2031, 3, 28), as_rows=as_rows)
            written.append(((len(invoices), len(lines), sum(i.total for i in invoices)), _rows()))
            transaction.set_rollback(True)
    assert written[0] == written[1]
    (invoices, lines, total), (rows, _, usage) = written[0]
    assert (invoices, lines, len(rows)) == (40 * 5 - 3, 40 * 7, 40 * 7)  # b = 2 for 3 accounts
    assert all(billed for _, billed in usage)
    assert {row[7] for row in rows if row[3] == "usage"} == {"Usage", "Refund\tline 2\\3\nthanks"}


@pytest.mark.django_db
def test_bill_account_gets_saved_instances():
    bill_days = _catch_up_accounts(1)
    (pk, bill_day), = bill_days.items()
    invoices, lines = bill_locked_accounts({pk: bill_day}, package_accounts={pk}, usage_accounts={pk},
                                           as_of=date(2031, 3, 28), issued_on=date(2031, 3, 28))
    (invoice,) = invoices
    saved = Invoice.objects.get(pk=invoice.pk)
    assert not invoice._state.adding and (saved.total, saved.created_at) == (invoice.total, invoice.created_at)
    assert [line.pk for line in lines] == list(ChargeLine.objects.order_by("pk").values_list("pk", flat=True))
    assert all(line.invoice == invoice for line in lines)


# ---------------------------------------------------------------- the second sweep


def _claims(queries):
    # The claim reads each due account's bill day (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has no row locks).
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and '"accounts_account"."bill_day"' in q["sql"]]


@pytest.mark.django_db
def test_nothing_held_no_range_is_claimed_twice(monkeypatch):
    monkeypatch.setattr(passes, "CHUNK_SIZE", 2)
    _catch_up_accounts(7)
    with CaptureQueriesContext(connection) as queries:
        summary = billing_pass(as_of=date(2031, 3, 28))
    assert (summary.accounts, summary.lines) == (7, 7 * 7)
    assert len(_claims(queries.captured_queries)) == len(split_range(passes.account_id_bounds(), 2))


@pytest.mark.postgres
# serialized_rollback: the flush after a transactional test would lose the default status types.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_account_held_during_the_first_sweep_is_billed_by_the_second_and_only_its_range_is_revisited(
    monkeypatch,
):
    monkeypatch.setattr(passes, "CHUNK_SIZE", 3)
    bill_days = _catch_up_accounts(9)
    held = sorted(bill_days)[1]  # in the first range
    locked, release = threading.Event(), threading.Event()

    def hold():  # another transaction (a status change, say) holds the account's row a while
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=held)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(30)
    ranges = split_range(passes.account_id_bounds(), 3)
    claims = 0

    def let_go_before_the_second_sweep(execute, sql, params, many, context):
        nonlocal claims
        result = execute(sql, params, many, context)
        if "SKIP LOCKED" in sql:
            claims += 1
            if claims == len(ranges):  # the first sweep's last claim: the holder commits, having billed nothing
                release.set()
                holder.join(30)
        return result

    with connection.execute_wrapper(let_go_before_the_second_sweep):
        summary = billing_pass(as_of=date(2031, 3, 28))

    assert claims == len(ranges) + 1  # the second sweep claimed the held account's range only
    assert (summary.accounts, summary.lines, summary.failed) == (9, 9 * 7, 0)
    # Its lines once, in the invoices of the days they fell due (bill day 2): Fibre 49.99 a period; TV × 2 at
    # 25.00, prorated 20 Jan–2 Feb (13 of 31 days: 10.48), then full; usage −1.25 on 2 Feb.
    assert ChargeLine.objects.filter(account_id=held).count() == 7
    assert sorted(Invoice.objects.filter(account_id=held).values_list("issued_on", "total")) == [
        (date(2031, 1, 2), Decimal("49.99")), (date(2031, 1, 20), Decimal("10.48")),
        (date(2031, 2, 2), Decimal("73.74")), (date(2031, 3, 2), Decimal("74.99"))]
