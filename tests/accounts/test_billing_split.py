"""The scheduled billing pass split over account-id ranges (SPEC §10), without a broker: the parts a worker
would take are run here in any order; a part the broker refuses is billed by the pass itself."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import ChargeLine, Invoice
from billing.passes import bill_part, start_billing
from engage.models import PassRun

from .factories import give_package, make_account

pytestmark = pytest.mark.django_db

AS_OF = date(2031, 2, 15)


def _accounts(n):
    accounts = [make_account(bill_day=15, email=f"s{i}@example.com") for i in range(n)]
    for account in accounts:
        give_package(account, price="20.00", start=date(2031, 1, 15), next_bill=date(2031, 2, 15))
    return accounts


def test_parts_run_in_any_order_finish_one_run_once():
    accounts = _accounts(7)
    handed = []
    result = start_billing(as_of=AS_OF, dispatch=lambda *part: handed.append(part) or True, parts=3)
    assert result["billing"]["parts"] == 3 and result["billing"]["billed_here"] == 0
    run = PassRun.objects.get(name="billing")
    assert run.finished_at is None and run.parts == 3
    for run_id, as_of, lo, hi in reversed(handed):
        assert PassRun.objects.get(pk=run.pk).finished_at is None
        bill_part(run_id, date.fromisoformat(as_of), (lo, hi))
    run.refresh_from_db()
    assert (run.parts_done, run.succeeded, run.processed) == (3, True, 7)
    assert ChargeLine.objects.filter(account__in=accounts).count() == 7
    assert Invoice.objects.filter(account__in=accounts, total=Decimal("20.00")).count() == 7
    # Covering ranges: every account id is in exactly one part.
    ranges = [(lo, hi) for _run, _as_of, lo, hi in handed]
    assert ranges[0][0] < min(a.pk for a in accounts) and ranges[-1][1] == max(a.pk for a in accounts)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    # A part redelivered after the run finished bills nothing more.
    bill_part(run.pk, AS_OF, ranges[0])
    assert ChargeLine.objects.filter(account__in=accounts).count() == 7


def test_a_part_the_broker_refuses_is_billed_by_the_pass_itself():
    accounts = _accounts(4)
    result = start_billing(as_of=AS_OF, dispatch=lambda *part: False, parts=2)
    assert result["billing"]["billed_here"] == 2
    run = PassRun.objects.get(name="billing")
    assert run.finished_at is not None and run.succeeded is True and run.processed == 4
    assert ChargeLine.objects.filter(account__in=accounts).count() == 4
