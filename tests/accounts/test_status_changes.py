"""The engine: every option × {cancel, suspend, enable, inert} with exact amounts, and every refusal."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.engine import account_change_status, preview_status_change, status_change_remove, status_type_counts_now
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, UserPackage
from engage.errors import ConflictError, DomainError

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

PRORATED = "immediately_with_prorated_transaction"
FULL = "immediately_with_full_transaction"
NONE = "immediately_with_no_transaction"


def lines(account):
    return [
        (x.kind, x.amount, x.period_start, x.period_end)
        for x in ChargeLine.objects.filter(account=account).order_by("id")
    ]


def change(account, to, option, *, on, reason_name=None, effective_date=None, **kw):
    return account_change_status(
        account_id=account.pk,
        to_type=status_type(to),
        option=option,
        on=on,
        effective_date=effective_date,
        reason=reason(reason_name) if reason_name else None,
        **kw,
    )


def schedule(account, to, effective_date, *, reason_name, on=date(2031, 3, 1)):
    """A Specific date change asked for on `on`."""
    return change(account, to, "specific_date", on=on, effective_date=effective_date, reason_name=reason_name)


# --- leaving billing: cancel / suspend -------------------------------------------------------------


@pytest.mark.parametrize("to,why", [("Cancelled", "Non-payment"), ("Suspended", "Non-payment")])
def test_prorated_cancel_or_suspend_credits_the_unused_billed_part(to, why):
    account = make_account(bill_day=15)
    up = give_package(account, next_bill=date(2031, 3, 15))  # [02-15, 03-15) billed
    outcome = change(account, to, PRORATED, on=date(2031, 3, 1), reason_name=why)
    assert outcome.state == "applied"
    assert lines(account) == [("prorated_credit", Decimal("-25.00"), date(2031, 3, 1), date(2031, 3, 15))]
    up.refresh_from_db()
    assert up.next_bill_date == date(2031, 3, 1)
    assert up.status == "active"  # packages stay active; the account's status stops billing
    account.refresh_from_db()
    assert account.status_type.name == to
    assert account.cancelled_on == (date(2031, 3, 1) if to == "Cancelled" else None)


def test_prorated_cancel_of_an_unbilled_period_gives_no_credit():
    # Cancelled on its bill day before the billing pass ran: the period was never billed, so no credit.
    account = make_account(bill_day=15)
    up = give_package(account, next_bill=date(2031, 3, 15))
    change(account, "Cancelled", PRORATED, on=date(2031, 3, 15), reason_name="Fraud")
    assert lines(account) == []
    up.refresh_from_db()
    assert up.next_bill_date == date(2031, 3, 15)


def test_a_change_after_missed_billing_bills_the_days_before_it_first():
    # SPEC §6, time in order: the pass did not run on 02-15; the period is billed with the status in
    # effect then (active), then the cancel credits what is unused: the customer pays 02-15 to 03-01.
    account = make_account(bill_day=15)
    up = give_package(account, next_bill=date(2031, 2, 15))
    outcome = change(account, "Cancelled", PRORATED, on=date(2031, 3, 1), reason_name="Fraud")
    assert lines(account) == [
        ("recurring", Decimal("49.99"), date(2031, 2, 15), date(2031, 3, 15)),
        ("prorated_credit", Decimal("-25.00"), date(2031, 3, 1), date(2031, 3, 15)),
    ]
    assert [(b.periods, b.amount) for b in outcome.billed_before] == [(1, Decimal("49.99"))]
    assert ChargeLine.objects.get(kind="recurring").invoice.issued_on == date(2031, 2, 15)
    up.refresh_from_db()
    assert up.next_bill_date == date(2031, 3, 1)


def test_full_cancel_charges_an_unbilled_period_in_full_and_nothing_when_billed():
    unbilled = make_account(bill_day=1, email="a@example.com")
    give_package(unbilled, price="30.00", start=date(2026, 11, 1), next_bill=date(2026, 12, 1))
    change(unbilled, "Cancelled", FULL, on=date(2026, 12, 11), reason_name="Non-payment")
    assert lines(unbilled) == [("recurring", Decimal("30.00"), date(2026, 12, 1), date(2027, 1, 1))]
    assert UserPackage.objects.get(account=unbilled).next_bill_date == date(2027, 1, 1)

    billed = make_account(bill_day=1, email="b@example.com")
    give_package(billed, price="30.00", start=date(2026, 11, 1), next_bill=date(2027, 1, 1))
    change(billed, "Cancelled", FULL, on=date(2026, 12, 11), reason_name="Non-payment")
    assert lines(billed) == []


def test_no_transaction_cancel_changes_status_only():
    account = make_account(bill_day=1)
    up = give_package(account, price="30.00", start=date(2026, 11, 1), next_bill=date(2027, 1, 1))
    change(account, "Suspended", NONE, on=date(2026, 12, 11), reason_name="Technical issue")
    assert lines(account) == []
    up.refresh_from_db()
    assert up.next_bill_date == date(2027, 1, 1)
    assert Account.objects.get(pk=account.pk).status_type.name == "Suspended"


def test_period_end_cancel_is_scheduled_for_the_bill_day_and_makes_no_transaction():
    account = make_account(bill_day=28)
    give_package(account, price="19.95", start=date(2027, 1, 28), next_bill=date(2027, 3, 28))
    outcome = change(account, "Cancelled", "period_end", on=date(2027, 3, 1), reason_name="Customer request")
    assert (outcome.state, outcome.effective_date) == ("pending", date(2027, 3, 28))
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"
    assert apply_due_status_changes(as_of=date(2027, 3, 27))["applied"] == 0
    assert apply_due_status_changes(as_of=date(2027, 3, 28))["applied"] == 1
    assert Account.objects.get(pk=account.pk).status_type.name == "Cancelled"
    assert lines(account) == []


def test_specific_date_cancel_is_prorated_at_that_date():
    account = make_account(bill_day=1)
    give_package(account, price="30.00", start=date(2026, 11, 1), next_bill=date(2027, 1, 1))
    outcome = change(
        account,
        "Cancelled",
        "specific_date",
        on=date(2026, 12, 1),
        effective_date=date(2026, 12, 11),
        reason_name="Customer request",
    )
    assert outcome.state == "pending"
    assert [(t.kind, t.amount) for t in outcome.transactions] == [("prorated_credit", Decimal("-20.32"))]
    assert lines(account) == []  # nothing until the date
    apply_due_status_changes(as_of=date(2026, 12, 11))
    assert lines(account) == [("prorated_credit", Decimal("-20.32"), date(2026, 12, 11), date(2027, 1, 1))]
    history = StatusChange.objects.get(account=account)
    assert (history.state, history.executed_by) == ("applied", None)


# --- entering billing: enable ---------------------------------------------------------------------


def cancelled_account(*, bill_day=15, next_bill=date(2031, 3, 1), price="49.99"):
    account = make_account(bill_day=bill_day)
    give_package(account, price=price, next_bill=next_bill)
    Account.objects.filter(pk=account.pk).update(status_type=status_type("Cancelled"))
    return account


def test_prorated_enable_charges_the_rest_of_the_period():
    account = cancelled_account()
    change(account, "Active", PRORATED, on=date(2031, 3, 10))
    # 49.99 × 5 ÷ 28 = 8.926… → 8.93
    assert lines(account) == [("prorated_charge", Decimal("8.93"), date(2031, 3, 10), date(2031, 3, 15))]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 3, 15)
    assert Account.objects.get(pk=account.pk).cancelled_on is None


def test_prorated_enable_on_the_bill_day_is_a_full_recurring_line():
    account = cancelled_account(next_bill=date(2031, 3, 1))
    change(account, "Active", PRORATED, on=date(2031, 3, 15))
    assert lines(account) == [("recurring", Decimal("49.99"), date(2031, 3, 15), date(2031, 4, 15))]


def test_enable_charges_nothing_when_the_period_is_already_billed():
    account = cancelled_account(next_bill=date(2031, 3, 15))
    change(account, "Active", PRORATED, on=date(2031, 3, 10))
    assert lines(account) == []


def test_full_enable_charges_the_current_period_in_full():
    account = cancelled_account(bill_day=1, next_bill=date(2026, 11, 20), price="30.00")
    change(account, "Active", FULL, on=date(2026, 12, 11))
    assert lines(account) == [("recurring", Decimal("30.00"), date(2026, 12, 1), date(2027, 1, 1))]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2027, 1, 1)


def test_no_transaction_enable_resumes_billing_at_the_next_bill_date():
    account = cancelled_account(bill_day=1, next_bill=date(2026, 11, 20), price="30.00")
    change(account, "Active", NONE, on=date(2026, 12, 11))
    assert lines(account) == []
    assert UserPackage.objects.get(account=account).next_bill_date == date(2027, 1, 1)


def test_period_end_enable_moves_the_next_bill_date_to_the_bill_day():
    account = cancelled_account(bill_day=1, next_bill=date(2026, 10, 20), price="30.00")
    outcome = change(account, "Active", "period_end", on=date(2026, 12, 11))
    assert outcome.effective_date == date(2027, 1, 1)
    apply_due_status_changes(as_of=date(2027, 1, 1))
    assert lines(account) == []
    assert UserPackage.objects.get(account=account).next_bill_date == date(2027, 1, 1)


def test_prospect_activation_sets_left_prospect_date_and_bills_from_then():
    account = make_account(bill_day=28, type_name="Prospect")
    give_package(account, price="19.95", start=date(2027, 2, 10), next_bill=date(2027, 2, 10))
    change(account, "Active", PRORATED, on=date(2027, 3, 27))
    assert lines(account) == [("prorated_charge", Decimal("0.71"), date(2027, 3, 27), date(2027, 3, 28))]
    account.refresh_from_db()
    assert account.left_prospect_on == date(2027, 3, 27)


# --- inert transitions ----------------------------------------------------------------------------


def test_between_two_non_billing_statuses_only_the_timing_is_offered_and_nothing_is_charged():
    account = make_account(bill_day=15)
    give_package(account, next_bill=date(2031, 3, 15))
    change(account, "Suspended", NONE, on=date(2031, 3, 1), reason_name="Non-payment")
    with pytest.raises(DomainError, match="only the timing"):
        change(account, "Cancelled", PRORATED, on=date(2031, 3, 2), reason_name="Non-payment")
    change(account, "Cancelled", NONE, on=date(2031, 3, 2), reason_name="Non-payment")
    assert lines(account) == []


def test_two_types_with_the_same_backend_status_make_no_transactions():
    from statuses.services import status_type_create

    status_type_create(name="Active VIP", backend_status="active")
    account = make_account(bill_day=15)
    give_package(account, next_bill=date(2031, 3, 15))
    change(account, "Active VIP", "immediately_with_no_transaction", on=date(2031, 3, 1))
    assert lines(account) == []
    assert Account.objects.get(pk=account.pk).status_type.name == "Active VIP"


# --- refusals: a clear message and nothing changed ------------------------------------------------


def assert_unchanged(account, type_name="Active"):
    assert Account.objects.get(pk=account.pk).status_type.name == type_name
    assert ChargeLine.objects.filter(account=account).count() == 0


def test_prospect_cannot_be_entered_again():
    account = make_account(type_name="Prospect")
    change(account, "Active", NONE, on=date(2031, 3, 1))
    with pytest.raises(DomainError, match="never return"):
        change(account, "Prospect", NONE, on=date(2031, 3, 2))
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"


def test_moving_between_two_prospect_types_is_allowed():
    from statuses.services import status_type_create

    status_type_create(name="Lead", backend_status="prospect")
    account = make_account(type_name="Prospect")
    change(account, "Lead", NONE, on=date(2031, 3, 1))
    assert Account.objects.get(pk=account.pk).status_type.name == "Lead"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"to": "Active", "option": NONE}, "already has the status"),
        ({"to": "Cancelled", "option": PRORATED}, "reason is required"),
        ({"to": "Cancelled", "option": PRORATED, "reason_name": "Payment received"}, "does not apply"),
        ({"to": "Cancelled", "option": "specific_date", "reason_name": "Fraud"}, "needs a date"),
        (
            {"to": "Cancelled", "option": "specific_date", "reason_name": "Fraud", "effective_date": date(2031, 2, 28)},
            "in the past",
        ),
        ({"to": "Cancelled", "option": "tomorrow-ish", "reason_name": "Fraud"}, "Unknown option"),
        ({"to": "Cancelled", "option": PRORATED, "reason_name": "Fraud", "note": "x" * 100_000}, "at most 2000"),
    ],
)
def test_refusals(kwargs, message):
    account = make_account(bill_day=15)
    give_package(account, next_bill=date(2031, 3, 15))
    kwargs = dict(kwargs)
    with pytest.raises(DomainError, match=message):
        change(account, kwargs.pop("to"), kwargs.pop("option"), on=date(2031, 3, 1), **kwargs)
    assert_unchanged(account)
    assert StatusChange.objects.count() == 0


def test_a_retired_reason_is_refused():
    from statuses.services import status_reason_update

    status_reason_update(reason("Fraud"), is_active=False)
    account = make_account()
    with pytest.raises(DomainError, match="retired"):
        change(account, "Cancelled", PRORATED, on=date(2031, 3, 1), reason_name="Fraud")
    assert_unchanged(account)


def test_a_second_pending_change_for_the_same_date_is_refused():
    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 5), reason_name="Non-payment")
    with pytest.raises(DomainError, match="already a pending change"):
        schedule(account, "Cancelled", date(2031, 3, 5), reason_name="Non-payment")
    assert StatusChange.objects.filter(account=account).count() == 1


def test_a_stale_version_is_refused_and_nothing_is_applied():
    account = make_account(bill_day=15)
    give_package(account, next_bill=date(2031, 3, 15))
    seen = Account.objects.get(pk=account.pk).version
    change(account, "Suspended", NONE, on=date(2031, 3, 1), reason_name="Non-payment", expected_version=seen)
    with pytest.raises(ConflictError, match="changed while you were editing"):
        change(account, "Cancelled", PRORATED, on=date(2031, 3, 1), reason_name="Fraud", expected_version=seen)
    assert Account.objects.get(pk=account.pk).status_type.name == "Suspended"
    assert lines(account) == []


# --- the scheduled path ---------------------------------------------------------------------------


def test_due_changes_are_applied_in_date_order_exactly_once_and_missed_days_caught_up():
    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 5), reason_name="Non-payment")
    schedule(account, "Cancelled", date(2031, 3, 7), reason_name="Non-payment")
    assert apply_due_status_changes(as_of=date(2031, 3, 9))["applied"] == 2
    history = list(StatusChange.objects.filter(account=account).order_by("executed_at", "id"))
    assert [(h.from_type.name, h.to_type.name, h.state) for h in history] == [
        ("Active", "Suspended", "applied"),
        ("Suspended", "Cancelled", "applied"),
    ]
    assert apply_due_status_changes(as_of=date(2031, 3, 9)) == {"applied": 0, "failed": 0, "skipped": 0, "errors": 0}
    cancelled, active = status_type("Cancelled").pk, status_type("Active").pk
    assert status_type_counts_now([cancelled, active]) == {cancelled: 1, active: 0}


def test_a_due_change_no_longer_valid_is_marked_failed_and_never_retried():
    from statuses.models import StatusReason

    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 5), reason_name="Non-payment")
    StatusReason.objects.filter(name="Non-payment").update(is_active=False)  # retired after it was scheduled
    assert apply_due_status_changes(as_of=date(2031, 3, 5))["failed"] == 1
    failed = StatusChange.objects.get(account=account, state="failed")
    assert failed.failure_reason == "The reason “Non-payment” is retired."
    assert apply_due_status_changes(as_of=date(2031, 3, 6))["failed"] == 0
    assert Account.objects.get(pk=account.pk).status_type.name == "Active"


def test_a_pending_change_can_be_removed_until_executed_and_the_removal_stays_in_the_history(admin_user):
    account = make_account(bill_day=15)
    pending = schedule(account, "Suspended", date(2031, 3, 5), reason_name="Non-payment").change
    status_change_remove(change_id=pending.pk, actor=admin_user)
    pending.refresh_from_db()
    assert (pending.state, pending.executed_by) == ("removed", admin_user)
    assert apply_due_status_changes(as_of=date(2031, 3, 5))["applied"] == 0
    with pytest.raises(ConflictError, match="already removed"):
        status_change_remove(change_id=pending.pk)
    applied = change(account, "Suspended", NONE, on=date(2031, 3, 1), reason_name="Non-payment").change
    with pytest.raises(ConflictError, match="already applied"):
        status_change_remove(change_id=applied.pk)


def test_the_contact_gets_an_email_when_a_change_is_applied_prospects_too(
    mailoutbox, django_capture_on_commit_callbacks
):
    account = make_account(type_name="Prospect", email="lead@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        change(account, "Active", NONE, on=date(2031, 3, 1))
    assert [m.to for m in mailoutbox] == [["lead@example.com"]]
    assert "is now Active" in mailoutbox[0].subject


def test_the_pass_commands_print_plain_counts(capsys):
    from django.core.management import call_command

    call_command("apply_status_changes", "--date", "2031-03-01", "--allow-future")
    out = capsys.readouterr().out
    assert "Applied due status changes as of 2031-03-01: {'applied': 0, 'failed': 0, 'skipped': 0, 'errors': 0}" in out
    call_command("run_billing_pass", "--date", "2031-03-02", "--allow-future")
    out = capsys.readouterr().out  # the business day's order: the day's due changes first, then billing
    assert "first, 2031-03-02, apply due status changes: {'applied': 0, 'failed': 0, 'skipped': 0, 'errors': 0}" in out
    assert "Billing pass (the day's due status changes first) as of 2031-03-02: {'as_of': '2031-03-02'" in out


def test_a_late_change_credits_every_period_billed_after_it_and_the_pass_never_bills_one_twice():
    # A suspension dated before periods the billing pass has already billed (what a catch-up out of order did):
    # every part billed from its date on is credited, and when the account is enabled again, what the pass had
    # billed is charged up to where the pass stopped, so the pass goes on from there and never bills a period
    # twice (its lines are unique per package and period).
    from billing.passes import billing_pass

    account = make_account(bill_day=15)
    up = give_package(account, price="30.00", start=date(2031, 1, 15), next_bill=date(2031, 3, 15))
    billing_pass(as_of=date(2031, 5, 15))  # billed 15 Mar – 15 Jun: three periods
    assert UserPackage.objects.get(pk=up.pk).next_bill_date == date(2031, 6, 15)
    change(account, "Suspended", PRORATED, on=date(2031, 3, 25), reason_name="Non-payment")
    # 25 Mar – 15 Apr of the March period (30.00 × 21 / 31 = 20.32) and the two full periods after it.
    assert lines(account)[-1] == ("prorated_credit", Decimal("-80.32"), date(2031, 3, 25), date(2031, 6, 15))
    assert UserPackage.objects.get(pk=up.pk).next_bill_date == date(2031, 3, 25)
    change(account, "Active", PRORATED, on=date(2031, 4, 1))
    # 1 – 15 Apr (30.00 × 14 / 31 = 13.55) and the two periods the pass had billed: up to 15 Jun.
    assert lines(account)[-1] == ("prorated_charge", Decimal("73.55"), date(2031, 4, 1), date(2031, 6, 15))
    assert UserPackage.objects.get(pk=up.pk).next_bill_date == date(2031, 6, 15)
    billing_pass(as_of=date(2031, 6, 15))  # goes on from 15 Jun: no unique key broken, nothing billed twice
    assert lines(account)[-1] == ("recurring", Decimal("30.00"), date(2031, 6, 15), date(2031, 7, 15))


def test_the_preview_of_the_enable_after_a_late_credit_shows_what_saving_it_charges():
    # The same late suspension; the preview of the enable reads where the pass stopped too (its forecast path).
    from billing.passes import billing_pass

    account = make_account(bill_day=15)
    give_package(account, price="30.00", start=date(2031, 1, 15), next_bill=date(2031, 3, 15))
    billing_pass(as_of=date(2031, 5, 15))
    change(account, "Suspended", PRORATED, on=date(2031, 3, 25), reason_name="Non-payment")
    preview = preview_status_change(account_id=account.pk, to_type=status_type("Active"), option=PRORATED,
                                    on=date(2031, 4, 1))
    shown = [(x.kind, x.amount, x.period_start, x.period_end) for x in preview.transactions]
    assert shown == [("prorated_charge", Decimal("73.55"), date(2031, 4, 1), date(2031, 6, 15))]
    change(account, "Active", PRORATED, on=date(2031, 4, 1))
    assert lines(account)[-1] == shown[0]
