"""The one engine that changes an account's status (SPEC §5).

The Overview's Status flow, the Change User Status component, the Tools page, the API and the
scheduler all call `account_change_status` / `apply_due_status_changes`; nothing else writes an
account's status type.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from django.db import IntegrityError, models, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from billing.lines import bill_locked_accounts, set_next_bill_dates, write_invoices
from billing.models import ChargeLine
from billing.proration import next_bill_day
from billing.status_transactions import (
    PackagePlan,
    active_packages,
    active_packages_of,
    bill_in_memory,
    move_in_memory,
    plan_status_transactions,
)
from engage.audit import SYSTEM, AuditAction, audit_actor, audit_record, audit_record_many
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
from .notifications import queue_status_change_emails
from .signals import status_changes_applied
from .timeline import (
    LATER_CHANGE,
    PROSPECT_RULE,
    SAME_STATUS,
    Position,
    after_step,
    check_later_changes,
    check_reason_for,
    check_transition,
    pending_changes_of,
    pending_changes_of_many,
    position_before,
    walk,
)

logger = logging.getLogger(__name__)

Option = ChangeOption
IMMEDIATE_OPTIONS = (Option.PRORATED, Option.FULL, Option.NO_TRANSACTION)
TIMING_OPTIONS = (Option.NO_TRANSACTION, Option.PERIOD_END, Option.SPECIFIC_DATE)

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


DAY_TAKEN = "day_taken"
OPTION_NOT_ALLOWED = "option_not_allowed"


def _day_taken(effective: date) -> DomainError:
    return DomainError(
        f"There is already a pending change for this account on {effective:%Y-%m-%d}.", field="effective_date",
        code=DAY_TAKEN,
    )


def check_request_fields(to_type, option, effective_date, reason, note, on) -> None:
    """The rules of the request itself, whatever the account (raises DomainError): a batch refuses the whole
    request on these, and sorts the account's own refusals into skip reasons."""
    if option not in Option.values:
        raise DomainError(f"Unknown option “{option}”.", field="option")
    clean_note(note)
    if option == Option.SPECIFIC_DATE:
        resolve_effective_date(None, option, effective_date, on)
    check_reason_for(to_type, reason)


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
        raise DomainError(
            "Between these two statuses only the timing can be chosen.", field="option", code=OPTION_NOT_ALLOWED
        )
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


def _forecast(account, pending, to_type, option, effective: date, on: date, packages=None):
    """What the change will do on its date, computed in memory: first what happens before it (the billing
    pass's periods and the earlier pending changes, in date order), then the change itself. For a change
    dated today only the billing a catch-up run still owes comes first. Saves nothing (`packages`, the
    account's active user packages when the caller has read them, are moved in memory only)."""
    packages = active_packages(account.pk) if packages is None else packages
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


def lock_accounts(account_ids) -> dict[int, Account]:
    """Lock the accounts in pk order (so that two batches never deadlock), each with its status type; the
    rows alone are locked, as in lock_account."""
    accounts = {a.pk: a for a in Account.objects.select_for_update().filter(pk__any=sorted(account_ids)).order_by("pk")}
    types = {t.pk: t for t in AccountStatusType.objects.filter(pk__in={a.status_type_id for a in accounts.values()})}
    for account in accounts.values():
        account.status_type = types[account.status_type_id]
    return accounts


def _new_change(account: Account, to_type, option, effective: date, reason, note: str, actor,
                source: str = "") -> StatusChange:
    return StatusChange(
        source=source[:150],
        account=account,
        from_type=account.status_type,
        to_type=to_type,
        option=option,
        effective_date=effective,
        reason=reason,
        note=clean_note(note),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


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
    change = _new_change(account, to_type, option, effective, reason, note, actor)
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
        _audit_changes([(change, change.from_type, None)])
        return Outcome(StatusChangeState.PENDING, effective, plans, change, billed)
    change.state = StatusChangeState.APPLIED
    change.save()
    applied = _apply_many([(account, change)], actor=change.created_by)
    _restamp_timeline(account, pending)  # the status now is new: every pending change starts from it
    plans, billed = applied[account.pk]
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


def _bill_before(pairs) -> dict[int, list[ChargeLine]]:
    """Time in order (SPEC §6): before a change dated d takes effect, bill what the daily runs would have
    billed through the day before, with the status in effect then. Nothing when they did. One billing
    write per distinct date of the batch."""
    by_day: dict[date, list[Account]] = defaultdict(list)
    for account, change in pairs:
        by_day[change.effective_date].append(account)
    billed: dict[int, list[ChargeLine]] = defaultdict(list)
    for day, accounts in sorted(by_day.items()):
        package_accounts = {a.pk for a in accounts if bills_packages(a.status_type.backend_status)}
        usage_accounts = {a.pk for a in accounts if bills_usage(a.status_type.backend_status)}
        if not (package_accounts or usage_accounts):
            continue
        _invoices, lines = bill_locked_accounts(
            {a.pk: a.bill_day for a in accounts if a.pk in package_accounts | usage_accounts},
            package_accounts=package_accounts, usage_accounts=usage_accounts, as_of=day - timedelta(days=1),
        )
        for line in lines:
            billed[line.account_id].append(line)
    return billed


def _apply_many(pairs: list[tuple[Account, StatusChange]], *, actor) -> dict[int, tuple[list, list[ChargeLine]]]:
    """Make changes true, at most one per account, whose account rows the caller holds locked and whose
    rows are saved: what was due before each date, then each change's transactions, the statuses and
    dates, counters, history, audit, provisioning jobs and e-mails, with a few set-based statements
    whatever the number of changes. Every way of applying a change comes here (a page, the API, the
    scheduler's pass, a bulk change): one path. Returns {account id: (plans, lines billed before)}."""
    if not pairs:
        return {}
    billed = _bill_before(pairs)
    packages = active_packages_of([account.pk for account, _ in pairs], lock=True)
    result, plans_by_account, lines_by_invoice, moved = {}, {}, {}, []
    for account, change in pairs:
        plans = _plan(packages.get(account.pk, []), account.bill_day, account.status_type.backend_status,
                      change.to_type, change.option, change.effective_date)
        plans_by_account[account.pk] = plans
        result[account.pk] = (plans, billed.get(account.pk, []))
        lines = [line for plan in plans for line in plan.lines]
        for line in lines:
            line.status_change_id = change.pk
        if lines:
            lines_by_invoice[account.pk, change.effective_date] = lines
        moved += [plan for plan in plans if plan.moves]
    write_invoices(lines_by_invoice)
    for plan in moved:
        plan.user_package.next_bill_date = plan.next_bill_date
    set_next_bill_dates([plan.user_package for plan in moved])

    from_types = {account.pk: account.status_type for account, _ in pairs}
    _write_statuses(pairs)
    deltas: dict[int, int] = defaultdict(int)
    for account, change in pairs:
        deltas[from_types[account.pk].pk] -= 1
        deltas[change.to_type.pk] += 1
    adjust_status_type_counts(deltas)

    executed_at = timezone.now()
    executed_by = actor if getattr(actor, "is_authenticated", False) else None
    by_from_type: dict[int, list[int]] = defaultdict(list)
    for account, change in pairs:
        change.from_type = from_types[account.pk]
        change.state = StatusChangeState.APPLIED
        change.executed_at, change.executed_by = executed_at, executed_by
        by_from_type[change.from_type.pk].append(change.pk)
    for from_type_id, ids in sorted(by_from_type.items()):
        StatusChange.objects.filter(pk__any=ids).update(
            from_type_id=from_type_id, state=StatusChangeState.APPLIED, executed_at=executed_at, executed_by=executed_by
        )
    _audit_changes([(change, from_types[account.pk], plans_by_account[account.pk]) for account, change in pairs])
    status_changes_applied.send(
        sender=StatusChange,
        rows=[(change.effective_date, change.reason_id, change.to_type.backend_status) for _, change in pairs],
    )
    request_provisioning([account.pk for account, _ in pairs])
    queue_status_change_emails([change.pk for _, change in pairs])
    return result


def _write_statuses(pairs) -> None:
    """Each account takes its change's status type; cancelled_on is set while cancelled; an account that
    leaves prospect records the date. One UPDATE per distinct (type, date) of the batch."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    leaving: dict[date, list[int]] = defaultdict(list)
    for account, change in pairs:
        to_type, day = change.to_type, change.effective_date
        cancelled_on = day if to_type.backend_status == BackendStatus.CANCELLED else None
        groups[to_type.pk, cancelled_on].append(account.pk)
        from_backend = account.status_type.backend_status
        if from_backend == BackendStatus.PROSPECT and to_type.backend_status != BackendStatus.PROSPECT:
            leaving[day].append(account.pk)
            account.left_prospect_on = day
        account.status_type, account.cancelled_on = to_type, cancelled_on
    for (type_id, cancelled_on), ids in sorted(groups.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        Account.objects.filter(pk__any=ids).update(status_type_id=type_id, cancelled_on=cancelled_on)
    for day, ids in sorted(leaving.items()):
        Account.objects.filter(pk__any=ids).update(left_prospect_on=day)


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


def _audit_changes(items) -> None:
    """One entry per change requested, applied or failed, in one INSERT; an applied one lists the lines it
    wrote. `items`: (change, the status type it moves from, its plans or None)."""
    def after(item):
        change, _from_type, plans = item
        values = {**_change_values(change), "state": change.state}
        if change.failure_reason:
            values["failure_reason"] = change.failure_reason
        if plans is not None:
            values["transactions"] = [
                {"kind": line.kind, "amount": line.amount} for plan in plans for line in plan.lines
            ]
        return values

    audit_record_many(
        action=AuditAction.STATUS_CHANGE, objects=items, obj=lambda item: item[0],
        object_repr=lambda item: _change_repr(item[0], item[1]),
        before=lambda item: {"status_type": item[1].name}, after=after,
    )


# --- The batch path: one request for many accounts (the bulk status change) -------------------------------


class SkipCode(models.TextChoices):
    """Why a batch left an account alone: the account's own refusals of the request (DomainError.code)."""

    SAME_STATUS = SAME_STATUS, "Already in that status"
    PROSPECT_RULE = PROSPECT_RULE, "The prospect rule (it has left prospect)"
    DAY_TAKEN = DAY_TAKEN, "A pending change on that date"
    OPTION_NOT_ALLOWED = OPTION_NOT_ALLOWED, "Only the timing can be chosen between its status and this one"
    LATER_CHANGE = LATER_CHANGE, "A later pending change would become invalid"
    UNKNOWN_ACCOUNT = "unknown_account", "Unknown account number"
    ERROR = "error", "An error: nothing was changed (see the message)"


@dataclass
class BatchResult:
    account_id: int
    state: str  # applied | pending | skipped
    skip_code: str = ""
    message: str = ""
    transactions: list[ChargeLine] = field(default_factory=list)
    change_id: int | None = None


BATCH_MAX = 2000


@transaction.atomic
def change_status_batch(
    *,
    account_ids,
    to_type: AccountStatusType,
    option: str,
    effective_date: date | None = None,
    reason: StatusReason | None = None,
    note: str = "",
    actor=None,
    on: date | None = None,
    dry_run: bool = False,
    source: str = "",
) -> list[BatchResult]:
    """One request for many accounts, each checked by the rules of a single change and applied by the same
    writer (`_apply_many`) in one transaction; an account the rules refuse is skipped with the reason.
    Raises DomainError when the request is invalid whatever the account (option, reason, date, note).
    A dry run locks nothing and saves nothing: it is what the same call would do now. `source` names who
    asked when no person did (a collection step), for the history."""
    on = on or today()
    if len(account_ids) > BATCH_MAX:
        raise DomainError(f"At most {BATCH_MAX} accounts per batch.")
    check_request_fields(to_type, option, effective_date, reason, note, on)
    note = clean_note(note)
    ids = sorted(set(account_ids))
    if dry_run:
        accounts = {a.pk: a for a in Account.objects.filter(pk__any=ids).select_related("status_type")}
    else:
        accounts = lock_accounts(ids)
    pending = pending_changes_of_many(ids)
    # Read for the forecasts (a dry run, a dated change); a change now reads them locked when it is applied.
    packages = active_packages_of(ids) if dry_run or option not in IMMEDIATE_OPTIONS else {}
    results: dict[int, BatchResult] = {}
    now_pairs, later = [], []
    for pk in ids:
        account = accounts.get(pk)
        if account is None:
            results[pk] = BatchResult(pk, "skipped", SkipCode.UNKNOWN_ACCOUNT, f"No account with id {pk}.")
            continue
        account_pending = pending.get(pk, [])
        try:
            effective = _check_request(account, account_pending, to_type, option, effective_date, reason, note, on)
        except DomainError as err:
            if not err.code:
                raise
            results[pk] = BatchResult(pk, "skipped", err.code, err.message)
            continue
        state = StatusChangeState.PENDING if effective > on else StatusChangeState.APPLIED
        if dry_run or state == StatusChangeState.PENDING:
            plans, _billed = _forecast(account, account_pending, to_type, option, effective, on, packages.get(pk, []))
            results[pk] = BatchResult(pk, state, transactions=[line for plan in plans for line in plan.lines])
        if dry_run:
            continue
        change = _new_change(account, to_type, option, effective, reason, note, actor, source)
        if state == StatusChangeState.PENDING:
            later.append((account, change, account_pending))
        else:
            change.state = StatusChangeState.APPLIED
            now_pairs.append((account, change))
    if dry_run:
        return [results[pk] for pk in _in_request_order(account_ids)]

    changes = [change for _, change, _ in later] + [change for _, change in now_pairs]
    StatusChange.objects.bulk_create(changes)
    Account.objects.filter(pk__any=[change.account_id for change in changes]).update(version=F("version") + 1)
    for account, change, account_pending in later:
        _restamp_timeline(account, [*account_pending, change])
        results[account.pk].change_id = change.pk
    _audit_changes([(change, change.from_type, None) for _, change, _ in later])
    applied = _apply_many(now_pairs, actor=actor)
    for account, change in now_pairs:
        _restamp_timeline(account, pending.get(account.pk, []))
        plans, _billed = applied[account.pk]
        results[account.pk] = BatchResult(
            account.pk, StatusChangeState.APPLIED, transactions=[line for plan in plans for line in plan.lines],
            change_id=change.pk,
        )
    return [results[pk] for pk in _in_request_order(account_ids)]


def _in_request_order(account_ids) -> list[int]:
    return list(dict.fromkeys(account_ids))


# --- The scheduler's pass: pending changes that are due ---------------------------------------------------


def _fail_many(failures: list[tuple[Account, StatusChange, str]]) -> None:
    executed_at = timezone.now()
    for _account, change, why in failures:
        change.state = StatusChangeState.FAILED
        change.failure_reason = why[:500]
        change.executed_at = executed_at
    StatusChange.objects.bulk_update([c for _, c, _ in failures], ["state", "failure_reason", "executed_at"])
    _audit_changes([(change, account.status_type, None) for account, change, _ in failures])


class DueOutcome(StrEnum):
    """What applying due changes came to; the pass counts each (a JSON-safe dict of str keys)."""

    APPLIED = "applied"
    FAILED = "failed"  # a rule refused it; marked failed, never retried
    SKIPPED = "skipped"  # another worker has it, it was removed or done, or an earlier change goes first
    ERRORS = "errors"  # it crashed; it stays pending for the next run


def _apply_due(changes: list[StatusChange], *, on: date) -> dict[int, DueOutcome]:
    """Apply claimed due changes (their rows locked by the caller), at most one per account: lock the
    accounts in pk order, leave a change whose account has an earlier pending change for later, mark the
    ones the rules refuse on their date failed, apply the rest together."""
    outcomes: dict[int, DueOutcome] = {}
    accounts = lock_accounts({change.account_id for change in changes})
    # Claimed as its account's earliest; a change dated earlier may have come in before the account lock.
    claimed = {change.account_id: change for change in changes}
    earlier = {
        account_id
        for account_id, day in StatusChange.objects.filter(
            account_id__any=sorted(accounts), state=StatusChangeState.PENDING,
            effective_date__lt=max(change.effective_date for change in changes),
        ).exclude(pk__any=[change.pk for change in changes]).values_list("account_id", "effective_date")
        if day < claimed[account_id].effective_date
    }
    pairs, failures = [], []
    for change in changes:
        account = accounts.get(change.account_id)
        if account is None or change.account_id in earlier:
            outcomes[change.pk] = DueOutcome.SKIPPED
            continue
        try:
            check_transition(Position.now(account), change.to_type, change.reason)
        except DomainError as err:
            failures.append((account, change, err.message))
            outcomes[change.pk] = DueOutcome.FAILED
            continue
        pairs.append((account, change))
        outcomes[change.pk] = DueOutcome.APPLIED
    if failures:
        _fail_many(failures)
    _apply_many(pairs, actor=None)
    Account.objects.filter(pk__any=[account.pk for account, _ in pairs]).update(version=F("version") + 1)
    return outcomes


def _claim_due(*, on: date, limit: int, only=None) -> list[StatusChange]:
    """Lock the next due pending changes, each its account's earliest pending one, oldest first; rows
    another run holds are skipped."""
    # "Its account's earliest pending change" as a scalar subquery (one probe of the pending index per row),
    # not NOT EXISTS: right after a wave of changes is scheduled, the table's statistics still say "no pending
    # rows", and the planner turned the anti-join into a scan of every pending row per row (1.8 s a chunk of
    # 1,000 at 7,000 pending). One pending change per account and day (a constraint): no ties.
    earliest = (
        StatusChange.objects.filter(account_id=OuterRef("account_id"), state=StatusChangeState.PENDING)
        .order_by("effective_date").values("effective_date")[:1]
    )
    qs = StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__lte=on,
                                     effective_date=Subquery(earliest))
    if only is not None:
        qs = qs.filter(pk__any=sorted(only))
    changes = list(qs.select_for_update(skip_locked=True, of=("self",)).order_by("effective_date", "id")[:limit])
    # The types and reasons from two small reads, not a row each per change.
    types = {t.pk: t for t in AccountStatusType.objects.filter(pk__in={c.to_type_id for c in changes})}
    reasons = {r.pk: r for r in StatusReason.objects.filter(pk__in={c.reason_id for c in changes} - {None})}
    for change in changes:
        change.to_type = types[change.to_type_id]
        change.reason = reasons.get(change.reason_id)
    return changes


def apply_due_change(change_id: int, *, on: date) -> DueOutcome:
    """Apply one due pending change exactly once; an invalid one is marked failed, never retried."""
    # The audit log says "system": the scheduler's doing, even when a request ran the pass.
    with transaction.atomic(), audit_actor(SYSTEM):
        claimed = _claim_due(on=on, limit=1, only=[change_id])
        if not claimed:
            return DueOutcome.SKIPPED  # taken by another worker, removed, done, or an earlier change goes first
        return _apply_due(claimed, on=on)[change_id]


DUE_CHUNK = 1000  # changes claimed and applied per transaction; progress is reported after each chunk


def apply_due_status_changes(*, as_of: date, chunk: int | None = None) -> dict:
    """Every pending change dated on or before as_of, oldest first, each exactly once.

    Reads the due changes' ids once (in date order), then claims them chunk by chunk (by id, with
    skip_locked, so two workers share the work and each claim costs the same at any size) and applies each
    chunk in one transaction through the batch writer; a worker killed midway leaves its chunk pending for
    the next run. A chunk that fails is redone change by change, so one bad account does not stop the pass
    (its change stays pending, with the error in the run's detail). An account with several due changes has
    them applied in date order, one per sweep."""
    chunk = chunk or DUE_CHUNK
    counts = dict.fromkeys([o.value for o in DueOutcome], 0)  # plain str keys: JSON and printouts
    errored: set[int] = set()
    with recorded_pass(PassRun.Name.APPLY_STATUS_CHANGES, as_of) as run:
        while True:  # sweeps: the next one finds what an applied change let through (an account's next change)
            due = list(
                StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__lte=as_of)
                .exclude(pk__any=sorted(errored)).order_by("effective_date", "id").values_list("pk", flat=True)
            )
            applied_before = counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED]
            for i in range(0, len(due), chunk):
                outcomes = _apply_due_chunk(due[i : i + chunk], as_of=as_of, run=run)
                for change_id, outcome in outcomes.items():
                    if outcome != DueOutcome.SKIPPED:
                        counts[outcome] += 1
                    if outcome == DueOutcome.ERRORS:
                        errored.add(change_id)
                advance(run, counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED])
            if counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED] == applied_before:
                # Nothing moved: what is left is held by another worker or waits for an erroring change.
                counts[DueOutcome.SKIPPED] = len(due) - sum(1 for pk in due if pk in errored)
                break
        run.processed = counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED]
        run.failed = counts[DueOutcome.ERRORS]
    return counts


def _apply_due_chunk(change_ids: list[int], *, as_of: date, run: PassRun) -> dict[int, DueOutcome]:
    """One chunk in one transaction; when it fails, change by change (each in its own)."""
    try:
        with transaction.atomic(), audit_actor(SYSTEM):
            changes = _claim_due(on=as_of, limit=len(change_ids), only=change_ids)
            outcomes = dict.fromkeys(change_ids, DueOutcome.SKIPPED)
            if changes:
                outcomes.update(_apply_due(changes, on=as_of))
            return outcomes
    except Exception:
        logger.warning("Applying %s due changes together failed; applying them one by one", len(change_ids))
    outcomes = {}
    for change_id in change_ids:
        try:
            outcomes[change_id] = apply_due_change(change_id, on=as_of)
        except Exception as exc:  # one bad account must not stop the pass
            logger.exception("Status change %s could not be applied", change_id)
            outcomes[change_id] = DueOutcome.ERRORS
            run.detail += f"change {change_id}: {type(exc).__name__}: {exc}\n"
    return outcomes
