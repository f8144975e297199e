"""What is overdue as collections sees it (SPEC §11: credits are not payments): billing's reading
(billing.overdue), except that the credit note a step of an account's open episode wrote (its suspension's
prorated credit) pays nothing here. So a suspension never ends the episode it belongs to, nor restores the
account nobody paid for: the episode ends when payments, or a credit a person issued, clear what was overdue.
The pass, the dry run, the restore on payment and the Overview's card all read it."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from billing.models import Invoice, Payment
from billing.overdue import Overdue, overdue_by_account

from .models import StepRun


def step_credit_notes(account_ids) -> set[int]:
    """The credit notes the steps of these accounts' open episodes wrote."""
    changes = StepRun.objects.filter(episode__account_id__any=sorted(account_ids), episode__ended_on__isnull=True,
                                     change__isnull=False).values("change_id")
    return set(Invoice.objects.filter(account_id__any=sorted(account_ids), total__lt=0,
                                      lines__status_change_id__in=changes).values_list("pk", flat=True))


def day_starts(day: date) -> datetime:
    """Midnight starting `day` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(day, time.min))


def money_until(day: date, today: date) -> datetime | None:
    """The money the collections pass of `day` sees: all of it when the day is today (the pass runs now, after
    every payment so far, whose restores it keeps in step with); for a day replayed after an outage, what had
    been recorded when that day began, as its daily pass, run at night, would have seen."""
    return None if day >= today else day_starts(day)


def collections_overdue(day: date, account_ids, *, recorded_before: datetime | None = None) -> dict[int, Overdue]:
    """{account id: Overdue} as collections sees it on `day`, for these accounts (two queries)."""
    account_ids = list(account_ids)
    if not account_ids:
        return {}
    return overdue_by_account(day, account_ids=account_ids, uncounted_credits=step_credit_notes(account_ids),
                              recorded_before=recorded_before)


def paid_during(day: date, account_ids=None, id_range=None) -> set[int]:
    """The accounts (of an id range, or of these ids) whose payments or reversals were recorded on `day`."""
    payments = Payment.objects.filter(created_at__gte=day_starts(day),
                                      created_at__lt=day_starts(day + timedelta(days=1)))
    if account_ids is not None:
        payments = payments.filter(account_id__any=sorted(account_ids))
    else:
        payments = payments.filter(account_id__gt=id_range[0], account_id__lte=id_range[1])
    return set(payments.values_list("account_id", flat=True).distinct())


def cleared_by_payments(day: date, account_ids) -> set[int]:
    """Of these accounts with nothing overdue as collections sees it, those whose payments alone clear it (the
    others needed a credit a person issued): the restore's reason says which."""
    account_ids = list(account_ids)
    if not account_ids:
        return set()
    credit_notes = set(Invoice.objects.filter(account_id__any=sorted(account_ids), total__lt=0)
                       .values_list("pk", flat=True))
    still = overdue_by_account(day, account_ids=account_ids, uncounted_credits=credit_notes)
    return set(account_ids) - set(still)
