from datetime import date

import pytest

from billing.demo import seed_billing
from billing.models import ChargeLine, Invoice, Package, UserPackage

from ..accounts.factories import make_account

pytestmark = pytest.mark.django_db


def test_seed_billing_fills_the_pages_and_bills_up_to_today(django_assert_max_num_queries):
    ids = [make_account(bill_day=1 + i % 28, name=f"Demo {i}").pk for i in range(60)]
    today = date(2031, 6, 10)
    with django_assert_max_num_queries(60):
        summary = seed_billing(ids, today)
    assert Package.objects.filter(name__in=["Fibre 100", "VoIP line", "Static IP"]).count() == 3
    assert UserPackage.objects.values("account").distinct().count() >= 40
    assert summary.accounts >= 40 and summary.total > 0
    assert not UserPackage.objects.filter(next_bill_date__lte=today).exists()  # all billed up to today
    assert Invoice.objects.count() == summary.invoices
    assert ChargeLine.objects.count() == summary.lines
    seed_billing([], today)  # again: the catalogue is not duplicated
    assert Package.objects.filter(name="Fibre 100").count() == 1
