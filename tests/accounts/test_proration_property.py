"""Any sequence of prorated cancels, suspends and enables inside one period nets, per package, to the
price of the days the account was active (within a cent per line)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.engine import account_change_status
from accounts.models import Account
from billing.models import ChargeLine, UserPackage

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

PERIODS = [
    (1, date(2026, 12, 1), date(2027, 1, 1)),
    (15, date(2031, 2, 15), date(2031, 3, 15)),
    (28, date(2027, 2, 28), date(2027, 3, 28)),
    (1, date(2028, 2, 1), date(2028, 3, 1)),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    period=st.sampled_from(PERIODS),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    quantity=st.integers(min_value=1, max_value=3),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), st.sampled_from(["Cancelled", "Suspended"])),
        min_size=1,
        max_size=6,
    ),
)
def test_prorated_changes_net_to_the_active_days(period, price, quantity, steps):
    bill_day, s, e = period
    total_days = (e - s).days
    account = make_account(bill_day=bill_day, email=f"p{Account.objects.count()}@example.com")
    up = give_package(account, price=str(price), quantity=quantity, start=s, next_bill=e)  # [s, e) billed in full
    paid = price * quantity
    active, active_since, active_days = True, s, 0
    days = sorted({min(offset, total_days - 1) for offset, _ in steps})
    for i, offset in enumerate(days):
        d = s + timedelta(days=offset)
        if active:
            target = steps[i % len(steps)][1]
            account_change_status(
                account_id=account.pk,
                to_type=status_type(target),
                option="immediately_with_prorated_transaction",
                reason=reason("Non-payment"),
                on=d,
            )
            active_days += (d - active_since).days
        else:
            account_change_status(
                account_id=account.pk,
                to_type=status_type("Active"),
                option="immediately_with_prorated_transaction",
                on=d,
            )
            active_since = d
        active = not active
    if active:
        active_days += (e - active_since).days
    lines = list(ChargeLine.objects.filter(user_package=up))
    net = paid + sum(line.amount for line in lines)
    exact = paid * active_days / total_days
    assert abs(net - exact) <= Decimal("0.01") * (len(lines) + 1)
    assert UserPackage.objects.get(pk=up.pk).next_bill_date in (e, s + timedelta(days=days[-1]))
