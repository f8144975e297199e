"""SPEC §5's period and proration arithmetic: pure functions of dates and Decimals.

Periods are monthly and start on the account's bill day (1–28, so every month has that day):
the period containing d is [s, e) with s the latest date ≤ d whose day is the bill day, e = s + 1 month.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")  # no money: the start of every sum of amounts


def money(value) -> Decimal:
    """Round half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(d: date, months: int) -> date:
    """The same day `months` later; the day is a bill day (≤ 28), so it always exists."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, d.day)


def months_from(start: date, through: date) -> int:
    """How many of start, start + 1 month, start + 2 months, … are ≤ through (0 when start is later)."""
    if start > through:
        return 0
    months = (through.year - start.year) * 12 + through.month - start.month
    return months + (1 if add_months(start, months) <= through else 0)


def period_containing(bill_day: int, d: date) -> tuple[date, date]:
    """[s, e): the bill period that contains d."""
    if not 1 <= bill_day <= 28:
        raise ValueError(f"bill day must be 1..28, not {bill_day}")
    start = date(d.year, d.month, bill_day)
    if start > d:
        start = add_months(start, -1)
    return start, add_months(start, 1)


def next_bill_day(bill_day: int, d: date) -> date:
    """The first bill day after d: the end of the period containing d."""
    return period_containing(bill_day, d)[1]


def prorate(amount: Decimal, d: date, start: date, end: date) -> Decimal:
    """amount × (e − d) days ÷ (e − s) days, half-up to cents; d itself counts as used-from."""
    if not start <= d < end:
        raise ValueError(f"{d} is not in the period [{start}, {end})")
    return money(Decimal(amount) * (end - d).days / (end - start).days)
