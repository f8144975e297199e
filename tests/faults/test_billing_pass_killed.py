"""SPEC §6: a billing pass can be killed at any point and re-run, and the outcome is that of one clean
run. 20,000 accounts with due packages; a real worker runs `billing_pass_task` and is SIGKILLed twice
mid-pass (after about 20% of the lines, then, in a second worker, after about 60%); a fresh worker
runs the pass to the end. The figures are computed here from the seeded rows, independently of billing/.
"""

import time
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Sum

from billing.models import ChargeLine, Invoice, Package, UserPackage
from billing.tasks import billing_pass_task
from engage.models import PassRun

from .conftest import WORKER_TEST, assert_counters_match_a_recount, bulk_accounts, kill_when, print_pass_runs, wait_for

pytestmark = WORKER_TEST

ACCOUNTS = 20_000
AS_OF = date(2031, 3, 28)  # every bill day 1..28 of March 2031 is due, none of April
PRICES = [Decimal("10.00"), Decimal("19.99"), Decimal("25.50"), Decimal("49.99"), Decimal("7.25")]
KILL_AT = (0.20, 0.60)


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, d.day)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def seed():
    """Accounts i = 0 … N−1: bill day i mod 28 + 1; every tenth one Suspended (its due packages are not
    billed); 1–3 packages due on the March bill day (one full-price `recurring` line each); every fourth
    account also has a package billed through April (not due) and every sixth a removed one (not billed).
    Returns the user packages with the account's type name."""
    packages = Package.objects.bulk_create([Package(name=f"Faults {price}", price=price) for price in PRICES])
    specs = [(i % 28 + 1, "Suspended" if i % 10 == 9 else "Active") for i in range(ACCOUNTS)]
    accounts = bulk_accounts(specs, prefix="Billing")
    rows = []
    for i, account in enumerate(accounts):
        bill_day = account.bill_day
        march = date(2031, 3, bill_day)
        for j in range(i % 3 + 1):
            package = packages[(i + j) % len(packages)]
            rows.append(UserPackage(account=account, package=package, price=package.price,
                                    quantity=(i * 7 + j) % 3 + 1, start_date=date(2031, 1, bill_day),
                                    next_bill_date=march))
        if i % 4 == 0:
            rows.append(UserPackage(account=account, package=packages[i % 5], price=packages[i % 5].price,
                                    start_date=date(2031, 1, bill_day), next_bill_date=next_month(march)))
        if i % 6 == 0:
            rows.append(UserPackage(account=account, package=packages[1], price=packages[1].price,
                                    start_date=date(2031, 1, bill_day), next_bill_date=march, status="removed"))
    UserPackage.objects.bulk_create(rows, batch_size=5000)
    suspended = {account.pk for i, account in enumerate(accounts) if specs[i][1] == "Suspended"}
    return rows, suspended


def expected_billing(packages, suspended):
    """SPEC §5: a package is billed from its next bill date n, period by period while n ≤ as_of; n = the
    bill day, so each period is one `recurring` line of price × quantity, and n moves a month on."""
    lines, next_bill = {}, {}
    for up in packages:
        n = up.next_bill_date
        if up.status == "active" and up.account_id not in suspended:
            while n <= AS_OF:
                lines[up.pk, n] = (next_month(n), cents(up.price * up.quantity), up.account_id)
                n = next_month(n)
        next_bill[up.pk] = n
    return lines, next_bill


def billed_per_account() -> dict[int, int]:
    return dict(ChargeLine.objects.values_list("account_id").annotate(n=Count("id")).values_list("account_id", "n"))


def assert_no_account_half_billed(due_per_account: Counter) -> None:
    """Each chunk is one transaction: after a kill, an account has all of its lines or none."""
    partial = {a: (n, due_per_account[a]) for a, n in billed_per_account().items() if n != due_per_account[a]}
    assert not partial, f"accounts billed in part: {list(partial.items())[:10]}"
    with_two = Invoice.objects.values("account_id").annotate(n=Count("id")).filter(n__gt=1).count()
    assert with_two == 0


def test_billing_pass_killed_twice_then_rerun_bills_each_period_once(workers):
    t0 = time.monotonic()
    packages, suspended = seed()
    lines, next_bill = expected_billing(packages, suspended)
    expected_lines = len(lines)
    expected_total = sum((amount for _end, amount, _a in lines.values()), Decimal(0))
    due_per_account = Counter(account for _end, _amount, account in lines.values())
    expected_invoices = len(due_per_account)
    seeded = time.monotonic() - t0
    print(f"\nseeded {ACCOUNTS} accounts, {len(packages)} user packages in {seeded:.1f}s; expecting "
          f"{expected_lines} lines, {expected_invoices} invoices, total {expected_total}")
    assert expected_lines > 30_000

    kills = []
    for fraction in KILL_AT:
        worker = workers.start()
        sent = time.monotonic()
        worker.send(billing_pass_task, AS_OF.isoformat())
        seen = kill_when(worker, ChargeLine.objects.count, int(expected_lines * fraction), timeout=120,
                         what=f"{fraction:.0%} of the lines")
        after = ChargeLine.objects.count()
        kills.append({"fraction": fraction, "seen": seen, "after_kill": after,
                      "seconds_after_send": round(time.monotonic() - sent, 2)})
        assert after < expected_lines, "the pass finished before it could be killed: seed more accounts"
        assert_no_account_half_billed(due_per_account)
    print(f"kills: {kills}")

    # The pass is split into parts (SPEC §10): a killed worker leaves its run unfinished; the next worker
    # may take the parts still queued from it before the pass sent to it (so one run or two are started).
    killed_runs = list(PassRun.objects.filter(name="billing").order_by("id"))
    assert 1 <= len(killed_runs) <= len(KILL_AT)
    assert all(run.finished_at is None and run.succeeded is None for run in killed_runs), killed_runs

    final = workers.start()
    started = time.monotonic()
    final.send(billing_pass_task, AS_OF.isoformat())
    # The final worker also takes what was still queued (parts, or a pass a killed worker never started):
    # wait until every run it started has finished.
    done = wait_for(
        lambda: (
            not PassRun.objects.filter(name="billing", finished_at__isnull=True)
            .exclude(pk__in=[run.pk for run in killed_runs]).exists()
            and PassRun.objects.filter(name="billing", finished_at__isnull=False).first()
        ),
        timeout=150, worker=final, what="the re-run to finish",
    )
    rerun = time.monotonic() - started
    final.stop()
    runs = print_pass_runs("billing")
    print(f"re-run took {rerun:.1f}s (worker start included)")

    assert done.succeeded is True and done.failed == 0, done.detail
    assert [run.finished_at is None for run in runs[: len(killed_runs)]] == [True] * len(killed_runs)
    assert all(run.finished_at and run.succeeded for run in runs[len(killed_runs) :])

    # Lines: exactly the expected ones, each (package, period) once, the totals as computed here.
    assert ChargeLine.objects.count() == expected_lines
    assert ChargeLine.objects.aggregate(s=Sum("amount"))["s"] == expected_total
    got = {
        (up, start): (end, amount, account)
        for up, start, end, amount, account in ChargeLine.objects.filter(kind="recurring").values_list(
            "user_package_id", "period_start", "period_end", "amount", "account_id"
        )
    }
    assert got == lines
    duplicates = (
        ChargeLine.objects.values("user_package_id", "period_start").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    assert duplicates == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'charge_line_one_per_package_period'")
        assert cursor.fetchone()[0] == 1, "the unique (user package, period start) constraint is gone"

    # Invoices: one per billed account, its total the sum of its lines.
    assert Invoice.objects.count() == expected_invoices
    assert Invoice.objects.aggregate(s=Sum("total"))["s"] == expected_total
    assert not ChargeLine.objects.filter(invoice__isnull=True).exists()
    by_invoice = defaultdict(Decimal)
    for invoice_id, amount in ChargeLine.objects.values_list("invoice_id", "amount"):
        by_invoice[invoice_id] += amount
    assert {i: t for i, t in Invoice.objects.values_list("id", "total")} == dict(by_invoice)
    assert sorted(Invoice.objects.values_list("account_id", flat=True)) == sorted(due_per_account)

    # Next bill dates: moved a month on for every billed package, untouched for the others.
    assert dict(UserPackage.objects.values_list("id", "next_bill_date")) == next_bill
    assert_counters_match_a_recount()
    print(f"figures: {expected_lines} lines, total {expected_total}, {expected_invoices} invoices; "
          f"test took {time.monotonic() - t0:.1f}s")
