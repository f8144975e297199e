"""One day at a time across every pass (SPEC §6, §11): the cases of issue 27, each the way the daily runs would
have had it; a pass never goes back; credits are not payments; a run ahead of time asks first."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account, StatusChange
from billing.models import ChargeLine, Invoice, UserPackage
from billing.payments import payment_record
from dunning.models import CollectionEpisode
from dunning.steps import step_create
from engage.business_day import PassGoesBack, behind, run_pass_for, scheduled_run
from engage.models import PassRun
from statuses.rules import ChangeOption
from tests.accounts.factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

LAST = date(2031, 5, 1)  # the last day beat ran every pass
GAP = [LAST + timedelta(days=n) for n in range(1, 13)]  # beat down twelve days
BACK = LAST + timedelta(days=13)


def at(time_machine, day, hour=2):
    time_machine.move_to(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False)


def every_pass(day):
    for name in ("apply_status_changes", "billing", "collections"):
        scheduled_run(name, day)


def suspend_after_ten_days():
    return step_create(name="Suspend after 10 days", days_overdue=10, action="status_change",
                       status_type=status_type("Suspended"), reason=reason("Non-payment"),
                       option=ChangeOption.PRORATED)


def ten_days_overdue(day):
    """An account billed on the 15th with 12.00 due ten days before `day`."""
    account = make_account(bill_day=15)
    Invoice.objects.create(account=account, issued_on=date(2031, 4, 26), due_on=day - timedelta(days=10),
                           total=Decimal("12.00"))
    return account


def type_name(account):
    return Account.objects.select_related("status_type").get(pk=account.pk).status_type.name


def test_a_catch_up_never_bills_a_period_that_collections_had_stopped(time_machine):
    # Issue 27's first case: the suspension falls on day 3 of the gap, the next period starts on day 10. The
    # billing pass wakes first after the gap; the daily runs would never have billed that period.
    suspend_after_ten_days()
    g3, g10 = GAP[2], GAP[9]
    account = make_account(bill_day=g10.day)
    give_package(account, price="30.00", start=g10 - timedelta(days=60), next_bill=g10)  # billed up to g10
    Invoice.objects.create(account=account, issued_on=g3 - timedelta(days=24), due_on=g3 - timedelta(days=10),
                           total=Decimal("30.00"))
    at(time_machine, LAST)
    every_pass(LAST)
    at(time_machine, BACK)
    result = scheduled_run("billing", BACK)  # the first pass beat wakes after the gap
    assert [(d["day"], d["pass"]) for d in result["caught_up"]][:3] == [
        (GAP[0].isoformat(), "apply_status_changes"), (GAP[0].isoformat(), "billing"),
        (GAP[0].isoformat(), "collections")]
    assert len(result["caught_up"]) == 12 * 3 + 1  # every day of the gap, every pass; then today's due changes
    assert type_name(account) == "Suspended"
    suspension = StatusChange.objects.get(account=account, to_type__name="Suspended")
    assert (suspension.effective_date, suspension.source) == (g3, "collection step Suspend after 10 days")
    lines = list(ChargeLine.objects.filter(account=account).order_by("pk").values_list(
        "kind", "amount", "period_start", "period_end"))
    # The unused part of the period billed before the gap is credited from g3; the period from g10 never billed.
    assert lines == [("prorated_credit", Decimal("-7.00"), g3, g10)]  # 30.00 × 7 / 30 days
    assert not ChargeLine.objects.filter(account=account, period_start=g10, kind="recurring").exists()
    assert UserPackage.objects.get(account=account).next_bill_date == g3


def test_a_suspensions_own_credit_does_not_restore_the_account(time_machine, django_capture_on_commit_callbacks):
    # Issue 27's sixth case: the prorated credit of the suspension pays the overdue invoice on paper; the
    # episode goes on (no suspend → restore → suspend loop) until the customer pays.
    suspend_after_ten_days()
    day = date(2031, 5, 20)
    account = ten_days_overdue(day)
    give_package(account, price="30.00", start=date(2031, 3, 15), next_bill=date(2031, 6, 15))  # billed to 15 Jun
    at(time_machine, day)
    run_pass_for("collections", day)
    assert type_name(account) == "Suspended"
    credit = Invoice.objects.get(account=account, total__lt=0)
    assert credit.total == Decimal("-25.16")  # 30.00 × 26 / 31 days: more than the 12.00 overdue
    for n in range(1, 4):
        at(time_machine, day + timedelta(days=n))
        run_pass_for("collections", day + timedelta(days=n))
    assert type_name(account) == "Suspended"
    assert CollectionEpisode.objects.get(account=account).ended_on is None
    # The customer pays: restored at once, and the reason says it was a payment.
    at(time_machine, day + timedelta(days=3), hour=12)
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(account_id=account.pk, amount="12.00", paid_on=day + timedelta(days=3), method="card",
                       today=day + timedelta(days=3))
    assert type_name(account) == "Active"
    restore = StatusChange.objects.filter(account=account).latest("pk")
    assert (restore.reason.name, restore.source) == ("Payment received", "collections (payment received)")


def test_a_credit_a_person_issued_restores_with_its_own_reason(time_machine):
    suspend_after_ten_days()
    day = date(2031, 5, 20)
    account = ten_days_overdue(day)
    at(time_machine, day)
    run_pass_for("collections", day)
    assert type_name(account) == "Suspended"
    Invoice.objects.create(account=account, issued_on=day + timedelta(days=1), due_on=day + timedelta(days=15),
                           total=Decimal("-12.00"))  # a goodwill credit note, not a payment
    at(time_machine, day + timedelta(days=1))
    run_pass_for("collections", day + timedelta(days=1))
    restore = StatusChange.objects.filter(account=account).latest("pk")
    assert (restore.to_type.name, restore.reason.name, restore.source) == (
        "Active", "Credit issued", "collections (credit issued)")


def test_a_pass_never_goes_back_to_a_day_before_its_last_success(time_machine):
    suspend_after_ten_days()
    account = make_account()
    Invoice.objects.create(account=account, issued_on=LAST - timedelta(days=30), due_on=LAST - timedelta(days=12),
                           total=Decimal("30.00"))
    at(time_machine, LAST)
    every_pass(LAST)
    episodes = list(CollectionEpisode.objects.values_list("pk", "ended_on"))
    with pytest.raises(PassGoesBack, match="last succeeded for 2031-05-01"):
        behind("collections", LAST - timedelta(days=3))
    with pytest.raises(CommandError, match="last succeeded for 2031-05-01; it never runs again for an earlier day"):
        call_command("run_collections_pass", "--date", "2031-04-28")
    assert scheduled_run("collections", LAST - timedelta(days=3)) == {
        "refused": "The collections pass last succeeded for 2031-05-01; it never runs again for an earlier day "
                   "(2031-04-28). Give 2031-05-01 or later."}
    assert list(CollectionEpisode.objects.values_list("pk", "ended_on")) == episodes  # nothing closed or opened
    assert PassRun.objects.filter(name="collections", as_of__lt=LAST).count() == 0


def test_a_run_ahead_of_time_says_how_many_changes_it_applies_and_asks(time_machine):
    at(time_machine, LAST, hour=12)
    for i in range(3):
        account = make_account(email=f"ahead{i}@example.com")
        StatusChange.objects.create(account=account, from_type=status_type("Active"),
                                    to_type=status_type("Suspended"), option="specific_date",
                                    effective_date=LAST + timedelta(days=10 + i), reason=reason("Non-payment"))
    with pytest.raises(CommandError, match="this will apply 3 pending status changes dated after today, up to "
                                           "2199-12-31. Give --yes to go on."):
        call_command("apply_status_changes", "--date", "2199-12-31", "--allow-future")
    assert StatusChange.objects.filter(state="pending").count() == 3
    out = StringIO()
    call_command("run_collections_pass", "--date", "2031-05-11", "--allow-future", "--yes", stdout=out)
    assert StatusChange.objects.filter(state="applied").count() == 1  # dated 11 May; the others not yet
    assert "first, 2031-05-11, apply due status changes: {'applied': 1" in out.getvalue()


# --- the dry run is the pass ----------------------------------------------------------------------------


def test_the_dry_run_of_a_paid_account_with_a_pending_step_says_what_the_pass_does(time_machine):
    # Issue 27's third case: a Period-end step left a pending suspension, then the account paid. The pass removes
    # the pending change and counts the account restored; the dry run said "the episode ends". Now it says what
    # the pass then does, in the pass's own words.
    from dunning.dry_run import collections_dry_run

    step_create(name="Suspend at period end", days_overdue=10, action="status_change",
                status_type=status_type("Suspended"), reason=reason("Non-payment"), option=ChangeOption.PERIOD_END)
    day = date(2031, 5, 20)
    account = ten_days_overdue(day)
    at(time_machine, day)
    run_pass_for("collections", day)
    pending = StatusChange.objects.get(account=account, state="pending")
    at(time_machine, day, hour=12)
    payment_record(account_id=account.pk, amount="12.00", paid_on=day, method="card", today=day)
    at(time_machine, day + timedelta(days=1))
    plan = collections_dry_run(day + timedelta(days=1))
    assert [(p.day, p.action, p.what) for p in plan.accounts] == [
        (day + timedelta(days=1), "restore",
         f"Paid before the step's change to “Suspended” on {pending.effective_date:%Y-%m-%d}: that change was "
         "removed.")]
    assert StatusChange.objects.get(pk=pending.pk).state == "pending"  # the dry run changed nothing
    run_pass_for("collections", day + timedelta(days=1))
    episode = CollectionEpisode.objects.get(account=account)
    assert (episode.ended_on, episode.outcome) == (day + timedelta(days=1), plan.accounts[0].what)
    assert StatusChange.objects.get(pk=pending.pk).state == "removed"


def test_the_dry_run_after_an_outage_lists_every_day_the_pass_replays(time_machine):
    from dunning.dry_run import collections_dry_run

    step_create(name="Reminder", days_overdue=3, action="reminder", subject="Overdue {number}", body="Please pay.")
    account = make_account()
    Invoice.objects.create(account=account, issued_on=LAST - timedelta(days=20), due_on=LAST - timedelta(days=1),
                           total=Decimal("30.00"))
    at(time_machine, LAST)
    every_pass(LAST)
    at(time_machine, BACK)
    plan = collections_dry_run(BACK)
    assert plan.days == [*GAP, BACK]
    # The reminder falls on the second day of the gap (3 days overdue), listed with that day.
    assert [(p.day, p.action, p.what) for p in plan.accounts] == [(GAP[1], "reminder", "E-mail “Overdue {number}”")]
    assert not PassRun.objects.filter(as_of__gt=LAST).exists()  # nothing of the passes was kept


@pytest.mark.usefixtures("frozen_today")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ages=st.lists(st.integers(-5, 40), min_size=1, max_size=4), paid=st.lists(st.booleans(), max_size=4),
       option=st.sampled_from([ChangeOption.PRORATED, ChangeOption.PERIOD_END]))
def test_the_dry_run_of_a_day_is_what_the_pass_then_does_row_for_row(ages, paid, option):
    from dunning.dry_run import collections_dry_run
    from dunning.models import StepRun
    from tests.conftest import TEST_TODAY

    with transaction.atomic():
        step_create(name="Remind", days_overdue=5, action="reminder", subject="Due {number}", body="Pay {name}.")
        step_create(name="Suspend", days_overdue=15, action="status_change", status_type=status_type("Suspended"),
                    reason=reason("Non-payment"), option=option)
        accounts = []
        for i, age in enumerate(ages):
            account = make_account(email=f"dry{i}@example.com", bill_day=1 + i * 7)
            give_package(account, price="30.00", start=TEST_TODAY - timedelta(days=90),
                         next_bill=TEST_TODAY + timedelta(days=3))
            Invoice.objects.create(account=account, issued_on=TEST_TODAY - timedelta(days=age + 14),
                                   due_on=TEST_TODAY - timedelta(days=age), total=Decimal("40.00"))
            accounts.append(account)
        run_pass_for("collections", TEST_TODAY - timedelta(days=10))
        for account, pays in zip(accounts, paid, strict=False):
            if pays:
                payment_record(account_id=account.pk, amount="40.00", paid_on=TEST_TODAY, method="card",
                               today=TEST_TODAY)
        plan = collections_dry_run(TEST_TODAY)
        before = StepRun.objects.count()
        run_pass_for("collections", TEST_TODAY)
        done = [(r.ran_on, r.episode.account_id, r.step_name) for r in StepRun.objects.order_by("pk")[before:]
                if r.outcome != "passed_over"]
        ended = [(e.ended_on, e.account_id, e.outcome) for e in CollectionEpisode.objects.filter(
            ended_on__gt=TEST_TODAY - timedelta(days=10)).order_by("account_id")]
        assert [(p.day, p.account_id, p.step.name) for p in plan.accounts if p.step] == sorted(done)
        assert sorted((p.day, p.account_id, p.what) for p in plan.accounts if not p.step) == sorted(ended)
        transaction.set_rollback(True)
