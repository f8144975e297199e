"""The billing pass (SPEC §5, §6): the truth table, catch-up, proration to the bill day, idempotency,
invoices, one bad account, and a query count that does not grow with the accounts."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import lines as billing_lines
from billing import passes
from billing.models import BillingFailure, ChargeLine, Invoice, UsageRecord, UserPackage, UserPackageStatus
from billing.passes import billing_pass
from engage.models import PassRun

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

pytestmark = pytest.mark.django_db


def lines_of(account):
    return list(
        ChargeLine.objects.filter(account=account)
        .order_by("period_start", "pk")
        .values_list("kind", "amount", "period_start", "period_end")
    )


def account_with_package_and_usage(status, *, price="30.00"):
    account = make_account(bill_day=1, type_name=status, name=f"{status} customer")
    package = PackageFactory(name="Fibre 30", price=Decimal(price))
    UserPackageFactory(account=account, package=package, start_date=date(2031, 1, 1))
    # Used on the bill day: a daily run bills it with the period, so one invoice holds both.
    UsageRecordFactory(account=account, amount=Decimal("3.50"), occurred_on=date(2031, 1, 1))
    return account


# ---------------------------------------------------------------- the truth table (SPEC §2)


def test_active_account_packages_and_usage_are_billed():
    account = account_with_package_and_usage("Active")
    summary = billing_pass(as_of=date(2031, 1, 10))
    assert lines_of(account) == [
        ("recurring", Decimal("30.00"), date(2031, 1, 1), date(2031, 2, 1)),
        ("usage", Decimal("3.50"), date(2031, 1, 1), date(2031, 1, 1)),
    ]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 2, 1)
    assert UsageRecord.objects.get(account=account).billed is True
    assert (summary.accounts, summary.lines, summary.invoices, summary.total) == (1, 2, 1, Decimal("33.50"))


@pytest.mark.parametrize("status", ["Suspended", "Cancelled", "Prospect"])
def test_non_billing_statuses_are_not_billed(status):
    account = account_with_package_and_usage(status)
    summary = billing_pass(as_of=date(2031, 1, 10))
    assert lines_of(account) == []
    assert Invoice.objects.filter(account=account).count() == 0
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 1, 1)
    assert UsageRecord.objects.get(account=account).billed is False
    assert summary.lines == 0


def test_cancelled_account_packages_stay_active():
    account = account_with_package_and_usage("Cancelled")
    billing_pass(as_of=date(2031, 3, 10))
    assert UserPackage.objects.get(account=account).status == UserPackageStatus.ACTIVE


def test_legacy_switch_bills_suspended_usage_but_not_packages(settings):
    settings.ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING = True
    suspended = account_with_package_and_usage("Suspended")
    cancelled = account_with_package_and_usage("Cancelled")
    billing_pass(as_of=date(2031, 1, 10))
    assert lines_of(suspended) == [("usage", Decimal("3.50"), date(2031, 1, 1), date(2031, 1, 1))]
    assert Invoice.objects.get(account=suspended).total == Decimal("3.50")
    assert UserPackage.objects.get(account=suspended).next_bill_date == date(2031, 1, 1)
    assert lines_of(cancelled) == []


def test_legacy_switch_off_by_default_suspended_usage_stays_unbilled(settings):
    settings.ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING = False
    suspended = account_with_package_and_usage("Suspended")
    billing_pass(as_of=date(2031, 1, 10))
    assert UsageRecord.objects.get(account=suspended).billed is False


def test_billing_follows_the_status_types_backend_status_not_its_name():
    from statuses.models import AccountStatusType

    account = account_with_package_and_usage("Active")
    # An operator-named type whose back-end status is suspended: its accounts are not billed.
    on_hold = AccountStatusType.objects.create(name="On hold", backend_status="suspended")
    type(account).objects.filter(pk=account.pk).update(status_type=on_hold)
    billing_pass(as_of=date(2031, 1, 10))
    assert lines_of(account) == []


# ---------------------------------------------------------------- periods


def test_catch_up_bills_every_missed_period_one_by_one():
    account = make_account(bill_day=15)
    UserPackageFactory(account=account, package=PackageFactory(name="Fibre 100", price=Decimal("49.99")),
                       start_date=date(2031, 1, 15))
    billing_pass(as_of=date(2031, 4, 20))
    assert lines_of(account) == [
        ("recurring", Decimal("49.99"), date(2031, 1, 15), date(2031, 2, 15)),
        ("recurring", Decimal("49.99"), date(2031, 2, 15), date(2031, 3, 15)),
        ("recurring", Decimal("49.99"), date(2031, 3, 15), date(2031, 4, 15)),
        ("recurring", Decimal("49.99"), date(2031, 4, 15), date(2031, 5, 15)),
    ]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 5, 15)
    # The invoices the four missed daily runs would have written: one per period, dated its first day.
    assert list(Invoice.objects.filter(account=account).order_by("issued_on").values_list("issued_on", "total")) == [
        (date(2031, 1, 15), Decimal("49.99")),
        (date(2031, 2, 15), Decimal("49.99")),
        (date(2031, 3, 15), Decimal("49.99")),
        (date(2031, 4, 15), Decimal("49.99")),
    ]


def test_package_started_mid_period_is_prorated_to_the_bill_day_then_full_periods():
    account = make_account(bill_day=15)
    UserPackageFactory(account=account, package=PackageFactory(name="Fibre 100", price=Decimal("49.99")),
                       start_date=date(2031, 3, 1))
    billing_pass(as_of=date(2031, 3, 1))
    assert lines_of(account) == [("prorated_charge", Decimal("25.00"), date(2031, 3, 1), date(2031, 3, 15))]
    billing_pass(as_of=date(2031, 3, 14))  # nothing due before the bill day
    assert len(lines_of(account)) == 1
    billing_pass(as_of=date(2031, 3, 15))
    billing_pass(as_of=date(2031, 4, 15))
    assert lines_of(account) == [
        ("prorated_charge", Decimal("25.00"), date(2031, 3, 1), date(2031, 3, 15)),
        ("recurring", Decimal("49.99"), date(2031, 3, 15), date(2031, 4, 15)),
        ("recurring", Decimal("49.99"), date(2031, 4, 15), date(2031, 5, 15)),
    ]
    assert Invoice.objects.filter(account=account).count() == 3


def test_quantity_multiplies_the_price_before_proration():
    account = make_account(bill_day=1)
    UserPackageFactory(account=account, package=PackageFactory(name="VoIP line", price=Decimal("19.95")),
                       quantity=2, start_date=date(2028, 2, 29))
    billing_pass(as_of=date(2028, 3, 1))
    assert lines_of(account) == [
        ("prorated_charge", Decimal("1.38"), date(2028, 2, 29), date(2028, 3, 1)),
        ("recurring", Decimal("39.90"), date(2028, 3, 1), date(2028, 4, 1)),
    ]


def test_bill_day_28_across_february():
    account = make_account(bill_day=28)
    UserPackageFactory(account=account, package=PackageFactory(name="Mobile", price=Decimal("19.95")),
                       start_date=date(2027, 2, 27))
    billing_pass(as_of=date(2027, 3, 28))
    assert lines_of(account) == [
        ("prorated_charge", Decimal("0.64"), date(2027, 2, 27), date(2027, 2, 28)),
        ("recurring", Decimal("19.95"), date(2027, 2, 28), date(2027, 3, 28)),
        ("recurring", Decimal("19.95"), date(2027, 3, 28), date(2027, 4, 28)),
    ]


def test_what_is_not_due_is_not_billed():
    account = make_account(bill_day=1)
    package = PackageFactory(name="Static IP", price=Decimal("5.00"))
    UserPackageFactory(account=account, package=package, start_date=date(2031, 2, 1))  # future
    UserPackageFactory(account=account, package=package, start_date=date(2031, 1, 1), status=UserPackageStatus.REMOVED)
    UsageRecordFactory(account=account, occurred_on=date(2031, 1, 11))  # after as_of
    billing_pass(as_of=date(2031, 1, 10))
    assert lines_of(account) == []


# ---------------------------------------------------------------- idempotency and invoices


def test_running_the_pass_twice_bills_once():
    account = account_with_package_and_usage("Active")
    first = billing_pass(as_of=date(2031, 3, 10))
    before = lines_of(account)
    second = billing_pass(as_of=date(2031, 3, 10))
    assert lines_of(account) == before
    assert len(before) == 4  # January, February, March and the usage
    assert (first.lines, second.lines, second.invoices) == (4, 0, 0)
    assert Invoice.objects.filter(account=account).count() == 3  # January (with the usage), February, March


def test_each_accounts_new_lines_are_one_invoice_per_day_they_fell_due():
    one = account_with_package_and_usage("Active")
    two = make_account(bill_day=15, name="Second")
    UserPackageFactory(account=two, package=PackageFactory(name="Fibre 100", price=Decimal("49.99")),
                       start_date=date(2031, 1, 1))
    UserPackageFactory(account=two, package=PackageFactory(name="Static IP", price=Decimal("5.00")),
                       quantity=3, start_date=date(2031, 1, 15))
    UsageRecordFactory(account=two, amount=Decimal("1.25"), occurred_on=date(2031, 1, 15))
    billing_pass(as_of=date(2031, 1, 20))
    invoices = {
        (invoice.account_id, invoice.issued_on): invoice for invoice in Invoice.objects.all()
    }
    assert set(invoices) == {(one.pk, date(2031, 1, 1)), (two.pk, date(2031, 1, 1)), (two.pk, date(2031, 1, 15))}
    assert invoices[one.pk, date(2031, 1, 1)].total == Decimal("33.50")
    # 49.99 × 14/31 = 22.58 for [1 Jan, 15 Jan), billed on 1 Jan; on 15 Jan [15 Jan, 15 Feb) in full,
    # Static IP 3 × 5.00 and the usage of that day.
    assert list(invoices[two.pk, date(2031, 1, 1)].lines.values_list("amount", flat=True)) == [Decimal("22.58")]
    assert sorted(invoices[two.pk, date(2031, 1, 15)].lines.values_list("amount", flat=True)) == [
        Decimal("1.25"), Decimal("15.00"), Decimal("49.99")
    ]
    assert invoices[two.pk, date(2031, 1, 15)].total == Decimal("66.24")
    assert not ChargeLine.objects.filter(invoice__isnull=True).exists()
    for invoice in invoices.values():
        assert sum(invoice.lines.values_list("amount", flat=True)) == invoice.total


def test_the_pass_is_recorded():
    account_with_package_and_usage("Active")
    billing_pass(as_of=date(2031, 1, 10))
    run = PassRun.objects.get(name="billing")
    assert (run.as_of, run.succeeded, run.processed, run.failed) == (date(2031, 1, 10), True, 1, 0)
    assert "33.50" in run.detail


def test_small_chunks_bill_every_account(monkeypatch):
    monkeypatch.setattr(passes, "CHUNK_SIZE", 2)
    accounts = [account_with_package_and_usage("Active") for _ in range(5)]
    summary = billing_pass(as_of=date(2031, 1, 10))
    assert summary.accounts == 5
    assert summary.total == Decimal("167.50")
    assert Invoice.objects.filter(account__in=accounts).count() == 5


# ---------------------------------------------------------------- one bad account


def test_one_failing_account_is_recorded_and_skipped():
    good_before = account_with_package_and_usage("Active")
    bad = account_with_package_and_usage("Active")
    good_after = account_with_package_and_usage("Active")
    # A line already there for the period the pass would bill (data written behind its back):
    # the database refuses the second line, so this account cannot be billed.
    up = UserPackage.objects.get(account=bad)
    ChargeLine.objects.create(account=bad, user_package=up, kind="recurring", amount=Decimal("30.00"),
                              period_start=date(2031, 1, 1), period_end=date(2031, 2, 1))

    summary = billing_pass(as_of=date(2031, 1, 10))

    assert summary.failed == 1 and summary.accounts == 2
    assert summary.total == Decimal("67.00")
    for good in (good_before, good_after):
        assert Invoice.objects.get(account=good).total == Decimal("33.50")
    # Nothing of the bad account was written: not its usage either, and its bill date did not move.
    assert Invoice.objects.filter(account=bad).count() == 0
    assert UsageRecord.objects.get(account=bad).billed is False
    assert UserPackage.objects.get(account=bad).next_bill_date == date(2031, 1, 1)
    failure = BillingFailure.objects.get()
    assert failure.account_id == bad.pk and failure.as_of == date(2031, 1, 10)
    assert "IntegrityError" in failure.error
    run = PassRun.objects.get(name="billing")
    assert (run.succeeded, run.processed, run.failed) == (False, 2, 1)
    assert str(bad.pk) in run.detail


def test_a_python_error_in_one_account_does_not_stop_the_pass(monkeypatch):
    accounts = [account_with_package_and_usage("Active") for _ in range(3)]
    real = billing_lines.package_lines

    def broken_for_the_second(user_package, bill_day, as_of):
        if user_package.account_id == accounts[1].pk:
            raise RuntimeError("rating engine unavailable")
        return real(user_package, bill_day, as_of)

    monkeypatch.setattr(billing_lines, "package_lines", broken_for_the_second)
    summary = billing_pass(as_of=date(2031, 1, 10))
    assert summary.accounts == 2 and summary.failed == 1
    assert set(Invoice.objects.values_list("account_id", flat=True)) == {accounts[0].pk, accounts[2].pk}
    assert BillingFailure.objects.get().error == "RuntimeError: rating engine unavailable"


# ---------------------------------------------------------------- set-based


def _make_accounts(n, *, first=0):
    package = PackageFactory(name="Fibre 100", price=Decimal("49.99"))
    for i in range(first, first + n):
        account = make_account(bill_day=1 + i % 28, name=f"Customer {i}")
        UserPackageFactory(account=account, package=package, start_date=date(2031, 1, 1 + i % 28))
        UsageRecordFactory(account=account, occurred_on=date(2031, 1, 1))
    make_account(bill_day=1, type_name="Cancelled", name="Cancelled")


def test_query_count_does_not_grow_with_the_accounts(django_assert_max_num_queries):
    # Two lines per account, so that 40 accounts' lines still fit one INSERT on SQLite (999 parameters);
    # beyond that Django splits a bulk insert into batches, a few queries per chunk of 500 accounts.
    _make_accounts(3)
    with CaptureQueriesContext(connection) as few:
        summary = billing_pass(as_of=date(2031, 1, 31))
    assert summary.accounts == 3
    _make_accounts(40, first=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        summary = billing_pass(as_of=date(2031, 1, 31))
    assert (summary.accounts, summary.lines) == (40, 80)
    assert summary.total == 40 * (Decimal("49.99") + Decimal("3.50"))
