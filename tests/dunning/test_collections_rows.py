"""Every row the collections pass writes for one range, each way it can go (issue 28: the pass hands its rows to
the database as tuples, episodes and step runs in one write each, and counts the aging from what the range
already knows). Run with the rows written by COPY (PostgreSQL) and by INSERT: the same rows either way."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import Account
from billing.models import Invoice
from dunning.exemptions import exemption_set
from dunning.models import AgingBucket, CollectionEpisode, StepRun
from dunning.passes import REMINDER, collections_day
from dunning.steps import step_create
from engage import copy_rows
from engage.models import OutboxMessage
from statuses.rules import ChangeOption
from tests.accounts.factories import make_account, reason, status_type
from tests.conftest import TEST_TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

T = TEST_TODAY


def owe(account, total="100.00", *, due_days_ago: int):
    due = T - timedelta(days=due_days_ago)
    Invoice.objects.create(account=account, total=Decimal(total), issued_on=due - timedelta(days=14), due_on=due)


def change_of(change) -> tuple | None:
    return None if change is None else (change.to_type.name, change.state)


@pytest.mark.parametrize("copy_min_rows", [1, copy_rows.COPY_MIN_ROWS], ids=["copy", "insert"])
def test_each_way_a_range_goes_writes_its_rows(monkeypatch, copy_min_rows):
    monkeypatch.setattr(copy_rows, "COPY_MIN_ROWS", copy_min_rows)
    step_create(name="Reminder", days_overdue=5, min_amount="10.00", action="reminder",
                subject="{number} owes {overdue_amount}",
                body="Hello {name}: {overdue_days} days since {oldest_due_on}.")
    step_create(name="Suspend", days_overdue=20, min_amount="10.00", action="status_change",
                status_type=status_type("Suspended"), reason=reason("Non-payment"), option=ChangeOption.NO_TRANSACTION)
    step_create(name="Cancel", days_overdue=60, min_amount="10.00", action="status_change",
                status_type=status_type("Cancelled"), reason=reason("Non-payment"), option=ChangeOption.PERIOD_END)
    # An episode a pass opened 15 days ago with its reminder: today its account is suspended (the saved episode
    # is updated, not inserted).
    earlier = make_account(name="Earlier")
    owe(earlier, due_days_ago=25)
    collections_day(T - timedelta(days=15))
    new = make_account(name="New")
    owe(new, due_days_ago=25)
    reminded = make_account(name="Reminded")
    owe(reminded, "30.00", due_days_ago=6)
    exempt = make_account(name="Exempt")
    owe(exempt, due_days_ago=25)
    exemption_set(account_id=exempt.pk, until=T + timedelta(days=2), note="Pays on Friday", today=T)
    suspended = make_account(name="Suspended already", type_name="Suspended")
    owe(suspended, due_days_ago=25)
    cancelled = make_account(name="Cancelled at period end", bill_day=1)
    owe(cancelled, "70.00", due_days_ago=65)
    paid = make_account(name="Paid")  # nothing overdue: no row at all

    summary = collections_day(T)

    episodes = {(e.account.name, e.started_on, e.ended_on, e.type_before and e.type_before.name,
                 e.moved_by and e.moved_by.name, change_of(e.moved_change), e.restored_change_id, e.outcome)
                for e in CollectionEpisode.objects.select_related("account", "type_before", "moved_by",
                                                                  "moved_change__to_type")}
    before = T - timedelta(days=15)
    assert episodes == {
        ("Earlier", before, None, "Active", "Suspend", ("Suspended", "applied"), None, ""),
        ("New", T, None, "Active", "Suspend", ("Suspended", "applied"), None, ""),
        ("Reminded", T, None, None, None, None, None, ""),
        ("Suspended already", T, None, None, None, None, None, ""),
        ("Cancelled at period end", T, None, "Active", "Cancel", ("Cancelled", "pending"), None, ""),
    }
    step_runs = {(r.episode.account.name, r.step.name, r.step_name, r.ran_on, r.outcome, change_of(r.change),
                  r.message) for r in StepRun.objects.select_related("episode__account", "step", "change__to_type")}
    assert step_runs == {
        ("Earlier", "Reminder", "Reminder", before, "sent", None, ""),
        ("Earlier", "Suspend", "Suspend", T, "applied", ("Suspended", "applied"), ""),
        ("New", "Reminder", "Reminder", T, "passed_over", None, ""),
        ("New", "Suspend", "Suspend", T, "applied", ("Suspended", "applied"), ""),
        ("Reminded", "Reminder", "Reminder", T, "sent", None, ""),
        ("Suspended already", "Reminder", "Reminder", T, "passed_over", None, ""),
        ("Suspended already", "Suspend", "Suspend", T, "skipped", None,
         "The account already has the status “Suspended”."),
        ("Cancelled at period end", "Reminder", "Reminder", T, "passed_over", None, ""),
        ("Cancelled at period end", "Suspend", "Suspend", T, "passed_over", None, ""),
        ("Cancelled at period end", "Cancel", "Cancel", T, "scheduled", ("Cancelled", "pending"), ""),
    }
    reminders = [m.payload for m in OutboxMessage.objects.filter(kind=REMINDER).order_by("pk")]
    assert reminders[-1] == {
        "account_id": reminded.pk, "subject": f"{reminded.number} owes 30.00",
        "body": f"Hello Reminded: 6 days since {(T - timedelta(days=6)).isoformat()}."}
    assert len(reminders) == 2  # the earlier day's and today's
    # The aging: each overdue account under the back-end status it has after the pass (the one the step
    # applied; a scheduled change or a skipped step leaves it where it was).
    aging = {(b.backend_status, b.bucket, b.accounts, b.amount) for b in AgingBucket.objects.filter(as_of=T)}
    assert aging == {
        ("suspended", AgingBucket.Bucket.UP_TO_30, 3, Decimal("300.00")),
        ("active", AgingBucket.Bucket.UP_TO_30, 2, Decimal("130.00")),
        ("active", AgingBucket.Bucket.UP_TO_90, 1, Decimal("70.00")),
    }
    status = dict(Account.objects.values_list("name", "status_type__backend_status"))
    assert (status["New"], status["Earlier"], status["Cancelled at period end"], status["Paid"]) == (
        "suspended", "suspended", "active", "active")
    assert (summary.counts["exempt"], summary.counts["episodes_started"], summary.counts["applied"],
            summary.counts["scheduled"], summary.counts["skipped"], summary.counts["passed_over"],
            summary.counts["sent"]) == (1, 4, 2, 1, 1, 4, 1)
    assert (summary.overdue_accounts, summary.overdue_amount) == (6, Decimal("500.00"))
    assert paid.pk not in CollectionEpisode.objects.values_list("account_id", flat=True)
