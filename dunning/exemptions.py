"""Exempt an account from collections until a date, with a note (SPEC §11): the pass runs no step for it
until the day after; what is overdue still counts, and a payment still restores it."""

from datetime import date, timedelta

from django.db import transaction

from accounts.models import Account
from engage.audit import audit_record
from engage.errors import DomainError
from engage.limits import EXEMPTION_NOTE_MAX_CHARS, check_date, check_text
from engage.locks import lock_account
from engage.models import AuditAction

LONGEST = timedelta(days=5 * 366)


@transaction.atomic
def exemption_set(*, account_id: int, until, note: str = "", today: date) -> Account:
    """Exempt until `until` (inclusive, today or later, within five years) with a note saying why; `until`
    empty ends the exemption."""
    account = lock_account(account_id)
    before = {"until": account.collections_exempt_until, "note": account.collections_exempt_note}
    if until in (None, ""):
        until, note = None, ""
    else:
        until = check_date(until, field="until", label="Exempt until")
        if until < today:
            raise DomainError(f"The date {until:%Y-%m-%d} is in the past: exempt until today or later.", field="until")
        if until > today + LONGEST:
            raise DomainError("An exemption lasts at most five years.", field="until")
        note = check_text(note, field="note", label="Note", max_chars=EXEMPTION_NOTE_MAX_CHARS, required=True)
    account.collections_exempt_until, account.collections_exempt_note = until, note
    Account.objects.filter(pk=account_id).update(collections_exempt_until=until, collections_exempt_note=note)
    after = {"until": until, "note": note}
    if after != before:
        audit_record(action=AuditAction.UPDATE, obj=account, object_repr=f"{account}: collections exemption",
                     account_id=account.pk, before=before, after=after)
    return account
