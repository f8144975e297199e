"""One account's change, asked by a person (the Overview, Components, the API): save it now or schedule it,
and remove a pending one. Lock first, refuse a stale form, re-check every rule, then write."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.audit import audit_record, user_of
from engage.clock import today
from engage.errors import ConflictError, DomainError
from engage.locks import lock_account
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import StatusChangeState

from ..models import StatusAudit, StatusChange
from .forecast import Outcome, forecast
from .rules import change_request, check_request, day_taken
from .timeline import Position, check_later_changes, pending_changes_of, position_before
from .writer import (
    apply_changes,
    audit_changes,
    bump_versions,
    change_repr,
    change_values,
    mark_applied,
    new_change,
    restamp_timeline,
)

STALE = "This account changed while you were editing; nothing was saved. Reload and try again."


@transaction.atomic
def account_change_status(
    *,
    account_id: int,
    to_type: AccountStatusType,
    option: str,
    effective_date: date | None = None,
    reason: StatusReason | None = None,
    note: str = "",
    actor=None,
    expected_version: int | None = None,
    on: date | None = None,
) -> Outcome:
    """Change an account's status now, or schedule it for its date.

    Locks the account, refuses a stale form (version), re-checks every rule, then either writes a
    pending change (one per account and date) or applies it at once with its transactions.
    """
    on = on or today()
    request = change_request(to_type=to_type, option=option, effective_date=effective_date, reason=reason,
                             note=note, on=on)
    account = lock_account(account_id)
    if expected_version is not None and account.version != expected_version:
        raise ConflictError(STALE)
    pending = pending_changes_of(account.pk)
    effective = check_request(account, pending, request, on)
    change = new_change(account, request, effective, actor)
    account.version += 1  # in the database: below, with the change (pending) or its status (applied)
    if effective > on:
        bump_versions([account.pk])
        try:
            with transaction.atomic():
                change.save()
        except IntegrityError:  # the database's own guard of the rule checked above
            raise day_taken(effective) from None
        plans, billed = forecast(account, pending, request, effective, on)
        restamp_timeline(account, [*pending, change])
        audit_changes([(change, change.from_type, None)])
        return Outcome(StatusChangeState.PENDING, effective, plans, change, billed)
    mark_applied(change, actor)
    change.save()
    plans, billed = apply_changes([(account, change)], actor=actor, saved_applied=True)[account.pk]
    restamp_timeline(account, pending)  # the status now is new: every pending change starts from it
    return Outcome(StatusChangeState.APPLIED, effective, plans, change, billed)


@transaction.atomic
def status_change_remove(*, change_id: int, actor=None) -> None:
    """Remove a pending change; refused (409) once it has been executed, or when a later pending change
    depends on it (named). The removal stays in the history."""
    try:
        # The change first, then the account: the order the scheduler takes them in.
        change = StatusChange.objects.select_for_update().select_related("to_type").get(pk=change_id)
    except StatusChange.DoesNotExist:
        raise DomainError(f"No status change with id {change_id}.") from None
    if change.state != StatusChangeState.PENDING:
        raise ConflictError(f"This change was already {change.get_state_display().lower()}; it cannot be removed.")
    account = lock_account(change.account_id)
    others = [c for c in pending_changes_of(account.pk) if c.pk != change.pk]
    before = position_before(Position.now(account), others, change.effective_date)
    try:
        check_later_changes(
            before, [c for c in others if c.effective_date > change.effective_date], because="remove that one first"
        )
    except DomainError as err:
        raise ConflictError(err.message) from None
    bump_versions([account.pk])
    change.state = StatusChangeState.REMOVED
    change.executed_at = timezone.now()
    change.executed_by = user_of(actor)
    change.save(update_fields=["state", "executed_at", "executed_by"])
    restamp_timeline(account, others)
    audit_record(action=StatusAudit.STATUS_CHANGE_REMOVED, obj=change, object_repr=change_repr(change),
                 before={**change_values(change), "state": StatusChangeState.PENDING}, after={"state": change.state})
