"""Writes of accounts (create, edit). Status changes are the engine's (accounts/engine/)."""

from django.db import transaction
from django.db.models import CharField, F
from django.db.models.functions import Cast

from engage.audit import audit_record, changed, snapshot
from engage.errors import DomainError
from engage.limits import ACCOUNT_NAME_MAX_CHARS, check_email, check_text
from engage.models import AuditAction
from provisioning.services import request_provisioning
from statuses.models import AccountStatusType
from statuses.rules import can_start_in
from statuses.selectors import default_status_type

from .engine import adjust_status_type_counts
from .models import Account

NUMBER_OFFSET = 100000
AUDITED_FIELDS = ("name", "email", "bill_day")


def _check_bill_day(bill_day) -> int:
    try:
        bill_day = int(bill_day)
    except (TypeError, ValueError):
        raise DomainError("Bill day must be a whole number from 1 to 28.", field="bill_day") from None
    if not 1 <= bill_day <= 28:
        raise DomainError("Bill day must be from 1 to 28.", field="bill_day")
    return bill_day


def _check_name(name) -> str:
    return check_text(name, field="name", label="Name", max_chars=ACCOUNT_NAME_MAX_CHARS, required=True)


def _check_initial_type(status_type: AccountStatusType | None) -> AccountStatusType:
    if status_type is None:
        return default_status_type()
    if not can_start_in(status_type.backend_status):
        raise DomainError(
            "A new account starts in an active- or prospect-type status; "
            f"“{status_type.name}” is {status_type.get_backend_status_display().lower()}.",
            field="status_type",
        )
    return status_type


def assign_numbers() -> None:
    """Accounts get their number from their id (unique, never reused, no extra sequence)."""
    Account.objects.filter(number__isnull=True).update(number=Cast(F("id") + NUMBER_OFFSET, output_field=CharField()))


@transaction.atomic
def account_create(*, name: str, email: str, bill_day: int, status_type: AccountStatusType | None = None) -> Account:
    """A new account in the default type, or in an active- or prospect-type status named at creation."""
    status_type = _check_initial_type(status_type)
    account = Account.objects.create(
        name=_check_name(name), email=check_email(email), bill_day=_check_bill_day(bill_day), status_type=status_type
    )
    account.number = str(account.pk + NUMBER_OFFSET)
    Account.objects.filter(pk=account.pk).update(number=account.number)
    adjust_status_type_counts({status_type.pk: 1})
    audit_record(action=AuditAction.CREATE, obj=account, account_id=account.pk,
                 after={"number": account.number, **snapshot(account, AUDITED_FIELDS), "status_type": status_type.name})
    request_provisioning([account.pk])
    return account


@transaction.atomic
def account_update(account: Account, *, name=None, email=None, bill_day=None) -> Account:
    """Edit contact details and bill day; never the status (that is the status-change engine)."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    before = snapshot(locked, AUDITED_FIELDS)
    if name is not None:
        locked.name = _check_name(name)
    if email is not None:
        locked.email = check_email(email)
    if bill_day is not None:
        locked.bill_day = _check_bill_day(bill_day)
    locked.save(update_fields=["name", "email", "bill_day"])
    old, new = changed(before, snapshot(locked, AUDITED_FIELDS))
    if new:
        audit_record(action=AuditAction.UPDATE, obj=locked, account_id=locked.pk, before=old, after=new)
    return locked
