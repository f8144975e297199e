"""One day at a time across every pass (SPEC §6, §11), as a property: random accounts with packages, usage,
dated changes and overdue invoices, collection steps, payments and reversals on random days; played once with
every pass every day, and once with beat down for 1 to 14 days, after which any pass may wake first. The rows
afterwards are the same: lines, invoices and what is paid of each, statuses, changes, episodes, step runs,
e-mails and switch jobs.

Payments and reversals arrive on their day in both plays (the web is up while beat is down), after the day's
passes (which run at night), and their outbox work is done at once (the workers are up)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.engine import account_change_status
from accounts.models import Account, StatusChange
from billing.models import ChargeLine, Invoice, Payment, UserPackage
from billing.payments import account_invoices, payment_record, payment_reverse
from billing.proration import next_bill_day
from dunning.models import AgingBucket, CollectionEpisode, StepRun
from dunning.steps import step_create
from engage.business_day import scheduled_run
from engage.errors import DomainError
from engage.models import OutboxMessage
from engage.outbox import deliver
from provisioning.models import ProvisioningJob
from statuses.rules import ChangeOption
from tests.accounts.factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

START = date(2031, 3, 1)
DAYS = 30
PASSES = ["apply_status_changes", "billing", "collections"]

accounts = st.lists(st.fixed_dictionaries({
    "bill_day": st.sampled_from([1, 5, 12, 20, 28]),
    "price": st.sampled_from([Decimal("30.00"), Decimal("49.99"), Decimal("19.95")]),
    "billed": st.booleans(),  # billed through its next bill day, or due from its start
    "owed": st.lists(st.tuples(st.integers(-30, 10), st.sampled_from(["30.00", "12.50", "99.99"])), max_size=2),
    "payments": st.lists(st.tuples(st.integers(0, DAYS), st.sampled_from(["20.00", "30.00", "150.00"]),
                                   st.booleans()), max_size=2),  # (day, amount, reversed the next day)
    "change": st.none() | st.tuples(st.integers(1, DAYS), st.sampled_from(["Suspended", "Cancelled", "Active"])),
}), min_size=1, max_size=3)


def setup(plans) -> list[int]:
    step_create(name="Reminder", days_overdue=3, action="reminder", subject="Overdue {number}",
                body="{name}: {overdue_amount} is {overdue_days} days overdue.")
    step_create(name="Suspend", days_overdue=8, action="status_change", status_type=status_type("Suspended"),
                reason=reason("Non-payment"), option=ChangeOption.PRORATED)
    step_create(name="Cancel", days_overdue=20, action="status_change", status_type=status_type("Cancelled"),
                reason=reason("Non-payment"), option=ChangeOption.NO_TRANSACTION)
    ids = []
    for i, plan in enumerate(plans):
        account = make_account(bill_day=plan["bill_day"], email=f"day{i}@example.com", name=f"Day {i}")
        ids.append(account.pk)
        start = START - timedelta(days=20)
        give_package(account, price=str(plan["price"]), start=start, name=f"P{i}",
                     next_bill=next_bill_day(plan["bill_day"], START - timedelta(days=1)) if plan["billed"] else start)
        for issued, total in plan["owed"]:
            day = START + timedelta(days=issued)
            Invoice.objects.create(account=account, issued_on=day, due_on=day + timedelta(days=14), total=total)
        if plan["change"]:
            offset, to = plan["change"]
            try:
                account_change_status(account_id=account.pk, to_type=status_type(to), option="specific_date",
                                      effective_date=START + timedelta(days=offset), on=START,
                                      reason=reason("Non-payment") if to != "Active" else None)
            except DomainError:
                pass  # the timeline refuses it (the status it already has): not part of the plan
    return ids


def payments_of(plans, ids, day):
    """The payments (and the next day's reversals) that arrive on `day`, after its passes."""
    for account_id, plan in zip(ids, plans, strict=True):
        for offset, amount, _reversed in plan["payments"]:
            if START + timedelta(days=offset) == day:
                yield "pay", account_id, amount
            if _reversed and START + timedelta(days=offset + 1) == day:
                yield "reverse", account_id, amount


def business_hours(time_machine, day):
    time_machine.move_to(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def night(time_machine, day):
    time_machine.move_to(datetime(day.year, day.month, day.day, 2, tzinfo=UTC), tick=False)


def money_arrives(time_machine, plans, ids, day):
    business_hours(time_machine, day)
    for what, account_id, amount in payments_of(plans, ids, day):
        if what == "pay":
            payment_record(account_id=account_id, amount=amount, paid_on=day, method="card", today=day)
        else:
            original = Payment.objects.filter(account_id=account_id, amount=amount, reverses__isnull=True,
                                              reversed_by__isnull=True, paid_on=day - timedelta(days=1)).first()
            if original is not None:
                payment_reverse(payment_id=original.pk, reason="Charged back", today=day)
    # The workers are up: what the payments queued is done now (a restore, say).
    for message_id in OutboxMessage.objects.filter(done_at__isnull=True, kind="dunning.settle").values_list(
            "pk", flat=True):
        deliver(message_id)


def passes_at_night(time_machine, day, order=PASSES):
    night(time_machine, day)
    for name in order:
        scheduled_run(name, day)


def _sorted(rows) -> list:
    """Rows in order, a None (a usage line's period, an open episode's end) before any value beside it: plain
    sorted() compares None with a date when the columns before it tie, and fails."""
    return sorted(rows, key=lambda row: tuple((value is not None, value) for value in row))


def outcome(ids) -> dict:
    return {
        "lines": _sorted(ChargeLine.objects.filter(account_id__in=ids).values_list(
            "account_id", "kind", "amount", "period_start", "period_end", "status_change__effective_date")),
        "invoices": sorted((a.invoice.account_id, a.invoice.issued_on, a.invoice.total, a.paid, a.state)
                           for account_id in ids for a in account_invoices(account_id)),
        "next_bill_dates": sorted(UserPackage.objects.filter(account_id__in=ids).values_list("account_id",
                                                                                              "next_bill_date")),
        "accounts": list(Account.objects.filter(pk__in=ids).order_by("pk").values_list(
            "pk", "status_type__name", "cancelled_on")),
        "changes": _sorted(StatusChange.objects.filter(account_id__in=ids).values_list(
            "account_id", "to_type__name", "effective_date", "state", "option", "source", "reason__name")),
        "episodes": _sorted(CollectionEpisode.objects.filter(account_id__in=ids).values_list(
            "account_id", "started_on", "ended_on", "outcome")),
        "step_runs": _sorted(StepRun.objects.filter(episode__account_id__in=ids).values_list(
            "episode__account_id", "step_name", "ran_on", "outcome")),
        "e-mails": sorted((m.kind, tuple(sorted((k, str(v)) for k, v in m.payload.items() if k != "change_id")))
                          for m in OutboxMessage.objects.filter(kind__in=["dunning.reminder",
                                                                          "accounts.status_email"])),
        "jobs": sorted(ProvisioningJob.objects.filter(account_id__in=ids).values_list("account_id", "target")),
        "aging": sorted(AgingBucket.objects.values_list("as_of", "backend_status", "bucket", "accounts", "amount")),
    }


def play(time_machine, plans, ids, *, down: tuple[int, int] | None, first: str) -> dict:
    with transaction.atomic():
        for n in range(DAYS + 1):
            day = START + timedelta(days=n)
            if down is None or not down[0] <= n <= down[1]:
                order = PASSES if down is None or n != down[1] + 1 else [first, *PASSES]
                passes_at_night(time_machine, day, order)
            money_arrives(time_machine, plans, ids, day)
        result = outcome(ids)
        transaction.set_rollback(True)
    return result


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plans=accounts, start=st.integers(1, DAYS - 14), length=st.integers(1, 14), first=st.sampled_from(PASSES))
def test_an_outage_caught_up_gives_what_daily_runs_give(time_machine, plans, start, length, first):
    business_hours(time_machine, START)
    with transaction.atomic():
        ids = setup(plans)
        daily = play(time_machine, plans, ids, down=None, first=first)
        caught_up = play(time_machine, plans, ids, down=(start, start + length - 1), first=first)
        assert caught_up == daily
        transaction.set_rollback(True)
