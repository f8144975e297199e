"""SPEC §6: time is replayed in order; a pass that did not run (beat stopped) is caught up by the next one,
with the same outcome as if it had run every day.

Beat stops for three days (GAP) in which accounts have bill days and pending specific-date changes
(suspend, cancel, enable, suspend-then-enable), all scheduled through the engine the day before. The
outcome is computed three ways on the same seeded rows, each inside a transaction that is rolled back:

  (i)   daily:            each day, apply_due_status_changes(as_of=day) then run_billing(as_of=day);
  (ii)  after the gap:    one run_billing(as_of=last day);
  (iii) after the gap, the minute task first: apply_due_status_changes(as_of=last day), then
        run_billing(as_of=last day).

The charge lines (account, kind, amount, period), invoices (account, issued on, total), next bill dates
and statuses must be identical. In-process (a worker would run the same functions: billing_pass_task
calls run_billing), so that the three runs can share the seeded rows and be rolled back.
"""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from accounts.engine import account_change_status
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, Invoice, Package, UserPackage
from billing.passes import run_billing
from statuses.selectors import reasons_for

from .conftest import bulk_accounts, status_types

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ACCOUNTS = 300
BEFORE = date(2031, 3, 4)  # beat's last day before it stopped: the changes are scheduled on it
GAP = [BEFORE + timedelta(days=n) for n in (1, 2, 3)]  # 5, 6 and 7 March: beat is stopped
LAST = GAP[-1]
PRICES = [Decimal("10.00"), Decimal("19.99"), Decimal("25.50"), Decimal("49.99")]


class Rollback(Exception):
    pass


def seed() -> dict:
    """Account i: bill day 5, 6 or 7 (inside the gap), every seventh one 20 (not due); Suspended when
    i % 6 == 2 (to be enabled), else Active; one or two packages due on the March bill day. Changes, by
    i % 6: 0 suspend, 1 cancel, 2 enable, 3 suspend then enable two days later (when both fit in the
    gap), 4 and 5 none; dated on a day of the gap."""
    packages = Package.objects.bulk_create([Package(name=f"Gap {price}", price=price) for price in PRICES])
    specs = [(20 if i % 7 == 6 else 5 + i % 3, "Suspended" if i % 6 == 2 else "Active") for i in range(ACCOUNTS)]
    accounts = bulk_accounts(specs, prefix="Gap")
    rows = []
    for i, account in enumerate(accounts):
        for j in range(i % 2 + 1):
            package = packages[(i + j) % len(packages)]
            rows.append(UserPackage(account=account, package=package, price=package.price, quantity=j + 1,
                                    start_date=date(2031, 1, account.bill_day),
                                    next_bill_date=date(2031, 3, account.bill_day)))
    UserPackage.objects.bulk_create(rows)
    types = status_types()

    def schedule(account, type_name, day):
        target = types[type_name]
        reasons = reasons_for(target.backend_status)
        outcome = account_change_status(
            account_id=account.pk, to_type=target, option="specific_date", effective_date=day,
            reason=reasons[0] if reasons else None, on=BEFORE,
        )
        assert outcome.state == "pending", outcome

    for i, account in enumerate(accounts):
        day = GAP[(i // 6) % 3]
        kind = i % 6
        if kind == 0:
            schedule(account, "Suspended", day)
        elif kind == 1:
            schedule(account, "Cancelled", day)
        elif kind == 2:
            schedule(account, "Active", day)
        elif kind == 3:
            schedule(account, "Suspended", GAP[0])
            schedule(account, "Active", GAP[2])
    return {"accounts": len(accounts), "packages": len(rows),
            "changes": StatusChange.objects.filter(state="pending").count()}


def outcome() -> dict:
    return {
        "lines": sorted(ChargeLine.objects.values_list("account_id", "kind", "amount", "period_start", "period_end")),
        "invoices": sorted(Invoice.objects.values_list("account_id", "issued_on", "total")),
        "next bill dates": sorted(UserPackage.objects.values_list("id", "next_bill_date", "status")),
        "statuses": sorted(Account.objects.values_list("id", "status_type__name")),
        "changes": sorted(StatusChange.objects.values_list("id", "state", "effective_date")),
        "line total": ChargeLine.objects.aggregate(total=Sum("amount"))["total"],
    }


def run_rolled_back(steps) -> tuple[dict, float]:
    started = time.perf_counter()
    try:
        with transaction.atomic():
            steps()
            result = outcome()
            raise Rollback
    except Rollback:
        pass
    return result, time.perf_counter() - started


def daily():
    for day in GAP:
        apply_due_status_changes(as_of=day)
        run_billing(as_of=day)


def after_the_gap():
    run_billing(as_of=LAST)


def minute_task_first():
    apply_due_status_changes(as_of=LAST)
    run_billing(as_of=LAST)


def test_three_days_without_beat_are_caught_up_as_if_beat_had_run_every_day():
    started = time.perf_counter()
    counts = seed()
    seeded = time.perf_counter() - started
    before = outcome()

    (every_day, t1), (caught_up, t2), (minute_first, t3) = (
        run_rolled_back(daily), run_rolled_back(after_the_gap), run_rolled_back(minute_task_first)
    )
    assert outcome() == before  # each run was rolled back

    assert every_day["lines"], "nothing was billed in the gap"
    assert not [c for c in every_day["changes"] if c[1] != "applied"], "a change of the gap was not applied"
    for name, other in (("one pass after the gap", caught_up), ("minute task, then the pass", minute_first)):
        for key in every_day:
            assert other[key] == every_day[key], f"{name}: {key} differ from the daily runs"
    kinds = {}
    for line in every_day["lines"]:
        kinds[line[1]] = kinds.get(line[1], 0) + 1
    print(
        f"\nbeat stopped {GAP[0]}..{LAST}: {counts['accounts']} accounts, {counts['packages']} packages, "
        f"{counts['changes']} pending changes; {len(every_day['lines'])} lines {kinds}, "
        f"total {every_day['line total']}, {len(every_day['invoices'])} invoices, identical three ways; "
        f"seed {seeded:.1f}s, daily {t1:.1f}s, after the gap {t2:.1f}s, minute task first {t3:.1f}s"
    )
