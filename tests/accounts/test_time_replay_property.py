"""Time is replayed in order (SPEC §6), as a property: whatever days the minute task and the daily billing
pass miss, and in whatever order they run, the lines, invoices, next bill dates and statuses equal those of
a daily run of both on every day.

Each example sets up accounts (bill days, start statuses, packages, usage) and a timeline of dated
changes, then plays the same days twice from that state: once with both tasks every day, once with random
gaps and orders. Each play is rolled back, so both start from the very same rows."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.engine import account_change_status, counted_types
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, Invoice, UsageRecord, UserPackage
from billing.passes import run_billing
from engage.errors import DomainError

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

START = date(2031, 1, 26)  # the day the timeline is written; the days played are START .. START + DAYS
DAYS = 40
REASONS = {"Suspended": "Non-payment", "Cancelled": "Non-payment"}

offsets = st.integers(min_value=0, max_value=DAYS)
account_plans = st.fixed_dictionaries(
    {
        "bill_day": st.sampled_from([1, 8, 15, 27, 28]),
        "status": st.sampled_from(["Active", "Active", "Suspended", "Prospect"]),
        "packages": st.lists(
            st.tuples(
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500.00"), places=2),
                st.integers(min_value=1, max_value=3),
                st.integers(min_value=-20, max_value=DAYS),  # start date, from START
                st.booleans(),  # already billed up to its next bill day (else due from its start)
            ),
            min_size=1,
            max_size=2,
        ),
        "usage": st.lists(st.tuples(offsets, st.decimals(min_value=0, max_value=50, places=2)), max_size=2),
        "changes": st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=DAYS),
                st.sampled_from(["Active", "Suspended", "Cancelled"]),
                st.sampled_from(["specific_date", "specific_date", "period_end"]),
            ),
            min_size=1,
            max_size=4,
        ),
    }
)
# What runs on a day: the minute task (apply due changes), the daily billing pass (which applies due
# changes first), both in either order, or nothing (beat or the worker down): nothing is the most likely,
# so that gaps of several days, with bill days and changes in them, are common.
DAY_RUNS = [(), (), (), (), (), (), ("minute",), ("billing",), ("minute", "billing"), ("billing", "minute")]


def setup(plans) -> list[int]:
    ids = []
    for i, plan in enumerate(plans):
        account = make_account(bill_day=plan["bill_day"], type_name=plan["status"], email=f"r{i}@example.com")
        ids.append(account.pk)
        for j, (price, quantity, start, billed) in enumerate(plan["packages"]):
            start_date = START + timedelta(days=start)
            next_bill = start_date
            if billed:
                from billing.proration import next_bill_day

                next_bill = next_bill_day(plan["bill_day"], start_date)
            give_package(account, price=str(price), quantity=quantity, start=start_date, next_bill=next_bill,
                         name=f"P{i}-{j}")
        for offset, amount in plan["usage"]:
            UsageRecord.objects.create(account=account, amount=amount, occurred_on=START + timedelta(days=offset))
        for offset, to, option in plan["changes"]:
            try:
                account_change_status(
                    account_id=account.pk, to_type=status_type(to), option=option,
                    effective_date=START + timedelta(days=offset) if option == "specific_date" else None,
                    reason=reason(REASONS[to]) if to in REASONS else None, on=START,
                )
            except DomainError:
                pass  # refused by the timeline rules, as a person would be: not part of the plan
    return ids


def run(task: str, day: date) -> None:
    if task == "minute":
        apply_due_status_changes(as_of=day)
    else:
        run_billing(as_of=day)


def outcome(ids: list[int]) -> dict:
    """Everything the two plays must agree on (ids of rows written during a play differ; their content not)."""
    invoices = sorted(
        (  # None sorts with nothing: a missing id is 0
            invoice.account_id, invoice.issued_on, invoice.total,
            tuple(sorted(
                (x.user_package_id or 0, x.usage_record_id or 0, x.status_change_id or 0, x.kind, x.amount,
                 x.period_start, x.period_end)
                for x in invoice.lines.all()
            )),
        )
        for invoice in Invoice.objects.filter(account_id__in=ids).prefetch_related("lines")
    )
    return {
        "lines": ChargeLine.objects.filter(account_id__in=ids).count(),
        "invoices": invoices,
        "next_bill_dates": dict(UserPackage.objects.filter(account_id__in=ids).values_list("pk", "next_bill_date")),
        "usage_billed": dict(UsageRecord.objects.filter(account_id__in=ids).values_list("pk", "billed")),
        "accounts": list(
            Account.objects.filter(pk__in=ids).order_by("pk")
            .values_list("pk", "status_type__name", "cancelled_on", "left_prospect_on")
        ),
        "changes": list(
            StatusChange.objects.filter(account_id__in=ids).order_by("pk")
            .values_list("pk", "state", "from_type__name", "failure_reason")
        ),
        "counters": dict(counted_types().values_list("name", "account_count")),
    }


def play(ids, schedule) -> dict:
    with transaction.atomic():
        for day, tasks in schedule:
            for task in tasks:
                run(task, day)
        result = outcome(ids)
        transaction.set_rollback(True)
    return result


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(
    plans=st.lists(account_plans, min_size=1, max_size=3),
    runs=st.lists(st.sampled_from(DAY_RUNS), min_size=DAYS, max_size=DAYS),
    last=st.sampled_from([("minute", "billing"), ("billing", "minute"), ("billing",)]),
)
def test_any_gaps_and_orders_give_the_daily_result(plans, runs, last):
    with transaction.atomic():
        ids = setup(plans)
        days = [START + timedelta(days=i) for i in range(DAYS + 1)]
        daily = play(ids, [(day, ("minute", "billing")) for day in days])
        # The same days with gaps and any order; the last day runs the billing pass, as beat will again.
        replayed = play(ids, list(zip(days, [*runs, last], strict=True)))
        assert replayed == daily
        transaction.set_rollback(True)
