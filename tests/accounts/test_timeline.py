"""Pending changes form a timeline (SPEC §5), and time is replayed in order (SPEC §6)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.engine import account_change_status, preview_status_change, status_change_remove
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, Invoice, UserPackage
from billing.passes import bill_day, run_billing
from engage.errors import ConflictError, DomainError

from .factories import give_package, make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

ON = date(2031, 3, 1)


def schedule(account, to, when, *, reason_name=None, on=ON):
    return account_change_status(
        account_id=account.pk, to_type=status_type(to), option="specific_date", effective_date=when,
        reason=reason(reason_name) if reason_name else None, on=on,
    )


def lines(account):
    return list(
        ChargeLine.objects.filter(account=account)
        .order_by("period_start", "id")
        .values_list("kind", "amount", "period_start", "period_end")
    )


# --- the timeline ---------------------------------------------------------------------------------


def test_suspend_on_the_8th_and_enable_on_the_9th_in_one_sitting():
    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment")
    enable = schedule(account, "Active", date(2031, 3, 9))
    assert enable.state == "pending"
    apply_due_status_changes(as_of=date(2031, 3, 8))
    assert Account.objects.get(pk=account.pk).status_type.name == "Suspended"
    apply_due_status_changes(as_of=date(2031, 3, 9))
    history = StatusChange.objects.filter(account=account).order_by("effective_date")
    assert [(h.from_type.name, h.to_type.name, h.state) for h in history] == [
        ("Active", "Suspended", "applied"), ("Suspended", "Active", "applied")
    ]


def test_each_change_is_checked_against_the_status_just_before_its_date():
    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment")
    with pytest.raises(DomainError, match="already has the status “Suspended”"):
        schedule(account, "Suspended", date(2031, 3, 9), reason_name="Non-payment")
    with pytest.raises(DomainError, match="already has the status “Active”"):
        schedule(account, "Active", date(2031, 3, 7))
    with pytest.raises(DomainError, match="already a pending change for this account on 2031-03-08"):
        schedule(account, "Cancelled", date(2031, 3, 8), reason_name="Non-payment")


def test_a_change_that_would_break_a_later_one_is_refused_with_its_name():
    account = make_account(bill_day=15, type_name="Suspended")
    schedule(account, "Active", date(2031, 3, 9))
    with pytest.raises(DomainError) as refused:
        schedule(account, "Active", date(2031, 3, 5))
    assert refused.value.message == (
        "The pending change to “Active” on 2031-03-09 would then be refused (The account already has the status "
        "“Active”): remove that one first, or choose another date."
    )
    # A change now is checked against the timeline too.
    with pytest.raises(DomainError, match="change to “Active” on 2031-03-09 would then be refused"):
        account_change_status(
            account_id=account.pk, to_type=status_type("Active"), option="immediately_with_no_transaction", on=ON
        )
    assert StatusChange.objects.filter(account=account, state="pending").count() == 1


def test_removing_a_change_a_later_one_depends_on_is_refused_naming_it(admin_user):
    account = make_account(bill_day=15)
    suspend = schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment").change
    enable = schedule(account, "Active", date(2031, 3, 9)).change
    with pytest.raises(ConflictError) as refused:
        status_change_remove(change_id=suspend.pk, actor=admin_user)
    assert "The pending change to “Active” on 2031-03-09 would then be refused" in refused.value.message
    assert "remove that one first" in refused.value.message
    suspend.refresh_from_db()
    assert suspend.state == "pending"
    status_change_remove(change_id=enable.pk, actor=admin_user)
    status_change_remove(change_id=suspend.pk, actor=admin_user)
    assert list(StatusChange.objects.filter(account=account).values_list("state", flat=True)) == ["removed"] * 2


def test_the_api_refuses_the_removal_with_409_naming_the_later_change(api_support):
    account = make_account(bill_day=15)
    suspend = schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment").change
    schedule(account, "Active", date(2031, 3, 9))
    response = api_support.delete(f"/api/v1/status-changes/{suspend.pk}/")
    assert response.status_code == 409
    assert "“Active” on 2031-03-09" in response.json()["detail"]


def test_the_api_lists_each_pending_change_from_the_status_just_before_it(api_support):
    account = make_account(bill_day=15)
    schedule(account, "Cancelled", date(2031, 3, 20), reason_name="Non-payment")
    schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment")  # inserted before it
    rows = api_support.get(f"/api/v1/accounts/{account.pk}/status-changes/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    names = {t.pk: t.name for t in (status_type("Active"), status_type("Suspended"), status_type("Cancelled"))}
    assert [(r["effective_date"], names[r["from_type"]], names[r["to_type"]], r["state"]) for r in rows] == [
        ("2031-03-20", "Suspended", "Cancelled", "pending"),
        ("2031-03-08", "Active", "Suspended", "pending"),
    ]


def test_the_components_list_shows_the_timeline_in_date_order(admin_client):
    account = make_account(bill_day=15)
    schedule(account, "Suspended", date(2031, 3, 8), reason_name="Non-payment")
    schedule(account, "Cancelled", date(2031, 3, 20), reason_name="Non-payment")
    schedule(account, "Active", date(2031, 3, 9))
    page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    rows = page.split('data-testid="components"')[1].split("</table>")[0]
    order = [rows.index(d) for d in ("2031-03-08", "2031-03-09", "2031-03-20")]
    assert order == sorted(order)
    assert "Active →</span> Suspended" in rows
    assert "Suspended →</span> Active" in rows
    assert "Active →</span> Cancelled" in rows


# --- the preview counts what the billing pass bills before the date --------------------------------


def test_a_future_preview_counts_the_periods_billed_before_it_and_agrees_with_the_applied_change():
    account = make_account(bill_day=15)
    give_package(account, price="49.99", start=date(2031, 2, 15), next_bill=date(2031, 3, 15))
    args = dict(
        account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
        effective_date=date(2031, 4, 20), reason=reason("Non-payment"), on=ON,
    )
    preview = preview_status_change(**args)
    # Summed per package: two periods, 15 Mar to 15 May; each period's line only when asked.
    assert [(x.description, x.periods, x.amount, x.period_start, x.period_end, x.lines)
            for x in preview.billed_before] == [("Package 49.99", 2, Decimal("99.98"), date(2031, 3, 15),
                                                 date(2031, 5, 15), [])]
    detailed = preview_status_change(**args, lines=True)
    assert [(x.kind, x.amount, x.period_start) for x in detailed.billed_before[0].lines] == [
        ("recurring", Decimal("49.99"), date(2031, 3, 15)), ("recurring", Decimal("49.99"), date(2031, 4, 15))
    ]
    # [20 Apr, 15 May) of a 30-day period: 49.99 × 25 / 30 = 41.658… → 41.66
    assert [(x.kind, x.amount) for x in preview.transactions] == [("prorated_credit", Decimal("-41.66"))]
    account_change_status(**args)
    day = ON
    while day <= date(2031, 4, 20):
        run_billing(as_of=day)
        day += timedelta(days=1)
    applied = ChargeLine.objects.filter(account=account, status_change__isnull=False)
    assert [(x.kind, x.amount, x.period_start, x.period_end) for x in applied] == [
        (x.kind, x.amount, x.period_start, x.period_end) for x in preview.transactions
    ]
    assert UserPackage.objects.get(account=account).next_bill_date == date(2031, 4, 20)


def test_the_preview_page_says_what_is_billed_before_the_date(admin_client):
    from billing.proration import next_bill_day
    from engage.clock import today

    account = make_account(bill_day=15)
    billed_through = next_bill_day(15, today() + timedelta(days=1))
    give_package(account, price="49.99", start=billed_through - timedelta(days=31), next_bill=billed_through)
    when = billed_through + timedelta(days=3)
    response = admin_client.post(
        f"/accounts/{account.pk}/status/{status_type('Suspended').pk}/",
        {"option": "specific_date", "effective_date": when.isoformat(), "reason": reason("Non-payment").pk,
         "version": Account.objects.get(pk=account.pk).version, "preview": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert f"before {when:%Y-%m-%d}, the billing pass bills" in text
    assert f"Package 49.99: 1 period {billed_through:%Y-%m-%d} – " in text and "(49.99)" in text


# --- time replayed in order (SPEC §6) ----------------------------------------------------------------


def spec_example_account():
    """Bill day 8, 28.00 a period, billed through 8 Feb, a suspension dated 9 Feb (SPEC §6)."""
    account = make_account(bill_day=8)
    give_package(account, price="28.00", start=date(2027, 1, 8), next_bill=date(2027, 2, 8))
    schedule(account, "Suspended", date(2027, 2, 9), reason_name="Non-payment", on=date(2027, 2, 1))
    return account


EXPECTED = [
    ("recurring", Decimal("28.00"), date(2027, 2, 8), date(2027, 3, 8)),
    ("prorated_credit", Decimal("-27.00"), date(2027, 2, 9), date(2027, 3, 8)),
]


def test_spec_example_beat_down_8_to_10_feb_the_run_on_10_feb_bills_then_credits():
    account = spec_example_account()
    run_billing(as_of=date(2027, 2, 10))
    assert lines(account) == EXPECTED
    assert sum(x[1] for x in lines(account)) == Decimal("1.00")
    assert list(Invoice.objects.filter(account=account).order_by("issued_on").values_list("issued_on", "total")) == [
        (date(2027, 2, 8), Decimal("28.00")), (date(2027, 2, 9), Decimal("-27.00"))
    ]


def test_spec_example_the_minute_task_first_gives_the_same():
    account = spec_example_account()
    apply_due_status_changes(as_of=date(2027, 2, 10))
    run_billing(as_of=date(2027, 2, 10))
    assert lines(account) == EXPECTED


def test_spec_example_daily_runs_give_the_same():
    account = spec_example_account()
    for day in (date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)):
        apply_due_status_changes(as_of=day)
        run_billing(as_of=day)
    assert lines(account) == EXPECTED


def test_the_billing_pass_never_bills_past_a_due_change_that_is_not_applied():
    # The change was not applied (it crashed, another worker holds it): billing alone bills up to it only.
    account = spec_example_account()
    bill_day(as_of=date(2027, 3, 10))  # the billing pass's own part, with no due change applied first
    assert lines(account) == [EXPECTED[0]]  # 8 Mar is not billed with the old status
    run_billing(as_of=date(2027, 3, 10))
    assert lines(account) == EXPECTED  # suspended from 9 Feb: the 8 Mar period is never billed
