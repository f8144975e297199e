"""Two billing passes at once against PostgreSQL, in real threads (each its own connection)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from billing import passes, services
from billing.models import ChargeLine, Invoice, UsageRecord, UserPackage
from billing.passes import billing_pass
from tests.concurrency import all_succeed

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

ACCOUNTS = 60


@pytest.mark.postgres
# serialized_rollback: the flush after a transactional test would lose the default status types.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_passes_at_once_bill_every_period_exactly_once(monkeypatch, caplog):
    # Small chunks, so that the two runs interleave over many chunks and meet on locked rows.
    monkeypatch.setattr(passes, "CHUNK_SIZE", 7)
    fibre = PackageFactory(name="Fibre 100", price=Decimal("49.99"))
    static = PackageFactory(name="Static IP", price=Decimal("5.00"))
    for i in range(ACCOUNTS):
        account = make_account(bill_day=15, name=f"Concurrent {i}")
        # Three missed periods of Fibre, one prorated first line of Static IP ([1 Mar, 15 Mar) = 14/28).
        UserPackageFactory(account=account, package=fibre, start_date=date(2031, 1, 15))
        UserPackageFactory(account=account, package=static, start_date=date(2031, 3, 1))
        UsageRecordFactory(account=account, amount=Decimal("1.25"), occurred_on=date(2031, 3, 2))

    def pass_():
        return billing_pass(as_of=date(2031, 3, 20))

    summaries = all_succeed(pass_, pass_)

    per_account = Decimal("49.99") * 3 + Decimal("2.50") + Decimal("5.00") + Decimal("1.25")
    assert ChargeLine.objects.count() == ACCOUNTS * 6
    assert ChargeLine.objects.aggregate(total=Sum("amount"))["total"] == per_account * ACCOUNTS
    duplicates = (
        ChargeLine.objects.filter(user_package__isnull=False)
        .values("user_package", "period_start").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicates.exists()
    # Each account was billed by exactly one of the two runs: one invoice per day its lines fell due
    # (15 Jan, 15 Feb, 1 Mar, 2 Mar, 15 Mar), together the exact total.
    assert Invoice.objects.count() == ACCOUNTS * 5
    per_account_totals = Invoice.objects.values("account").annotate(total=Sum("total")).values_list("total", flat=True)
    assert set(per_account_totals) == {per_account}
    assert sum(s.accounts for s in summaries) == ACCOUNTS
    assert sum(s.lines for s in summaries) == ACCOUNTS * 6
    assert sum(s.failed for s in summaries) == 0
    # The runs shared the work through row locks: neither met the other's lines (no chunk redone).
    assert "account by account" not in caplog.text
    assert not UserPackage.objects.filter(next_bill_date__lte=date(2031, 3, 20)).exists()
    assert not UsageRecord.objects.filter(billed=False).exists()


@pytest.mark.postgres
# serialized_rollback: the flush after a transactional test would lose the default status types.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bill_account_during_a_pass_bills_once(monkeypatch):
    monkeypatch.setattr(passes, "CHUNK_SIZE", 3)
    fibre = PackageFactory(name="Fibre 100", price=Decimal("49.99"))
    accounts = []
    for i in range(20):
        account = make_account(bill_day=1, name=f"Customer {i}")
        UserPackageFactory(account=account, package=fibre, start_date=date(2031, 1, 1))
        accounts.append(account)
    as_of = date(2031, 2, 10)

    def bill_by_hand():
        return [services.bill_account(account_id=a.pk, as_of=as_of) for a in reversed(accounts)]

    def pass_():
        return billing_pass(as_of=as_of)

    all_succeed(bill_by_hand, pass_)

    assert ChargeLine.objects.count() == 40
    assert ChargeLine.objects.aggregate(total=Sum("amount"))["total"] == Decimal("49.99") * 40
    # Billed by hand (one invoice of today) or by the pass (one per period), never both.
    for account in accounts:
        issued = sorted(Invoice.objects.filter(account=account).values_list("issued_on", flat=True))
        assert issued in ([as_of], [date(2031, 1, 1), date(2031, 2, 1)]), issued
