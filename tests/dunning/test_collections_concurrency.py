"""Collections against PostgreSQL in real threads: two passes at once, and a payment while the pass runs."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import Account, StatusChange
from billing.models import Invoice
from billing.payments import payment_record
from dunning import passes
from dunning.models import CollectionEpisode, StepRun
from dunning.passes import collections_day
from dunning.steps import step_create
from statuses.rules import ChangeOption
from tests.accounts.factories import make_account, reason, status_type
from tests.concurrency import all_succeed
from tests.conftest import TEST_TODAY

pytestmark = pytest.mark.usefixtures("frozen_today")

T = TEST_TODAY
ACCOUNTS = 40


def overdue_accounts(n):
    step_create(name="Reminder", days_overdue=5, action="reminder", subject="Overdue", body="Please pay {number}.")
    step_create(name="Suspend", days_overdue=20, action="status_change", status_type=status_type("Suspended"),
                reason=reason("Non-payment"), option=ChangeOption.NO_TRANSACTION)
    accounts = []
    for i in range(n):
        account = make_account(name=f"Concurrent {i}", email=f"c{i}@example.com")
        due = T - timedelta(days=5 if i % 2 else 25)
        Invoice.objects.create(account=account, total=Decimal("30.00"), issued_on=due - timedelta(days=14), due_on=due)
        accounts.append(account)
    return accounts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_passes_at_once_run_each_step_once(monkeypatch):
    monkeypatch.setattr(passes, "CHUNK", 3)  # many small ranges: the two runs meet on locked rows
    accounts = overdue_accounts(ACCOUNTS)

    def pass_():
        return collections_day(T, chunk=3)

    all_succeed(pass_, pass_)
    assert CollectionEpisode.objects.count() == ACCOUNTS
    assert StepRun.objects.filter(outcome="sent").count() == ACCOUNTS // 2
    assert StepRun.objects.filter(outcome="applied").count() == ACCOUNTS // 2
    assert StepRun.objects.filter(outcome="passed_over").count() == ACCOUNTS // 2
    assert StatusChange.objects.filter(to_type__name="Suspended", source="collection step Suspend").count() == (
        ACCOUNTS // 2)
    suspended = Account.objects.filter(pk__in=[a.pk for a in accounts], status_type__name="Suspended").count()
    assert suspended == ACCOUNTS // 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_payments_during_the_pass_either_come_first_or_restore_after():
    """A payment locks the account first: the pass sees it paid (no step), or suspends and the payment's
    settle restores it. Never suspended with nothing overdue."""
    accounts = overdue_accounts(12)
    late = [a for i, a in enumerate(accounts) if i % 2 == 0]

    def payments():
        for account in late:
            payment_record(account_id=account.pk, amount="30.00", paid_on=T, method="card", today=T)

    all_succeed(lambda: collections_day(T, chunk=2), payments)
    # The outbox hands the settle messages over after commit; with eager Celery they ran in the payment thread.
    for account in late:
        assert Account.objects.get(pk=account.pk).status_type.name == "Active"
        assert CollectionEpisode.objects.filter(account=account, ended_on__isnull=True).count() == 0
