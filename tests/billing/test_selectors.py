"""The Overview's billing section: the summary selector and its template."""

from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from billing.models import ChargeLine, Invoice, Payment
from billing.passes import billing_pass
from billing.selectors import account_billing_summary

from ..accounts.factories import make_account
from .factories import PackageFactory, UsageRecordFactory, UserPackageFactory

pytestmark = pytest.mark.django_db


def _billed_account(periods_start=date(2031, 1, 15)):
    account = make_account(bill_day=15)
    UserPackageFactory(account=account, package=PackageFactory(name="Fibre 100", price=Decimal("49.99")),
                       start_date=periods_start)
    UsageRecordFactory(account=account, amount=Decimal("2.40"), occurred_on=date(2031, 1, 20))
    return account


def test_summary_holds_packages_recent_lines_invoices_and_balance(django_assert_num_queries):
    account = _billed_account(date(2029, 1, 15))
    billing_pass(as_of=date(2031, 3, 1))  # 26 periods and the usage in one run
    credit_note = Invoice.objects.create(account=account, issued_on=date(2031, 3, 1), total=Decimal("-10.00"))
    ChargeLine.objects.create(account=account, kind="prorated_credit", amount=Decimal("-10.00"),
                              period_start=date(2031, 3, 1), period_end=date(2031, 3, 15), invoice=credit_note)
    Payment.objects.create(account=account, amount=Decimal("100.00"), paid_on=date(2031, 3, 2), method="card")
    with django_assert_num_queries(5):
        summary = account_billing_summary(account.pk)
        assert summary["packages"][0].package.name == "Fibre 100"
    assert summary["packages"][0].next_bill_date == date(2031, 3, 15)
    assert len(summary["lines"]) == 20
    assert summary["lines"][0].amount == Decimal("-10.00")
    assert len(summary["invoices"]) == 10  # the latest ten of 28: one per day lines fell due, and the credit note
    assert summary["invoices"][0].invoice.issued_on == date(2031, 3, 1)
    assert [p.amount for p in summary["payments"]] == [Decimal("100.00")]
    # Invoices and credit notes less payments (SPEC §11).
    assert summary["balance"] == Decimal("49.99") * 26 + Decimal("2.40") - Decimal("10.00") - Decimal("100.00")


def test_summary_of_an_account_without_billing():
    account = make_account(bill_day=1)
    summary = account_billing_summary(account.pk)
    assert summary == {"packages": [], "lines": [], "invoices": [], "payments": [], "balance": Decimal("0.00")}


def test_overview_include_shows_packages_charges_invoices_and_balance():
    account = _billed_account()
    billing_pass(as_of=date(2031, 2, 20))
    html = render_to_string("billing/_overview.html", {"billing": account_billing_summary(account.pk),
                                                        "account": account})
    assert "Fibre 100" in html
    assert "2031-03-15" in html  # next bill date
    assert "2031-01-15 – 2031-02-15" in html
    assert "Recurring" in html and "Usage" in html
    assert "102.38" in html  # balance and invoice total: 2 × 49.99 + 2.40


def test_overview_include_when_empty():
    account = make_account(bill_day=1)
    html = render_to_string("billing/_overview.html", {"billing": account_billing_summary(account.pk),
                                                        "account": account})
    assert "No packages." in html and "No charges yet." in html and "No invoices yet." in html


def test_account_overview_page_shows_the_billing_section(support_client):
    account = _billed_account()
    billing_pass(as_of=date(2031, 2, 20))
    response = support_client.get(f"/accounts/{account.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="billing"' in html
    assert "Fibre 100" in html and "2031-03-15" in html and "102.38" in html
