"""Every worked example of /work/shared/proration-examples.csv through billing.proration."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing.proration import add_months, money, next_bill_day, period_containing, prorate

# A copy of shared/proration-examples.csv, so the tests run without the shared folder.
EXAMPLES = Path(__file__).with_name("proration-examples.csv")
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "proration-examples.csv"

with EXAMPLES.open(newline="") as fh:
    ROWS = list(csv.DictReader(fh))


def test_examples_are_all_there():
    assert len(ROWS) == 21
    if SHARED.exists():  # the copy has not drifted from the specification's file
        assert SHARED.read_text() == EXAMPLES.read_text()


@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{r['price']}x{r['quantity']}-day{r['bill_day']}-{r['date_d']}" for r in ROWS]
)
def test_worked_example(row):
    d = date.fromisoformat(row["date_d"])
    start, end = period_containing(int(row["bill_day"]), d)
    assert start == date.fromisoformat(row["period_start_s"])
    assert end == date.fromisoformat(row["period_end_e"])
    assert (end - d).days == int(row["days_left"])
    assert (end - start).days == int(row["days_in_period"])
    amount = Decimal(row["price"]) * int(row["quantity"])
    assert prorate(amount, d, start, end) == Decimal(row["prorated_amount"])
    assert next_bill_day(int(row["bill_day"]), d) == end


def test_money_rounds_half_up():
    assert money(Decimal("0.005")) == Decimal("0.01")
    assert money(Decimal("2.675")) == Decimal("2.68")
    assert money(Decimal("-0.005")) == Decimal("-0.01")


def test_add_months_crosses_years():
    assert add_months(date(2031, 12, 28), 2) == date(2032, 2, 28)
    assert add_months(date(2031, 1, 15), -1) == date(2030, 12, 15)


def test_prorate_refuses_a_date_outside_the_period():
    with pytest.raises(ValueError):
        prorate(Decimal("10.00"), date(2031, 2, 1), date(2031, 1, 1), date(2031, 2, 1))


@pytest.mark.parametrize("bill_day", [0, 29])
def test_period_refuses_a_bill_day_outside_1_28(bill_day):
    with pytest.raises(ValueError):
        period_containing(bill_day, date(2031, 1, 1))
