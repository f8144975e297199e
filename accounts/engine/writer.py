"""The one writer (SPEC §5): every way of applying a status change (a page, the API, the scheduler's pass, a
bulk change, a collection step) ends in `apply_changes`, with the account rows locked by the caller. Also
the pieces every path shares: a new change row, the timeline's from-types, and the audit entries."""

from collections import defaultdict
from datetime import date

from django.db.models import F
from django.utils import timezone

from billing.status_transactions import ChangeBilling, Move, bill_status_changes
from engage.audit import audit_record_many, user_of
from engage.limits import FAILURE_MAX_CHARS, SOURCE_MAX_CHARS
from engage.update_rows import update_rows
from provisioning.services import request_provisioning
from statuses.models import AccountStatusType
from statuses.rules import BackendStatus, StatusChangeState

from ..models import Account, StatusAudit, StatusChange
from .counters import adjust_status_type_counts
from .notifications import queue_status_change_emails
from .rules import ChangeRequest
from .signals import status_changes_applied
from .timeline import Position, walk


def new_change(account: Account, request: ChangeRequest, effective: date, actor, source: str = "") -> StatusChange:
    """An unsaved change of the account from its status now, as requested."""
    return StatusChange(
        source=source[:SOURCE_MAX_CHARS],
        account=account,
        from_type=account.status_type,
        to_type=request.to_type,
        option=request.option,
        effective_date=effective,
        reason=request.reason,
        note=request.note,
        created_by=user_of(actor),
    )


def bump_versions(account_ids) -> None:
    """A form opened before this write is stale now (SPEC §5: 'this account changed while you were editing')."""
    Account.objects.filter(pk__any=sorted(account_ids)).update(version=F("version") + 1)


def restamp_timeline(account: Account, pending: list[StatusChange]) -> None:
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


def mark_applied(change: StatusChange, actor) -> None:
    """A new change that is applied as it is saved (now, by `actor`): apply_changes(saved_applied=True) then
    has nothing to write to its row."""
    change.state = StatusChangeState.APPLIED
    change.executed_at, change.executed_by = timezone.now(), user_of(actor)


def apply_changes(pairs: list[tuple[Account, StatusChange]], *, actor,
                  saved_applied: bool = False) -> dict[int, tuple[list, list]]:
    """Make changes true, at most one per account, whose account rows the caller holds locked and whose
    rows are saved: billing's part (what was due before each date, then each change's transactions), the
    statuses, dates and versions (one UPDATE), counters, history, audit, provisioning jobs and e-mails, with a
    few set-based statements whatever the number of changes. `saved_applied`: the rows were saved new,
    marked applied (mark_applied) from the status their accounts have now, so they are not written again.
    Returns {account id: (plans, lines billed before)}."""
    if not pairs:
        return {}
    result = bill_status_changes([
        ChangeBilling(account.pk, account.bill_day,
                      Move(account.status_type.backend_status, change.to_type.backend_status, change.option,
                           change.effective_date),
                      change.pk)
        for account, change in pairs
    ])

    from_types = {account.pk: account.status_type for account, _ in pairs}
    _write_statuses(pairs)
    deltas: dict[int, int] = defaultdict(int)
    for account, change in pairs:
        deltas[from_types[account.pk].pk] -= 1
        deltas[change.to_type.pk] += 1
    adjust_status_type_counts(deltas)

    if not saved_applied:
        _write_applied(pairs, from_types, actor)
    audit_changes([(change, from_types[account.pk], result[account.pk][0]) for account, change in pairs])
    status_changes_applied.send(
        sender=StatusChange,
        rows=[(change.effective_date, change.reason_id, change.to_type.backend_status) for _, change in pairs],
    )
    request_provisioning({account.pk: change.to_type.backend_status for account, change in pairs})
    queue_status_change_emails([change.pk for _, change in pairs])
    return result


def _write_applied(pairs, from_types, actor) -> None:
    """Saved pending rows become applied, from the status their accounts had: one UPDATE per from-type."""
    executed_at, executed_by = timezone.now(), user_of(actor)
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


def _write_statuses(pairs) -> None:
    """Each account takes its change's status type; cancelled_on is set while cancelled; an account that
    leaves prospect records the date; its version moves on (a form opened before is stale). One UPDATE for
    the batch, whatever the types and dates."""
    rows = []
    for account, change in pairs:
        to_type, day = change.to_type, change.effective_date
        cancelled_on = day if to_type.backend_status == BackendStatus.CANCELLED else None
        leaves = (account.status_type.backend_status == BackendStatus.PROSPECT
                  and to_type.backend_status != BackendStatus.PROSPECT)
        if leaves:
            account.left_prospect_on = day
        rows.append((account.pk, to_type.pk, cancelled_on, day if leaves else None))
        account.status_type, account.cancelled_on = to_type, cancelled_on
    update_rows(
        Account,
        [("id", "bigint"), ("status_type_id", "bigint"), ("cancelled_on", "date"), ("left_prospect_on", "date")],
        sorted(rows, key=lambda row: row[0]),
        assignments=["status_type_id = v.status_type_id", "cancelled_on = v.cancelled_on",
                     "left_prospect_on = COALESCE(v.left_prospect_on, t.left_prospect_on)", "version = t.version + 1"],
    )


def fail_changes(failures: list[tuple[Account, StatusChange, str]]) -> None:
    """Due changes their date refuses: marked failed with why, never retried (SPEC §5)."""
    executed_at = timezone.now()
    for _account, change, why in failures:
        change.state = StatusChangeState.FAILED
        change.failure_reason = why[:FAILURE_MAX_CHARS]
        change.executed_at = executed_at
    StatusChange.objects.bulk_update([c for _, c, _ in failures], ["state", "failure_reason", "executed_at"])
    audit_changes([(change, account.status_type, None) for account, change, _ in failures])


def change_repr(change: StatusChange, from_type: AccountStatusType | None = None) -> str:
    start = f"{from_type.name} " if from_type else ""
    return f"{start}→ {change.to_type.name} on {change.effective_date:%Y-%m-%d}"


def change_values(change: StatusChange) -> dict:
    """A change as requested, for the audit log, JSON-ready: names as they were then (a type may be renamed
    later), the date in ISO form."""
    return {
        "status_type": change.to_type.name, "option": str(change.option),
        "effective_date": change.effective_date.isoformat(),
        "reason": change.reason.name if change.reason_id else None, "note": change.note,
    }


def audit_changes(items) -> None:
    """One entry per change requested, applied or failed, in one INSERT; an applied one lists the lines it
    wrote. `items`: (change, the status type it moves from, its plans or None)."""
    def after(item):
        change, _from_type, plans = item
        values = {**change_values(change), "state": str(change.state)}
        if change.failure_reason:
            values["failure_reason"] = change.failure_reason
        if plans is not None:
            values["transactions"] = [
                {"kind": str(line.kind), "amount": str(line.amount)} for plan in plans for line in plan.lines
            ]
        return values

    audit_record_many(
        action=StatusAudit.STATUS_CHANGE, objects=items, obj=lambda item: item[0],
        object_repr=lambda item: change_repr(item[0], item[1]),
        before=lambda item: {"status_type": item[1].name}, after=after, json_ready=True,
    )
