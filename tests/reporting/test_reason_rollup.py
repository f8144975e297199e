"""The changes-per-reason roll-up (issue 14): kept in the transaction of every applied change (single,
batch, the due pass), equal to a count of the history, repairable, read at a constant cost, and counted
right by two transactions at once."""

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.engine import account_change_status, change_status_batch, status_change_remove, status_changes_applied
from accounts.models import StatusChange
from accounts.passes import apply_due_status_changes
from reporting.models import ReasonDayCount
from reporting.reason_rollup import add_applied_changes
from reporting.statistics import reason_counts
from tests.concurrency import all_succeed
from tests.reporting.rollup import history, rollup

from ..accounts.factories import make_account, reason, status_type

pytestmark = pytest.mark.django_db

D = date(2031, 5, 10)


def test_every_way_of_applying_a_change_adds_to_the_rollup_and_nothing_else_does():
    a, b, c, d = (make_account(name=f"R{i}", email=f"r{i}@example.com") for i in range(4))
    suspended, cancelled, non_payment = status_type("Suspended"), status_type("Cancelled"), reason("Non-payment")
    account_change_status(account_id=a.pk, to_type=suspended, option="immediately_with_no_transaction",
                          reason=non_payment, on=D)
    change_status_batch(account_ids=[b.pk, c.pk], to_type=cancelled, option="immediately_with_no_transaction",
                        reason=reason("Fraud"), on=D)
    scheduled = account_change_status(account_id=d.pk, to_type=suspended, option="specific_date",
                                      effective_date=D + timedelta(days=2), reason=non_payment, on=D).change
    removed = account_change_status(account_id=a.pk, to_type=status_type("Active"), option="specific_date",
                                    effective_date=D + timedelta(days=3), on=D).change
    status_change_remove(change_id=removed.pk)  # removed: never counted
    before = rollup()
    assert before[D, non_payment.pk, "suspended"] == 1
    assert before[D, reason("Fraud").pk, "cancelled"] == 2
    assert before == history()
    apply_due_status_changes(as_of=D + timedelta(days=5))
    assert rollup()[scheduled.effective_date, non_payment.pk, "suspended"] == 1
    assert rollup() == history()


def test_reason_counts_read_the_rollup_in_the_same_queries_for_few_and_many_changes():
    counts = []
    for n in (2, 30):
        accounts = [make_account(name=f"Q{n}-{i}", email=f"q{n}{i}@example.com") for i in range(n)]
        change_status_batch(account_ids=[a.pk for a in accounts], to_type=status_type("Suspended"),
                            option="immediately_with_no_transaction", reason=reason("Non-payment"), on=D)
        with CaptureQueriesContext(connection) as queries:
            result = reason_counts(start=D, end=D + timedelta(days=89))
        counts.append(len(queries))
        assert result["total"] == sum(n for (day, _reason, _status), n in history().items()
                                      if D <= day <= D + timedelta(days=89))
    assert counts[0] == counts[1] == 2, counts
    row = next(r for r in reason_counts(start=D, end=D)["rows"] if r["reason"] == "Non-payment")
    assert row["counts"]["suspended"] == 32


def test_the_rebuild_command_repairs_a_damaged_rollup(capsys):
    make_account(name="Repair", email="repair@example.com", type_name="Suspended")
    good = rollup()
    assert good
    ReasonDayCount.objects.update(count=999)
    ReasonDayCount.objects.create(day=D, reason_id=0, backend_status="active", count=5)
    call_command("rebuild_reason_counts")
    assert rollup() == good == history()
    assert "Rebuilt the changes-per-reason roll-up" in capsys.readouterr().out


def test_a_rolled_back_change_leaves_no_count():
    account = make_account(name="Rollback", email="rollback@example.com")
    before = rollup()
    with transaction.atomic():
        account_change_status(account_id=account.pk, to_type=status_type("Cancelled"),
                              option="immediately_with_no_transaction", reason=reason("Fraud"), on=D)
        transaction.set_rollback(True)
    assert rollup() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_transactions_adding_to_the_same_day_and_reason_both_count():
    def add():
        with transaction.atomic():
            add_applied_changes(rows=[(D, None, "active")] * 3)

    all_succeed(*[add] * 6)
    assert rollup()[D, 0, "active"] == 18


def test_the_signal_adds_its_rows_grouped_per_day_reason_and_status_and_the_api_shows_them(admin_client):
    fraud = reason("Fraud")
    other = D + timedelta(days=1)
    status_changes_applied.send(sender=StatusChange, rows=[
        (D, None, "active"), (D, fraud.pk, "suspended"), (D, fraud.pk, "suspended"), (other, fraud.pk, "cancelled"),
    ])
    status_changes_applied.send(sender=StatusChange, rows=[(D, fraud.pk, "suspended")])
    status_changes_applied.send(sender=StatusChange, rows=[])  # nothing applied: nothing written
    assert rollup() == {(D, 0, "active"): 1, (D, fraud.pk, "suspended"): 3, (other, fraud.pk, "cancelled"): 1}
    body = admin_client.get(f"/api/v1/statistics/?start={D}&end={other}").json()
    flat = {(row["reason"], row["backend_status"]): row["count"] for row in body["status_changes_per_reason"]}
    assert flat == {(None, "active"): 1, ("Fraud", "suspended"): 3, ("Fraud", "cancelled"): 1}
    one_day = admin_client.get(f"/api/v1/statistics/?start={other}&end={other}").json()["status_changes_per_reason"]
    assert [(row["reason"], row["count"]) for row in one_day] == [("Fraud", 1)]


def test_the_migration_backfills_the_history_in_one_statement():
    make_account(name="Backfill", email="backfill@example.com", type_name="Suspended")
    account = make_account(name="Backfill 2", email="backfill2@example.com")
    account_change_status(account_id=account.pk, to_type=status_type("Cancelled"),
                          option="immediately_with_no_transaction", reason=reason("Fraud"), on=D)
    expected = history()
    assert expected and rollup() == expected
    ReasonDayCount.objects.all().delete()
    migration = importlib.import_module("reporting.migrations.0002_reason_day_count")
    with CaptureQueriesContext(connection) as queries:
        migration.backfill(django_apps, SimpleNamespace(connection=connection))
    assert len(queries) == 1
    assert rollup() == expected
