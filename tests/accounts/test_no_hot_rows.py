"""No hot rows (issue 28): the per-type counters and the per-reason roll-up take appended rows, so two status
changes of the same kind never wait on one row; folding them every minute changes no count, and the recount
and the rebuild agree with them after changes, folds and repairs really ran at once (PostgreSQL)."""

import threading
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.engine import (
    account_change_status,
    fold_status_type_counts,
    recount_status_types,
    status_type_counts_now,
)
from accounts.models import StatusTypeCount, StatusTypeCountDelta
from reporting.models import ReasonDayCount
from reporting.reason_rollup import fold_reason_counts, rebuild_reason_counts
from tests.concurrency import all_succeed
from tests.reporting.rollup import history, rollup

from .factories import make_account, reason, status_type

D = date(2031, 5, 10)


def _suspend(account, day=D):
    account_change_status(account_id=account.pk, to_type=status_type("Suspended"),
                          option="immediately_with_no_transaction", reason=reason("Non-payment"), on=day)


@pytest.mark.django_db
def test_folding_moves_the_deltas_into_the_counters_and_changes_no_count():
    accounts = [make_account(name=f"Fold {i}", email=f"fold{i}@example.com") for i in range(3)]
    for account in accounts:
        _suspend(account)
    counts = status_type_counts_now()
    assert StatusTypeCountDelta.objects.exists() and ReasonDayCount.objects.filter(day=D).count() == 3
    counted = rollup()

    assert fold_status_type_counts() > 0
    assert fold_reason_counts() == 3
    assert not StatusTypeCountDelta.objects.exists()
    assert status_type_counts_now() == counts
    suspended = status_type("Suspended")
    assert counts[suspended.pk] == StatusTypeCount.objects.get(status_type=suspended).count
    assert list(ReasonDayCount.objects.filter(day=D).values_list("count", flat=True)) == [3]
    assert rollup() == counted == history()
    assert recount_status_types(fix=False) == {}
    # Nothing left to fold: a second fold changes nothing.
    assert (fold_status_type_counts(), fold_reason_counts()) == (0, 0)
    assert status_type_counts_now() == counts and rollup() == counted


@pytest.mark.django_db
def test_the_recount_repairs_a_drifted_counter_with_deltas_not_folded_yet(capsys):
    suspended = status_type("Suspended")
    _suspend(make_account(name="Drift", email="drift@example.com"))
    real = status_type_counts_now([suspended.pk])[suspended.pk]
    StatusTypeCount.objects.update_or_create(status_type=suspended, defaults={"count": 500})  # drifted (a hand edit)
    stored, counted = recount_status_types(fix=False)[suspended.pk]
    assert counted == real and stored == 500 + sum(
        StatusTypeCountDelta.objects.filter(status_type=suspended).values_list("delta", flat=True))
    call_command("recount_statistics", "--fix")
    assert "were fixed" in capsys.readouterr().out
    assert status_type_counts_now([suspended.pk]) == {suspended.pk: real}
    assert recount_status_types(fix=False) == {}
    fold_status_type_counts()
    assert status_type_counts_now([suspended.pk]) == {suspended.pk: real}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_status_changes_of_the_same_kind_never_wait_on_one_row():
    """The first change stays uncommitted while the second, to the same type for the same reason and day,
    runs with a lock timeout of 2 s: it commits first. (With the counters and the roll-up updated in place,
    the second waited for the first's counter row and timed out.)"""
    first_account = make_account(name="Hot 1", email="hot1@example.com")
    second_account = make_account(name="Hot 2", email="hot2@example.com")
    written, second_done = threading.Event(), threading.Event()
    order = []

    def first():
        with transaction.atomic():
            _suspend(first_account)
            written.set()
            assert second_done.wait(20), "the second change did not finish while the first was open"
            order.append("first")

    def second():
        assert written.wait(20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            _suspend(second_account)
        order.append("second")
        second_done.set()

    all_succeed(first, second)
    assert order == ["second", "first"]
    suspended = status_type("Suspended").pk
    assert recount_status_types(fix=False) == {}
    assert rollup()[D, reason("Non-payment").pk, "suspended"] == 2 and rollup() == history()
    assert status_type_counts_now([suspended]) == {suspended: 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_changes_folds_recounts_and_rebuilds_at_once_agree_with_the_accounts_and_thehistory():
    accounts = [make_account(name=f"Many {i}", email=f"many{i}@example.com") for i in range(24)]
    StatusTypeCount.objects.update_or_create(status_type=status_type("Cancelled"), defaults={"count": 7})  # drifted
    stop = threading.Event()

    def changes(part):
        def run():
            for account in part:
                _suspend(account)
            return len(part)
        return run

    def housekeeping():
        runs = 0
        while not stop.is_set() or runs < 3:
            fold_status_type_counts()
            fold_reason_counts()
            recount_status_types(fix=True)
            rebuild_reason_counts()
            runs += 1
        return runs

    def writers_then_stop():
        try:
            return all_succeed(*(changes(accounts[i::3]) for i in range(3)))
        finally:
            stop.set()

    results = all_succeed(writers_then_stop, housekeeping)
    assert results[0] == [8, 8, 8] and results[1] >= 3
    assert recount_status_types(fix=False) == {}
    assert rollup() == history()
    assert rollup()[D, reason("Non-payment").pk, "suspended"] == 24
    fold_status_type_counts()
    fold_reason_counts()
    assert recount_status_types(fix=False) == {} and rollup() == history()
