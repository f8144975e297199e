"""Two things at once against PostgreSQL: the database decides, nothing is applied twice."""

from datetime import date

import pytest

from accounts.engine import account_change_status
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine
from engage.errors import ConflictError
from tests.concurrency import all_succeed, run_at_once

from .factories import give_package, make_account, reason, status_type

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_people_changing_one_account_one_wins_the_other_is_told():
    account = make_account(bill_day=15)
    give_package(account, next_bill=date(2031, 3, 15))
    version = Account.objects.get(pk=account.pk).version

    def cancel():
        return account_change_status(
            account_id=account.pk,
            to_type=status_type("Cancelled"),
            reason=reason("Fraud"),
            option="immediately_with_prorated_transaction",
            on=date(2031, 3, 1),
            expected_version=version,
        )

    def suspend():
        return account_change_status(
            account_id=account.pk,
            to_type=status_type("Suspended"),
            reason=reason("Non-payment"),
            option="immediately_with_prorated_transaction",
            on=date(2031, 3, 1),
            expected_version=version,
        )

    results = run_at_once(cancel, suspend)
    (loser,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(loser, ConflictError) and "changed while you were editing" in str(loser)
    assert StatusChange.objects.filter(account=account).count() == 1
    assert ChargeLine.objects.filter(account=account).count() == 1  # one credit, not two


def test_two_schedulers_apply_each_due_change_exactly_once():
    accounts = [make_account(bill_day=15, email=f"c{i}@example.com") for i in range(30)]
    for account in accounts:
        give_package(account, next_bill=date(2031, 3, 15))
        account_change_status(
            account_id=account.pk,
            to_type=status_type("Cancelled"),
            reason=reason("Fraud"),
            option="specific_date",
            effective_date=date(2031, 3, 5),
            on=date(2031, 3, 1),
        )
    results = all_succeed(
        lambda: apply_due_status_changes(as_of=date(2031, 3, 5)),
        lambda: apply_due_status_changes(as_of=date(2031, 3, 5)),
    )
    assert sum(value["applied"] for value in results) == 30
    assert StatusChange.objects.filter(state="applied").count() == 30
    assert ChargeLine.objects.filter(kind="prorated_credit").count() == 30
    assert Account.objects.filter(status_type=status_type("Cancelled")).count() == 30
