"""The collections pass (SPEC §11, issue 16): steps run once per overdue episode, in sets through the engine's
batch path; restore on payment (at once, through the outbox), not after a change by hand; exemptions; the dry
run says what the pass does; replay in order, killed and re-run, one bad account, aging."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account, StatusChange
from billing.models import Invoice, Payment
from billing.payments import payment_record, payment_reverse
from dunning import passes
from dunning.dry_run import collections_dry_run
from dunning.exemptions import exemption_set
from dunning.models import AgingBucket, CollectionEpisode, StepRun
from dunning.overdue import day_starts
from dunning.passes import collections_day, run_collections_pass
from dunning.steps import step_create
from engage.errors import DomainError
from engage.models import PassRun
from statuses.rules import ChangeOption, StatusChangeState
from tests.accounts.factories import change_status, make_account, reason, status_type
from tests.conftest import TEST_TODAY
from tests.killing import killed_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

T = TEST_TODAY


def owe(account, total="100.00", *, due_days_ago: int):
    """An invoice whose due date was `due_days_ago` days before today."""
    due = T - timedelta(days=due_days_ago)
    return Invoice.objects.create(account=account, total=Decimal(total), issued_on=due - timedelta(days=14), due_on=due)


def steps(option=ChangeOption.NO_TRANSACTION):
    reminder = step_create(name="Friendly reminder", days_overdue=5, min_amount="10.00", action="reminder",
                           subject="Account {number}: {overdue_amount} overdue",
                           body="Hello {name}, {overdue_amount} is {overdue_days} days overdue.")
    suspend = step_create(name="Suspend after 20 days", days_overdue=20, min_amount="10.00", action="status_change",
                          status_type=status_type("Suspended"), reason=reason("Non-payment"), option=option)
    return reminder, suspend


def pay(account, amount, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return payment_record(account_id=account.pk, amount=amount, paid_on=T, method="card", today=T)


def type_name(account) -> str:
    return Account.objects.select_related("status_type").get(pk=account.pk).status_type.name


def runs(account) -> list[tuple[str, str, date]]:
    return [(r.step_name, r.outcome, r.ran_on) for r in StepRun.objects.filter(episode__account=account)]


def test_the_whole_story_reminder_suspension_and_restore_when_paid(django_capture_on_commit_callbacks):
    reminder, suspend = steps()
    account = make_account(name="Ada Overdue", email="ada@example.com")
    paying = make_account(name="Bob Paid", email="bob@example.com")
    owe(account, due_days_ago=25)
    owe(paying, due_days_ago=25)
    due_on = T - timedelta(days=25)
    paid = payment_record(account_id=paying.pk, amount="100.00", paid_on=due_on, method="card", today=T)
    # Paid on time, and recorded then: a pass replaying a past day sees the money recorded before that day began.
    Payment.objects.filter(pk=paid.pk).update(created_at=day_starts(due_on))

    # Day 5 overdue: the reminder, with its placeholders filled in.
    with django_capture_on_commit_callbacks(execute=True):
        run_collections_pass(as_of=due_on + timedelta(days=5))
    assert runs(account) == [("Friendly reminder", "sent", due_on + timedelta(days=5))]
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(
        ["ada@example.com"], f"Account {account.number}: 100.00 overdue",
        "Hello Ada Overdue, 100.00 is 5 days overdue.",
    )]
    assert runs(paying) == [] and type_name(account) == "Active"

    # Days 6 to 20, one pass for the lot: the suspension on day 20, the reminder not again.
    with django_capture_on_commit_callbacks(execute=True):
        run_collections_pass(as_of=due_on + timedelta(days=20))
    assert type_name(account) == "Suspended"
    assert runs(account)[1:] == [("Suspend after 20 days", "applied", due_on + timedelta(days=20))]
    change = StatusChange.objects.get(account=account, to_type__name="Suspended")
    assert (change.source, change.reason.name, change.effective_date, change.created_by) == (
        "collection step Suspend after 20 days", "Non-payment", due_on + timedelta(days=20), None)
    assert len(mail.outbox) == 2  # the reminder, and the status e-mail of the suspension

    # The next pass does nothing more: each step once per episode.
    run_collections_pass(as_of=T)
    assert len(runs(account)) == 2

    # Part of it paid: still overdue, still suspended. All of it: restored at once, by the outbox.
    pay(account, "40.00", django_capture_on_commit_callbacks)
    assert type_name(account) == "Suspended"
    pay(account, "60.00", django_capture_on_commit_callbacks)
    assert type_name(account) == "Active"
    restore = StatusChange.objects.filter(account=account).order_by("-pk").first()
    assert (restore.to_type.name, restore.reason.name, restore.option, restore.effective_date, restore.source) == (
        "Active", "Payment received", ChangeOption.PRORATED, T, "collections (payment received)")
    episode = CollectionEpisode.objects.get(account=account)
    assert (episode.ended_on, episode.outcome, episode.restored_change_id) == (T, "Paid. Restored to “Active”.",
                                                                               restore.pk)


def test_history_and_overview_say_which_step_did_it(admin_client, django_capture_on_commit_callbacks):
    steps()
    account = make_account()
    owe(account, due_days_ago=30)
    run_collections_pass(as_of=T)
    page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "by collection step Suspend after 20 days" in page
    assert "Overdue: <strong class=\"text-danger-emphasis\">100.00</strong>, 30 days" in page
    assert "Overdue episode open since" in page
    # Both steps were due on the first pass that found it: the reminder is passed over, not sent with it.
    assert runs(account) == [("Friendly reminder", "passed_over", T), ("Suspend after 20 days", "applied", T)]
    assert mail.outbox == [] or all("overdue" not in m.subject for m in mail.outbox)


def test_no_restore_after_a_change_by_hand_and_the_overview_says_so(admin_client, django_capture_on_commit_callbacks):
    steps()
    account = make_account()
    owe(account, due_days_ago=30)
    run_collections_pass(as_of=T)
    assert type_name(account) == "Suspended"
    change_status(account, "Cancelled")  # a person cancels it by hand
    page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "will <strong>not</strong> be restored automatically" in page
    pay(account, "100.00", django_capture_on_commit_callbacks)
    assert type_name(account) == "Cancelled"
    episode = CollectionEpisode.objects.get(account=account)
    assert episode.ended_on == T and episode.outcome.startswith("Paid, not restored: someone changed its status")
    assert "Paid, not restored" in admin_client.get(f"/accounts/{account.pk}/").content.decode()


def test_paid_before_a_period_end_step_takes_effect_its_change_is_removed(django_capture_on_commit_callbacks):
    steps(option="period_end")
    account = make_account(bill_day=1)
    owe(account, due_days_ago=30)
    run_collections_pass(as_of=T)
    pending = StatusChange.objects.get(account=account, state=StatusChangeState.PENDING)
    assert pending.to_type.name == "Suspended" and runs(account)[-1][1] == "scheduled"
    pay(account, "100.00", django_capture_on_commit_callbacks)
    pending.refresh_from_db()
    assert pending.state == StatusChangeState.REMOVED and type_name(account) == "Active"
    assert CollectionEpisode.objects.get(account=account).outcome.startswith("Paid before the step's change")


def test_below_the_minimum_amount_no_step_runs():
    steps()
    account = make_account()
    owe(account, "9.99", due_days_ago=30)
    run_collections_pass(as_of=T)
    assert runs(account) == [] and type_name(account) == "Active"
    assert CollectionEpisode.objects.filter(account=account, ended_on__isnull=True).count() == 1


def test_an_exempt_account_is_left_alone_until_its_exemption_ends(client, admin_client):
    steps()
    account = make_account(name="Exempt Eve")
    other = make_account(name="Plain Pat")
    owe(account, due_days_ago=30)
    exemption_set(account_id=account.pk, until=T + timedelta(days=2), note="Promised to pay on Friday", today=T)
    listed = admin_client.get("/accounts/?collections=exempt").content.decode()
    assert "Exempt Eve" in listed and "Plain Pat" not in listed
    assert "Plain Pat" in admin_client.get("/accounts/?collections=not_exempt").content.decode()
    page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert f"until {(T + timedelta(days=2)):%Y-%m-%d}: Promised to pay on Friday" in page
    assert collections_dry_run(T).exempt == 1
    run_collections_pass(as_of=T)
    assert runs(account) == [] and type_name(account) == "Active"
    run_collections_pass(as_of=T + timedelta(days=3))  # the exemption has ended
    assert type_name(account) == "Suspended"
    assert other.pk not in CollectionEpisode.objects.values_list("account_id", flat=True)


def test_exemption_input_is_checked():
    account = make_account()
    with pytest.raises(DomainError, match="in the past"):
        exemption_set(account_id=account.pk, until=T - timedelta(days=1), note="x", today=T)
    with pytest.raises(DomainError, match="Note"):
        exemption_set(account_id=account.pk, until=T, note="  ", today=T)
    with pytest.raises(DomainError, match="five years"):
        exemption_set(account_id=account.pk, until=T + timedelta(days=2000), note="x", today=T)
    assert Account.objects.get(pk=account.pk).collections_exempt_until is None


def test_the_dry_run_shows_exactly_what_the_pass_then_does(admin_client):
    reminder, suspend = steps()
    accounts = [make_account(name=f"Dry {i}") for i in range(5)]
    for account, days in zip(accounts, (3, 6, 21, 40, 0), strict=True):
        if days:
            owe(account, due_days_ago=days)
    plan = collections_dry_run(T)
    planned = {(p.account_id, p.step.name) for p in plan.accounts}
    assert plan.overdue_accounts == 4 and plan.overdue_amount == Decimal("400.00")
    assert dict(plan.per_step) == {reminder.pk: 1, suspend.pk: 2}
    page = admin_client.get(f"/collections/dry-run/?date={T:%Y-%m-%d}").content.decode()
    assert "4 accounts overdue, <strong>400.00</strong> in all" in page
    assert "Dry 2" in page and "Status → Suspended" in page
    run_collections_pass(as_of=T)
    done = {(r.episode.account_id, r.step_name) for r in StepRun.objects.exclude(outcome="passed_over")
            .select_related("episode")}
    assert done == planned
    assert collections_dry_run(T).total == 0  # the same pass again does nothing


def test_the_dry_run_refuses_a_bad_date_with_a_message(admin_client):
    response = admin_client.get("/collections/dry-run/?date=2026-02-30")
    assert response.status_code == 400
    assert "The day of the pass must be a date (YYYY-MM-DD)." in response.content.decode()


def outcome(accounts):
    return [(type_name(a), runs(a)) for a in accounts]


@pytest.mark.parametrize("daily", [True, False], ids=["daily", "after-three-days-down"])
def test_a_pass_after_three_days_down_does_what_three_daily_runs_do(daily):
    """Replay in order: the days since the last successful run, one after another."""
    steps()
    accounts = [make_account(name=f"Replay {i}") for i in range(3)]
    for account, days in zip(accounts, (4, 6, 21), strict=True):
        owe(account, due_days_ago=days)
    start = T - timedelta(days=3)
    collections_day(start)
    if daily:
        for n in (1, 2, 3):
            run_collections_pass(as_of=start + timedelta(days=n))
    else:
        result = run_collections_pass(as_of=T)
        replayed = [d["summary"]["date"] for d in result["caught_up"] if d["pass"] == "collections"]
        assert replayed + [result["collections"]["date"]] == [(start + timedelta(days=n)).isoformat()
                                                               for n in (1, 2, 3)]
    assert outcome(accounts) == [
        ("Active", []),  # 4 days overdue today: not yet
        ("Active", [("Friendly reminder", "sent", T - timedelta(days=1))]),  # 5 days yesterday
        ("Suspended", [("Friendly reminder", "sent", start),
                       ("Suspend after 20 days", "applied", T - timedelta(days=1))]),
    ]
    assert StatusChange.objects.get(to_type__name="Suspended", account=accounts[2]).effective_date == T - timedelta(
        days=1)


def test_killed_midway_and_run_again_finishes_without_doing_anything_twice():
    steps()
    accounts = [make_account(name=f"Killed {i}") for i in range(4)]
    for account in accounts:
        owe(account, due_days_ago=30)
    # Ranges of one account: the worker dies in the third, after its status change, as it records the step run.
    with pytest.raises(KeyboardInterrupt), killed_at('INSERT INTO "dunning_steprun"', 3):
        collections_day(T, chunk=1)
    done = [a for a in accounts if type_name(a) == "Suspended"]
    assert 0 < len(done) < 4
    assert PassRun.objects.get(name="collections").succeeded is False
    run_collections_pass(as_of=T)  # the same day again: it did not succeed
    assert [type_name(a) for a in accounts] == ["Suspended"] * 4
    assert StepRun.objects.filter(outcome="applied").count() == 4
    assert StatusChange.objects.filter(to_type__name="Suspended").count() == 4


def test_one_bad_account_does_not_stop_the_pass(monkeypatch):
    steps()
    accounts = [make_account(name=f"Batch {i}") for i in range(3)]
    for account in accounts:
        owe(account, due_days_ago=30)
    bad = accounts[1].pk
    original = passes.change_status_batch

    def fails_for_one(*, account_ids, **kwargs):
        if bad in account_ids:
            raise RuntimeError("switch record corrupt")
        return original(account_ids=account_ids, **kwargs)

    monkeypatch.setattr(passes, "change_status_batch", fails_for_one)
    summary = collections_day(T)
    assert [type_name(a) for a in accounts] == ["Suspended", "Active", "Suspended"]
    assert summary.errors == [f"account {bad}: RuntimeError: switch record corrupt"]
    run = PassRun.objects.get(name="collections")
    assert run.succeeded is False and f"account {bad}: RuntimeError" in run.detail


def test_a_reversed_payment_opens_a_new_episode_at_the_next_pass(django_capture_on_commit_callbacks):
    steps()
    account = make_account()
    owe(account, due_days_ago=30)
    run_collections_pass(as_of=T)
    payment = pay(account, "100.00", django_capture_on_commit_callbacks)
    assert type_name(account) == "Active"
    with django_capture_on_commit_callbacks(execute=True):
        payment_reverse(payment_id=payment.pk, reason="Card charged back", today=T)
    run_collections_pass(as_of=T + timedelta(days=1))
    assert type_name(account) == "Suspended"
    assert CollectionEpisode.objects.filter(account=account).count() == 2


def test_aging_counts_the_overdue_per_bucket_and_status(api_support):
    steps()
    for days, name in ((10, "A"), (45, "B"), (75, "C"), (120, "D"), (121, "E")):
        owe(make_account(name=name), "50.00", due_days_ago=days)
    run_collections_pass(as_of=T)
    data = api_support.get("/api/v1/statistics/aging/").json()
    assert data["as_of"] == T.isoformat() and (data["accounts"], data["amount"]) == (5, "250.00")
    assert [(b["bucket"], b["accounts"], b["amount"]) for b in data["buckets"]] == [
        ("1-30", 1, "50.00"), ("31-60", 1, "50.00"), ("61-90", 1, "50.00"), ("over-90", 2, "100.00")]
    over_90 = {c["backend_status"]: c["accounts"] for c in data["buckets"][3]["per_backend_status"]}
    assert over_90["suspended"] == 2 and over_90["active"] == 0  # counted after the pass suspended them
    assert AgingBucket.objects.filter(as_of=T).count() == 4


def test_aging_on_the_statistics_page(admin_client):
    owe(make_account(), "50.00", due_days_ago=10)
    assert "The collections pass has not run yet" in admin_client.get("/statistics/").content.decode()
    run_collections_pass(as_of=T)
    page = admin_client.get("/statistics/").content.decode()
    assert f"as the collections pass of {T:%Y-%m-%d} counted it" in page
    assert "1 · 50.00" in page


def test_the_account_api_gains_balance_overdue_and_exemption(api_support, django_capture_on_commit_callbacks):
    account = make_account()
    owe(account, "80.00", due_days_ago=12)
    owe(account, "20.00", due_days_ago=-5)  # not due yet
    pay(account, "30.00", django_capture_on_commit_callbacks)
    data = api_support.get(f"/api/v1/accounts/{account.pk}/").json()
    assert (data["balance"], data["overdue_amount"], data["overdue_days"], data["collections_exempt_until"]) == (
        "70.00", "50.00", 12, None)
    response = api_support.post(f"/api/v1/accounts/{account.pk}/collections-exemption/",
                                {"until": (T + timedelta(days=7)).isoformat(), "note": "Dispute #42"}, format="json")
    assert response.status_code == 200
    assert api_support.get(f"/api/v1/accounts/{account.pk}/").json()["collections_exempt_until"] == (
        T + timedelta(days=7)).isoformat()
    refused = api_support.post(f"/api/v1/accounts/{account.pk}/collections-exemption/",
                               {"until": "2000-01-01", "note": "x"}, format="json")
    assert refused.status_code == 400 and "in the past" in refused.json()["until"][0]
    assert api_support.post("/api/v1/accounts/999999/collections-exemption/", {}, format="json").status_code == 404


def test_the_dry_run_api(api_support):
    reminder, suspend = steps()
    account = make_account()
    owe(account, due_days_ago=7)
    data = api_support.get(f"/api/v1/collections/dry-run/?date={T:%Y-%m-%d}").json()
    assert data["results"] == [{"account": account.pk, "number": account.number, "step": "Friendly reminder",
                                "action": "reminder", "does": "E-mail “Account {number}: {overdue_amount} overdue”",
                                "overdue_amount": "100.00", "overdue_days": 7, "day": T.isoformat()}]
    assert (data["date"], data["days"], data["busy"]) == (T.isoformat(), [T.isoformat()], "")
    assert data["totals"]["per_step"] == [
        {"step": reminder.pk, "name": "Friendly reminder", "action": "reminder", "accounts": 1},
        {"step": suspend.pk, "name": "Suspend after 20 days", "action": "status_change", "accounts": 0}]
    assert api_support.get("/api/v1/collections/dry-run/?date=tomorrow").status_code == 400


def test_the_command_replays_and_prints_each_day(capsys):
    from django.core.management import call_command

    steps()
    owe(make_account(), due_days_ago=30)
    call_command("run_collections_pass", "--date", f"{T:%Y-%m-%d}")
    out = capsys.readouterr().out
    assert f"date {T:%Y-%m-%d}" in out and "overdue accounts 1" in out and "applied 1" in out


def test_the_demo_seeds_two_steps_and_five_overdue_accounts_once(capsys):
    from django.core.management import call_command

    for i in range(9):
        make_account(name=f"Demo {i}")
    call_command("seed_collections_demo")
    call_command("seed_collections_demo")
    assert "already exist; nothing added" in capsys.readouterr().out
    plan = collections_dry_run(T)
    assert (plan.overdue_accounts, plan.overdue_amount) == (5, Decimal("219.86"))
    assert sorted((s.name, n) for s, n in plan.step_rows) == [
        ("Reminder after 7 days", 3), ("Suspend after 21 days", 2)]  # 19.95 is under 20.00


def test_the_dry_run_lists_the_restore_of_an_account_paid_outside_a_payment(api_support):
    """A credit note that clears what was overdue: the next pass restores the account, and says so beforehand."""
    steps()
    account = make_account(name="Credited Carl")
    owe(account, due_days_ago=30)
    run_collections_pass(as_of=T)
    assert type_name(account) == "Suspended"
    Invoice.objects.create(account=account, total=Decimal("-100.00"), issued_on=T)  # a credit note, no payment
    rows = api_support.get("/api/v1/collections/dry-run/").json()["results"]
    assert [(r["account"], r["step"], r["action"], r["does"]) for r in rows] == [
        (account.pk, None, "restore", "Paid. Restored to “Active”.")]  # the pass's own words: it is the pass
    run_collections_pass(as_of=T)
    assert type_name(account) == "Active"


class _RollBack(Exception):
    pass


def _replayed(ages: list[int], down: int, daily: bool):
    """The accounts' outcome after a pass on the day before an outage of `down` days and then either a pass
    each day or one pass after it; everything it wrote rolled back."""
    result = []
    try:
        with transaction.atomic():
            steps()
            accounts = [make_account(name=f"Prop {i}") for i in range(len(ages))]
            for account, age in zip(accounts, ages, strict=True):
                owe(account, f"{5 + age}.00", due_days_ago=age)
            start = T - timedelta(days=down)
            collections_day(start)
            for n in range(1, down + 1) if daily else [down]:
                run_collections_pass(as_of=start + timedelta(days=n))
            result = outcome(accounts)
            raise _RollBack
    except _RollBack:
        return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ages=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=4),
       down=st.integers(min_value=1, max_value=6))
def test_any_outage_replayed_gives_what_daily_runs_give(ages, down):
    """Replay in order, as a property: whatever the accounts' overdue ages and amounts (some under the steps'
    minimum) and however many days the pass was down, one pass afterwards leaves every account in the status,
    with the step runs on the days, that a pass each day would have."""
    assert _replayed(ages, down, daily=False) == _replayed(ages, down, daily=True)


def test_reading_the_aging_costs_two_queries_whatever_the_accounts(django_assert_num_queries):
    from dunning.aging import latest_aging

    for days in (3, 40, 70, 100):
        owe(make_account(name=f"Aged {days}"), "10.00", due_days_ago=days)
    run_collections_pass(as_of=T)
    with django_assert_num_queries(2):
        aging = latest_aging()
    assert (aging.accounts, aging.amount) == (4, Decimal("40.00"))
    for days in (5, 6, 7):
        owe(make_account(name=f"More {days}"), "10.00", due_days_ago=days)
    run_collections_pass(as_of=T)
    with django_assert_num_queries(2):
        assert latest_aging().accounts == 7


def test_the_demo_keeps_its_overdue_invoices_unpaid_when_the_accounts_have_been_billed_before():
    """make run's accounts have months of invoices: paying each account's whole bill settled the overdue invoice
    first (payments settle the oldest) and left a newer one, not yet due, open: the demo said 5 and found 2."""
    from django.core.management import call_command

    for i in range(9):
        account = make_account(name=f"Billed {i}")
        Invoice.objects.create(account=account, issued_on=T - timedelta(days=60), due_on=T - timedelta(days=46),
                               total=Decimal("10.00"))
        Invoice.objects.create(account=account, issued_on=T - timedelta(days=2), due_on=T + timedelta(days=12),
                               total=Decimal("10.00"))
    call_command("seed_collections_demo")
    plan = collections_dry_run(T)
    assert plan.overdue_accounts == 5
    assert sorted(a.overdue_days for a in plan.accounts) == [9, 16, 26, 45, 95]
