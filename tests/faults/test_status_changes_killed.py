"""SPEC §6: applying due status changes can be killed at any point and re-run; every change is applied
exactly once. Pending changes on Active accounts (a suspension, and on every fifth account an enable the
next day) are applied by a real worker running `apply_due_status_changes_task`, SIGKILLed twice midway;
a fresh worker finishes the work. Then the history, the lines, the counters, the provisioning jobs and
(after a provisioning pass) the switch are checked against figures computed here from the seeded rows.
"""

import ast
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q

from accounts.models import Account, StatusChange
from accounts.tasks import apply_due_status_changes_task
from billing.models import ChargeLine, Package, UserPackage
from engage.models import PassRun
from provisioning.models import ProvisioningJob, SwitchEntry
from provisioning.passes import drifted_accounts, provisioning_pass
from statuses.models import StatusReason

from .conftest import (
    WORKER_TEST,
    assert_counters_match_a_recount,
    bulk_accounts,
    kill_when,
    print_pass_runs,
    status_types,
    wait_for,
)

pytestmark = WORKER_TEST

ACCOUNTS = 2_500
AS_OF = date(2031, 3, 10)
PERIOD = (date(2031, 3, 1), date(2031, 4, 1))  # bill day 1: March is billed already (n = 1 April)
PRICES = [Decimal("31.00"), Decimal("19.99"), Decimal("49.99"), Decimal("7.25")]
KILL_AT = (0.20, 0.60)


def prorate(amount: Decimal, d: date) -> Decimal:
    start, end = PERIOD
    return (amount * (end - d).days / (end - start).days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def seed():
    """Account i: Active, bill day 1, on the switch (enabled); every other one has a package billed through
    March. A pending suspension (Non-payment) dated 2 … 9 March; every fifth account also a pending
    enable the day after. Returns {account id: [(to type name, date)]} and {account id: package}."""
    types = status_types()
    non_payment = StatusReason.objects.get(name="Non-payment")
    packages = Package.objects.bulk_create([Package(name=f"Faults {price}", price=price) for price in PRICES])
    accounts = bulk_accounts([(1, "Active")] * ACCOUNTS, prefix="Changes")
    SwitchEntry.objects.bulk_create([SwitchEntry(account=a, state="enabled") for a in accounts], batch_size=5000)
    user_packages = UserPackage.objects.bulk_create(
        [
            UserPackage(account=a, package=packages[i % 4], price=packages[i % 4].price, quantity=i % 3 + 1,
                        start_date=date(2031, 1, 1), next_bill_date=PERIOD[1])
            for i, a in enumerate(accounts)
            if i % 2 == 0
        ],
        batch_size=5000,
    )
    plan, changes = {}, []
    for i, account in enumerate(accounts):
        suspend_on = date(2031, 3, 2 + i % 8)
        plan[account.pk] = [("Suspended", suspend_on)]
        changes.append(StatusChange(account=account, from_type=types["Active"], to_type=types["Suspended"],
                                    option="specific_date", effective_date=suspend_on, reason=non_payment))
        if i % 5 == 0:
            enable_on = suspend_on + timedelta(days=1)
            plan[account.pk].append(("Active", enable_on))
            changes.append(StatusChange(account=account, from_type=types["Suspended"], to_type=types["Active"],
                                        option="specific_date", effective_date=enable_on))
    StatusChange.objects.bulk_create(changes, batch_size=5000)
    return plan, {up.account_id: up for up in user_packages}


def expected_lines(plan, packages):
    """SPEC §5 with n = 1 April: a suspension on d credits [d, 1 April) (−price × days ÷ 31) and sets
    n = d; the enable on d + 1 bills [d + 1, 1 April) (a prorated charge) and sets n = 1 April."""
    lines, next_bill = {}, {}
    for account_id, steps in plan.items():
        up = packages.get(account_id)
        if up is None:
            continue
        n = up.next_bill_date
        for to, d in steps:
            amount = prorate(up.amount, d)
            if to == "Suspended":
                lines[account_id, to, d] = ("prorated_credit", -amount)
                n = d
            else:
                lines[account_id, to, d] = ("prorated_charge", amount)
                n = PERIOD[1]
        next_bill[up.pk] = n
    return lines, next_bill


def e_mails_handed_over(workers) -> Counter:
    """{status change id: times its e-mail task was sent} from what the workers sent."""
    return Counter(
        ast.literal_eval(args)[0] for task, args in workers.sent()
        if task == "accounts.tasks.send_status_change_email_task"
    )


def applied_count() -> int:
    return StatusChange.objects.filter(state="applied").count()


def test_applying_due_changes_killed_twice_then_rerun_applies_each_once(workers):
    t0 = time.monotonic()
    plan, packages = seed()
    total = sum(len(steps) for steps in plan.values())
    lines, next_bill = expected_lines(plan, packages)
    print(f"\nseeded {ACCOUNTS} accounts, {total} pending changes, {len(packages)} packages in "
          f"{time.monotonic() - t0:.1f}s; expecting {len(lines)} proration lines, total "
          f"{sum(amount for _kind, amount in lines.values())}")

    kills = []
    for fraction in KILL_AT:
        worker = workers.start()
        sent = time.monotonic()
        worker.send(apply_due_status_changes_task, AS_OF.isoformat())
        seen = kill_when(worker, applied_count, int(total * fraction), timeout=120,
                         what=f"{fraction:.0%} of the changes applied")
        after = applied_count()
        kills.append({"fraction": fraction, "seen": seen, "after_kill": after,
                      "seconds_after_send": round(time.monotonic() - sent, 2)})
        assert after < total, "the pass finished before it could be killed: seed more changes"
        assert_changes_consistent(plan, lines, complete=False)
    print(f"kills: {kills}")

    final = workers.start()
    started = time.monotonic()
    final.send(apply_due_status_changes_task, AS_OF.isoformat())
    done = wait_for(
        lambda: PassRun.objects.filter(name="apply_status_changes", finished_at__isnull=False).first(),
        timeout=150, worker=final, what="the re-run to finish",
    )
    print(f"re-run took {time.monotonic() - started:.1f}s (worker start included)")
    final.stop()
    runs = print_pass_runs("apply_status_changes")
    emails = e_mails_handed_over(workers)
    assert [run.finished_at is None for run in runs] == [True, True, False]
    assert done.succeeded is True and done.failed == 0, done.detail

    assert_changes_consistent(plan, lines, complete=True)
    # SPEC §6: each e-mail is sent once, none is lost. The workers hand each one to the broker on commit.
    applied_ids = set(StatusChange.objects.filter(state="applied").values_list("id", flat=True))
    assert not [c for c, n in emails.items() if n > 1], "an e-mail was queued twice"
    lost = sorted(applied_ids - set(emails))
    print(f"status e-mails handed to the broker: {len(emails)} for {len(applied_ids)} applied changes; "
          f"lost: {lost}")
    assert dict(UserPackage.objects.values_list("id", "next_bill_date")) == next_bill

    suspended_only = sum(1 for steps in plan.values() if len(steps) == 1)
    assert Account.objects.filter(status_type__name="Suspended").count() == suspended_only
    assert Account.objects.filter(status_type__name="Active").count() == ACCOUNTS - suspended_only
    assert_counters_match_a_recount()

    # Provisioning: one job per applied change, written with it; then a pass brings the switch to the
    # desired state of every account.
    jobs = Counter(ProvisioningJob.objects.values_list("account_id", "target"))
    expected_jobs = Counter(
        (account_id, "suspended" if to == "Suspended" else "enabled") for account_id, steps in plan.items()
        for to, _d in steps
    )
    assert jobs == expected_jobs
    started = time.monotonic()
    summary = provisioning_pass(as_of=AS_OF)
    print(f"provisioning pass afterwards: {summary} ({time.monotonic() - started:.1f}s)")
    assert summary.failed == 0 and summary.drift_jobs == 0
    assert not drifted_accounts().exists()
    assert not ProvisioningJob.objects.filter(state__in=["pending", "failed"]).exists()
    twice = (
        ProvisioningJob.objects.filter(state="done").values("account_id", "target")
        .annotate(n=Count("id")).filter(n__gt=1).count()
    )
    assert twice == 0
    entries = dict(SwitchEntry.objects.values_list("account_id", "state"))
    assert entries == {
        account_id: "suspended" if len(steps) == 1 else "enabled" for account_id, steps in plan.items()
    }
    print(f"test took {time.monotonic() - t0:.1f}s")


def assert_changes_consistent(plan, lines, *, complete: bool) -> None:
    """Each account's history is a prefix (complete: all) of its plan, applied in date order, each
    change once, its status the last applied change's, and one proration line per applied change on an
    account with a package."""
    history = defaultdict(list)
    rows = StatusChange.objects.filter(~Q(state="pending")).order_by("executed_at", "id").values_list(
        "account_id", "state", "from_type__name", "to_type__name", "effective_date", "id"
    )
    for account_id, state, from_name, to_name, d, change_id in rows:
        assert state == "applied", (account_id, state)
        history[account_id].append((from_name, to_name, d, change_id))
    status = dict(Account.objects.values_list("id", "status_type__name"))
    pending = Counter(StatusChange.objects.filter(state="pending").values_list("account_id", flat=True))
    change_lines = defaultdict(list)
    for change_id, kind, amount, count in (
        ChargeLine.objects.filter(status_change__isnull=False)
        .values_list("status_change_id", "kind", "amount").annotate(n=Count("id"))
    ):
        change_lines[change_id].append((kind, amount, count))
    for account_id, steps in plan.items():
        done = history.get(account_id, [])
        assert [(to, d) for _f, to, d, _id in done] == steps[: len(done)], (account_id, done, steps)
        assert len(done) + pending[account_id] == len(steps)
        if complete:
            assert len(done) == len(steps), (account_id, done)
        previous = "Active"
        for from_name, to_name, _d, _id in done:
            assert from_name == previous, (account_id, done)
            previous = to_name
        assert status[account_id] == previous, (account_id, status[account_id], done)
        for _f, to, d, change_id in done:
            expected = lines.get((account_id, to, d))
            got = change_lines.pop(change_id, [])
            assert got == ([(*expected, 1)] if expected else []), (account_id, to, d, got)
    assert not change_lines, f"lines of changes not applied: {list(change_lines.items())[:5]}"
    assert_counters_match_a_recount()
