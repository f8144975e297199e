"""The one engine that changes an account's status (SPEC §5).

The Overview's Status flow, the Change User Status component, the Tools page, the API and the
scheduler all call `account_change_status` / `apply_due_status_changes`; nothing else writes an
account's status type.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.lines import bill_locked_accounts
from billing.models import ChargeLine
from billing.proration import next_bill_day
from billing.status_transactions import (
    PackagePlan,
    active_packages,
    bill_in_memory,
    move_in_memory,
    plan_status_transactions,
    write_status_transactions,
)
from engage.audit import SYSTEM, AuditAction, audit_actor, audit_record
from engage.clock import today
from engage.errors import ConflictError, DomainError
from engage.limits import NOTE_MAX_CHARS, check_date, check_text
from engage.models import PassRun
from engage.pass_runs import advance, recorded_pass
from provisioning.services import request_provisioning
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus, ChangeOption, StatusChangeState, bills_packages, bills_usage, is_billing_inert

from .counters import adjust_status_type_counts
from .models import Account, StatusChange
from .notifications import queue_status_change_email
from .timeline import (
    Position,
    after_step,
    check_later_changes,
    check_transition,
    pending_changes_of,
    position_before,
    walk,
)

logger = logging.getLogger(__name__)

Option = ChangeOption
IMMEDIATE_OPTIONS = (Option.PRORATED, Option.FULL, Option.NO_TRANSACTION)
TIMING_OPTIONS = (Option.NO_TRANSACTION, Option.PERIOD_END, Option.SPECIFIC_DATE)

OPTION_DEFINITIONS = {
    Option.PRORATED: "Takes effect today. Cancel/suspend credits the unused part of an already billed period; "
    "enable charges the rest of the current period, prorated.",
    Option.FULL: "Takes effect today. Cancel/suspend gives no credit and charges the current period in full "
    "if it was not billed yet; enable charges the current period in full.",
    Option.NO_TRANSACTION: "Takes effect today. No credit and no charge; after an enable, billing resumes at "
    "the next bill date.",
    Option.PERIOD_END: "Takes effect on the next bill date. No transaction: the current period is used up; "
    "after an enable, billing starts with that period.",
    Option.SPECIFIC_DATE: "Takes effect on the date you give (today or later), prorated as of that date.",
}
TIMING_LABELS = {
    Option.NO_TRANSACTION: "Now",
    Option.PERIOD_END: "Period end",
    Option.SPECIFIC_DATE: "Specific date",
}


def options_for(from_backend: str, to_backend: str) -> list[tuple[str, str]]:
    """All five options for cancel/suspend/enable; only the timing between statuses that bill alike."""
    if is_billing_inert(from_backend, to_backend):
        return [(o.value, TIMING_LABELS[o]) for o in TIMING_OPTIONS]
    return list(Option.choices)


@dataclass
class Outcome:
    """What a change does or did: the state, its date, the lines, the packages' new next bill dates, and
    the periods the billing pass bills before its date (SPEC §5: a preview counts them, and says so)."""

    state: str
    effective_date: date
    plans: list[PackagePlan]
    change: StatusChange | None = None
    billed_before: list[ChargeLine] = field(default_factory=list)

    @property
    def transactions(self):
        return [line for plan in self.plans for line in plan.lines]


def resolve_effective_date(account: Account, option: str, effective_date: date | None, on: date) -> date:
    if option in IMMEDIATE_OPTIONS:
        return on
    if option == Option.PERIOD_END:
        return next_bill_day(account.bill_day, on)
    if option == Option.SPECIFIC_DATE:
        if effective_date is None:
            raise DomainError("Specific date needs a date.", field="effective_date")
        effective_date = check_date(effective_date, field="effective_date", label="The date")
        if effective_date < on:
            raise DomainError(f"The date {effective_date:%Y-%m-%d} is in the past.", field="effective_date")
        return effective_date
    raise DomainError(f"Unknown option “{option}”.", field="option")


def clean_note(note) -> str:
    """A change's note: trimmed, its line breaks kept, no other control or format character."""
    return check_text(note, field="note", label="The note", max_chars=NOTE_MAX_CHARS, multiline=True)


def _day_taken(effective: date) -> DomainError:
    return DomainError(
        f"There is already a pending change for this account on {effective:%Y-%m-%d}.", field="effective_date"
    )


def _check_request(account, pending, to_type, option, effective_date, reason, note, on) -> date:
    """Every rule of a requested change (raises DomainError), checked against the account's timeline: the
    status just before its date (today's, or the pending change before it) and the changes after it.
    Returns the effective date."""
    if option not in Option.values:
        raise DomainError(f"Unknown option “{option}”.", field="option")
    clean_note(note)
    effective = resolve_effective_date(account, option, effective_date, on)
    now = Position.now(account)
    if effective > on:
        if any(c.effective_date == effective for c in pending):
            raise _day_taken(effective)
        before = position_before(now, pending, effective)
        later = [c for c in pending if c.effective_date > effective]
    else:
        before, later = now, pending
    check_transition(before, to_type, reason)
    if option not in dict(options_for(before.backend_status, to_type.backend_status)):
        raise DomainError("Between these two statuses only the timing can be chosen.", field="option")
    check_later_changes(before.after(to_type), later, because="remove that one first, or choose another date")
    return effective


def _plan(packages, bill_day: int, from_backend: str, to_type, option: str, effective: date) -> list[PackagePlan]:
    return plan_status_transactions(
        packages=packages,
        bill_day=bill_day,
        from_backend=from_backend,
        to_backend=to_type.backend_status,
        option=option,
        effective_date=effective,
    )


def _forecast(account, pending, to_type, option, effective: date, on: date):
    """What the change will do on its date, computed in memory: first what happens before it (the billing
    pass's periods and the earlier pending changes, in date order), then the change itself. For a change
    dated today only the billing a catch-up run still owes comes first. Saves nothing."""
    packages = active_packages(account.pk)
    billed: list[ChargeLine] = []
    at = Position.now(account)
    earlier = [c for c in pending if c.effective_date < effective] if effective > on else []
    for step in walk(at, earlier):
        change, before, error = step
        if bills_packages(before.backend_status):
            billed += bill_in_memory(packages, account.bill_day, change.effective_date - timedelta(days=1))
        if error is None:
            move_in_memory(_plan(packages, account.bill_day, before.backend_status, change.to_type, change.option,
                                 change.effective_date))
        at = after_step(step)
    if bills_packages(at.backend_status):
        billed += bill_in_memory(packages, account.bill_day, effective - timedelta(days=1))
    return _plan(packages, account.bill_day, at.backend_status, to_type, option, effective), billed


def preview_status_change(
    *, account_id: int, to_type, option, effective_date=None, reason=None, note="", on: date | None = None
) -> Outcome:
    """Exactly what account_change_status would do (on its date, for a future one); saves nothing."""
    on = on or today()
    account = Account.objects.select_related("status_type").get(pk=account_id)
    pending = pending_changes_of(account.pk)
    effective = _check_request(account, pending, to_type, option, effective_date, reason, note, on)
    plans, billed = _forecast(account, pending, to_type, option, effective, on)
    state = StatusChangeState.PENDING if effective > on else StatusChangeState.APPLIED
    return Outcome(state, effective, plans, billed_before=billed)


def lock_account(account_id: int) -> Account:
    """Lock the account row alone: a join in a FOR UPDATE query would drop the row when a concurrent
    change moved it to another type, instead of waiting for it and reading the new version."""
    try:
        account = Account.objects.select_for_update().get(pk=account_id)
    except Account.DoesNotExist:
        raise DomainError(f"No account with id {account_id}.") from None
    account.status_type = AccountStatusType.objects.get(pk=account.status_type_id)
    return account


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
    account = lock_account(account_id)
    if expected_version is not None and account.version != expected_version:
        raise ConflictError("This account changed while you were editing; nothing was saved. Reload and try again.")
    pending = pending_changes_of(account.pk)
    effective = _check_request(account, pending, to_type, option, effective_date, reason, note, on)
    change = StatusChange(
        account=account,
        from_type=account.status_type,
        to_type=to_type,
        option=option,
        effective_date=effective,
        reason=reason,
        note=clean_note(note),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    Account.objects.filter(pk=account.pk).update(version=account.version + 1)
    account.version += 1
    if effective > on:
        try:
            with transaction.atomic():
                change.save()
        except IntegrityError:  # the database's own guard of the rule checked above
            raise _day_taken(effective) from None
        plans, billed = _forecast(account, pending, to_type, option, effective, on)
        _restamp_timeline(account, [*pending, change])
        _audit_change(change, change.from_type)
        return Outcome(StatusChangeState.PENDING, effective, plans, change, billed)
    change.state = StatusChangeState.APPLIED
    change.save()
    plans, billed = _apply(account, change, actor=change.created_by)
    _restamp_timeline(account, pending)  # the status now is new: every pending change starts from it
    return Outcome(StatusChangeState.APPLIED, effective, plans, change, billed)


def _restamp_timeline(account: Account, pending: list[StatusChange]) -> None:
    """A pending change's from_type is the status just before its date on the timeline (what the API
    shows, and what the Components list shows); rewritten whenever the timeline moves: a change added, a
    change now, a removal. (Applying the earliest due change moves nothing: the rest already start after
    it.)"""
    moved = []
    for change, before, _error in walk(Position.now(account), pending):
        if change.from_type_id != before.status_type.pk:
            change.from_type = before.status_type
            moved.append(change)
    StatusChange.objects.bulk_update(moved, ["from_type"])


def _bill_before(account: Account, day: date) -> list[ChargeLine]:
    """Time in order (SPEC §6): before a change dated `day` takes effect, bill what the daily runs would
    have billed through the day before, with the status in effect then. Nothing when they did."""
    backend = account.status_type.backend_status
    package_accounts = {account.pk} if bills_packages(backend) else set()
    usage_accounts = {account.pk} if bills_usage(backend) else set()
    if not (package_accounts or usage_accounts):
        return []
    _invoices, lines = bill_locked_accounts(
        {account.pk: account.bill_day}, package_accounts=package_accounts, usage_accounts=usage_accounts,
        as_of=day - timedelta(days=1),
    )
    return lines


def _apply(account: Account, change: StatusChange, *, actor) -> tuple[list[PackagePlan], list[ChargeLine]]:
    """Make the change true: what was due before its date, then its transactions, status, dates,
    counters, provisioning, e-mail. The account row is locked by the caller."""
    from_type, to_type = account.status_type, change.to_type
    billed = _bill_before(account, change.effective_date)
    packages = active_packages(account.pk, lock=True)
    plans = _plan(packages, account.bill_day, from_type.backend_status, to_type, change.option, change.effective_date)
    write_status_transactions(
        account_id=account.pk, status_change_id=change.pk, plans=plans, issued_on=change.effective_date
    )
    account.status_type = to_type
    if to_type.backend_status == BackendStatus.CANCELLED:
        account.cancelled_on = change.effective_date
    else:
        account.cancelled_on = None
    if from_type.backend_status == BackendStatus.PROSPECT and to_type.backend_status != BackendStatus.PROSPECT:
        account.left_prospect_on = change.effective_date
    account.save(update_fields=["status_type", "cancelled_on", "left_prospect_on"])
    adjust_status_type_counts({from_type.pk: -1, to_type.pk: 1})
    change.from_type = from_type
    change.state = StatusChangeState.APPLIED
    change.executed_at = timezone.now()
    change.executed_by = actor
    change.save(update_fields=["from_type", "state", "executed_at", "executed_by"])
    _audit_change(change, from_type, plans=plans)
    request_provisioning([account.pk])
    queue_status_change_email(change.pk)
    return plans, billed


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
    Account.objects.filter(pk=account.pk).update(version=F("version") + 1)
    change.state = StatusChangeState.REMOVED
    change.executed_at = timezone.now()
    change.executed_by = actor if getattr(actor, "is_authenticated", False) else None
    change.save(update_fields=["state", "executed_at", "executed_by"])
    _restamp_timeline(account, others)
    audit_record(action=AuditAction.STATUS_CHANGE_REMOVED, obj=change, object_repr=_change_repr(change),
                 before={**_change_values(change), "state": StatusChangeState.PENDING}, after={"state": change.state})


def _change_repr(change: StatusChange, from_type: AccountStatusType | None = None) -> str:
    start = f"{from_type.name} " if from_type else ""
    return f"{start}→ {change.to_type.name} on {change.effective_date:%Y-%m-%d}"


def _change_values(change: StatusChange) -> dict:
    """A change as requested, for the audit log: names as they were then (a type may be renamed later)."""
    return {
        "status_type": change.to_type.name, "option": change.option, "effective_date": change.effective_date,
        "reason": change.reason.name if change.reason_id else None, "note": change.note,
    }


def _audit_change(change: StatusChange, from_type: AccountStatusType, *, plans=None) -> None:
    """One entry per change requested, applied or failed; an applied one lists the lines it wrote."""
    after = {**_change_values(change), "state": change.state}
    if change.failure_reason:
        after["failure_reason"] = change.failure_reason
    if plans is not None:
        after["transactions"] = [{"kind": line.kind, "amount": line.amount} for plan in plans for line in plan.lines]
    audit_record(action=AuditAction.STATUS_CHANGE, obj=change, object_repr=_change_repr(change, from_type),
                 before={"status_type": from_type.name}, after=after)


def _fail(change: StatusChange, why: str) -> None:
    change.state = StatusChangeState.FAILED
    change.failure_reason = why[:500]
    change.executed_at = timezone.now()
    change.save(update_fields=["state", "failure_reason", "executed_at"])


class DueOutcome(StrEnum):
    """What applying one due change came to; the pass counts each (a JSON-safe dict of str keys)."""

    APPLIED = "applied"
    FAILED = "failed"  # a rule refused it; marked failed, never retried
    SKIPPED = "skipped"  # another worker has it, it was removed or done, or an earlier change goes first
    ERRORS = "errors"  # it crashed; it stays pending for the next run


def apply_due_change(change_id: int, *, on: date) -> DueOutcome:
    """Apply one due pending change exactly once; an invalid one is marked failed, never retried."""
    # The audit log says "system": the scheduler's doing, even when a request ran the pass.
    with transaction.atomic(), audit_actor(SYSTEM):
        change = (
            StatusChange.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=change_id, state=StatusChangeState.PENDING, effective_date__lte=on)
            .select_related("to_type", "reason")
            .first()
        )
        if change is None:
            return DueOutcome.SKIPPED  # taken by another worker, removed, or already done
        account = lock_account(change.account_id)
        earlier = StatusChange.objects.filter(
            account_id=account.pk, state=StatusChangeState.PENDING, effective_date__lt=change.effective_date
        ).exists()
        if earlier:
            return DueOutcome.SKIPPED  # the account's earlier change goes first
        try:
            check_transition(Position.now(account), change.to_type, change.reason)
        except DomainError as err:
            _fail(change, err.message)
            _audit_change(change, account.status_type)
            return DueOutcome.FAILED
        _apply(account, change, actor=None)
        Account.objects.filter(pk=account.pk).update(version=F("version") + 1)
        return DueOutcome.APPLIED


DUE_CHUNK = 200  # changes claimed per query; progress is reported after each chunk


def apply_due_status_changes(*, as_of: date, chunk: int | None = None) -> dict:
    """Every pending change dated on or before as_of, oldest first, each exactly once.

    Claims with skip_locked, so two workers share the work; the state moves in the same
    transaction as the change, so a worker killed midway leaves the change pending for the next run.
    """
    chunk = chunk or DUE_CHUNK
    counts = dict.fromkeys([o.value for o in DueOutcome], 0)  # plain str keys: JSON and printouts
    after = Q()  # keyset: each change is visited once, whatever happens to it
    with recorded_pass(PassRun.Name.APPLY_STATUS_CHANGES, as_of) as run:
        while True:
            due = list(
                StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__lte=as_of)
                .filter(after)
                .order_by("effective_date", "id")
                .values_list("pk", "effective_date")[:chunk]
            )
            if not due:
                break
            last_id, last_date = due[-1]
            after = Q(effective_date__gt=last_date) | Q(effective_date=last_date, pk__gt=last_id)
            for change_id, _day in due:
                try:
                    counts[apply_due_change(change_id, on=as_of)] += 1
                except Exception as exc:  # one bad account must not stop the pass
                    logger.exception("Status change %s could not be applied", change_id)
                    counts[DueOutcome.ERRORS] += 1
                    run.detail += f"change {change_id}: {type(exc).__name__}: {exc}\n"
            advance(run, counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED])
        run.processed = counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED]
        run.failed = counts[DueOutcome.ERRORS]
    return counts
