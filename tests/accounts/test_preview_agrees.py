"""The preview never lies (SPEC §5, issue 15): for every option, in every direction, on dates before, on and
after a bill day, what the preview shows is what the applied change writes, and the periods it says the
billing pass bills first are the ones the daily passes bill before the change's date."""

from datetime import date, timedelta

import pytest

from accounts.engine import account_change_status, options_for, preview_status_change
from accounts.models import StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, UserPackage
from billing.passes import run_billing
from statuses.rules import ChangeOption

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

BILL_DAY = 15
# The day the change is asked for: the day before a bill day, the bill day itself, the day after.
ON_DAYS = [date(2031, 3, 14), date(2031, 3, 15), date(2031, 3, 16)]
# For Specific date: days after ON (the same day, across one bill day, across two).
SPECIFIC_OFFSETS = [0, 3, 35]
MOVES = [("Active", "Cancelled"), ("Active", "Suspended"), ("Suspended", "Active"), ("Cancelled", "Active"),
         ("Suspended", "Cancelled")]


def _cases():
    for from_name, to_name in MOVES:
        from_backend, to_backend = from_name.lower(), to_name.lower()
        for option, _label in options_for(from_backend, to_backend):
            for on in ON_DAYS:
                offsets = SPECIFIC_OFFSETS if option == ChangeOption.SPECIFIC_DATE else [None]
                for offset in offsets:
                    yield pytest.param(from_name, to_name, option, on, offset,
                                       id=f"{from_name}-{to_name}-{option}-{on:%d}-{offset}")


def _line(line):
    return (line.kind, line.amount, line.period_start, line.period_end)


def _summed(lines) -> set:
    """Lines summed per package as a preview shows what is billed before a change."""
    by_package = {}
    for line in lines:
        periods, amount, start, end = by_package.get(line.user_package_id, (0, 0, line.period_start, line.period_end))
        by_package[line.user_package_id] = (periods + 1, amount + line.amount, min(start, line.period_start),
                                            max(end, line.period_end))
    return {(pk, *values) for pk, values in by_package.items()}


@pytest.mark.parametrize("from_name,to_name,option,on,offset", list(_cases()))
def test_the_applied_change_is_its_preview(from_name, to_name, option, on, offset):
    account = make_account(bill_day=BILL_DAY, type_name=from_name)
    # Billed up to the bill day on or after the day before ON: on the bill day itself, that period is due.
    package = give_package(account, price="49.99", start=date(2031, 1, 15), next_bill=date(2031, 3, 15))
    second = give_package(account, price="19.95", quantity=2, start=date(2031, 2, 20), next_bill=date(2031, 3, 15),
                          name="Phone line")
    args = dict(
        account_id=account.pk, to_type=status_type(to_name), option=option,
        effective_date=on + timedelta(days=offset) if offset is not None else None,
        reason=reason("Non-payment") if to_name != "Active" else None,
    )
    before = set(ChargeLine.objects.filter(account=account).values_list("pk", flat=True))
    preview = preview_status_change(**args, on=on)
    detailed = preview_status_change(**args, on=on, lines=True)

    outcome = account_change_status(**args, on=on)
    day = on + timedelta(days=1)
    while day <= outcome.effective_date:  # what beat does every day until the change is applied
        apply_due_status_changes(as_of=day)
        if day < outcome.effective_date:
            run_billing(as_of=day)
        day += timedelta(days=1)

    change = StatusChange.objects.get(account=account, state="applied", to_type__name=to_name)
    assert change.effective_date == preview.effective_date
    applied = ChargeLine.objects.filter(status_change=change).order_by("user_package_id", "period_start")
    assert sorted(map(_line, applied)) == sorted(map(_line, preview.transactions))
    billed_first = ChargeLine.objects.filter(account=account, status_change__isnull=True).exclude(pk__in=before)
    assert sorted(map(_line, billed_first)) == sorted(map(_line, [x for b in detailed.billed_before for x in b.lines]))
    assert _summed(billed_first) == {(b.user_package_id, b.periods, b.amount, b.period_start, b.period_end)
                                     for b in preview.billed_before}
    for plan in preview.plans:
        if plan.next_bill_date is not None:
            assert UserPackage.objects.get(pk=plan.user_package.pk).next_bill_date == plan.next_bill_date
    assert {package.pk, second.pk} >= {plan.user_package.pk for plan in preview.plans}
