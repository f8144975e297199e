"""A forecast's cost grows with the packages, not with the periods to its date (SPEC §5): what the billing pass
bills before a far change is summed per package, and the sums are exactly the lines it would bill."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Account
from billing.models import Package, UserPackage
from billing.proration import months_from
from billing.status_transactions import _bill_in_memory
from tests.accounts.factories import give_package, make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


def _package(price, quantity, bill_day, next_bill):
    up = UserPackage(pk=1, account_id=1, package=Package(name="P", price=price), price=price, quantity=quantity,
                     start_date=next_bill - timedelta(days=40), next_bill_date=next_bill)
    return up


@settings(max_examples=200, deadline=None)
@given(
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2),
    quantity=st.integers(1, 10_000),
    bill_day=st.integers(1, 28),
    next_bill=st.dates(date(1990, 1, 1), date(2199, 1, 1)),
    days=st.integers(-40, 3_000),
)
def test_the_sum_per_package_is_the_sum_of_its_lines(price, quantity, bill_day, next_bill, days):
    through = next_bill + timedelta(days=days)
    summed, lines = {}, {}
    short, full = _package(price, quantity, bill_day, next_bill), _package(price, quantity, bill_day, next_bill)
    _bill_in_memory([short], bill_day, through, summed, lines=False)
    _bill_in_memory([full], bill_day, through, lines, lines=True)
    assert short.next_bill_date == full.next_bill_date  # where the billing pass leaves the package
    if not lines:
        assert not summed and next_bill > through
        return
    every = lines[1].lines
    assert (summed[1].periods, summed[1].amount, summed[1].period_start, summed[1].period_end) == (
        len(every), sum(line.amount for line in every), every[0].period_start, every[-1].period_end)


def test_months_from_counts_the_bill_days_up_to_a_date():
    assert months_from(date(2031, 3, 15), date(2031, 3, 14)) == 0
    assert months_from(date(2031, 3, 15), date(2031, 3, 15)) == 1
    assert months_from(date(2031, 3, 15), date(2031, 4, 14)) == 1
    assert months_from(date(2031, 3, 15), date(2031, 4, 15)) == 2
    assert months_from(date(2031, 12, 28), date(2199, 12, 31)) == 168 * 12 + 1


def test_a_preview_at_the_last_date_answers_one_entry_per_package(admin_client, django_assert_max_num_queries):
    account = make_account(bill_day=5)
    for i in range(30):
        give_package(account, price="10.00", start=date(2031, 5, 5), next_bill=date(2031, 6, 5), name=f"Far {i}")
    body = {"status_type": status_type("Suspended").pk, "option": "specific_date", "effective_date": "2199-12-31",
            "reason": reason("Non-payment").pk}
    url = f"/api/v1/accounts/{account.pk}/status-changes/preview/"
    with django_assert_max_num_queries(12):
        response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 200
    billed = response.json()["billed_before"]
    # 5 Jun 2031 to 5 Jan 2200: 168 years and 7 months, 2,023 periods of 10.00 for each of the 30 packages.
    assert len(billed) == 30
    assert {(b["periods"], b["amount"], len(b["lines"])) for b in billed} == {(2023, "20230.00", 0)}
    assert len(response.content) < 20_000  # 5.7 MB when every period was a line
    # The page's preview says the same in one sentence per package.
    page = admin_client.post(
        f"/accounts/{account.pk}/status/{status_type('Suspended').pk}/",
        {"option": "specific_date", "effective_date": "2199-12-31", "reason": reason("Non-payment").pk,
         "version": Account.objects.get(pk=account.pk).version, "preview": "1"}, HTTP_HX_REQUEST="true",
    ).content.decode()
    assert page.count("2023 periods 2031-06-05 – 2200-01-05 (20230.00)") == 30


def test_the_lines_come_on_request_and_a_wrong_detail_is_refused(admin_client):
    account = make_account(bill_day=5)
    give_package(account, price="10.00", start=date(2031, 5, 5), next_bill=date(2031, 6, 5))
    body = json.dumps({"status_type": status_type("Suspended").pk, "option": "specific_date",
                       "effective_date": "2031-09-20", "reason": reason("Non-payment").pk})
    url = f"/api/v1/accounts/{account.pk}/status-changes/preview/"
    lines = admin_client.post(f"{url}?detail=lines", body, content_type="application/json").json()
    assert [(x["period_start"], x["amount"]) for x in lines["billed_before"][0]["lines"]] == [
        ("2031-06-05", "10.00"), ("2031-07-05", "10.00"), ("2031-08-05", "10.00"), ("2031-09-05", "10.00")]
    for wrong in ("everything", ""):
        refused = admin_client.post(f"{url}?detail={wrong}", body, content_type="application/json")
        assert refused.status_code == 400 and refused.json() == {"detail": "Give detail=lines, or leave it out."}
