"""Pending changes whose date has come (SPEC §5, §6): claimed with their rows locked (skip locked, so two
workers share them), each account's earliest first; a change its date refuses is marked failed, never
retried; the rest are applied together by the one writer. The pass that drives this is accounts/passes.py."""

from datetime import date
from enum import StrEnum

from django.db import transaction
from django.db.models import OuterRef, Subquery

from engage.audit import SYSTEM, audit_actor
from engage.errors import DomainError
from engage.locks import lock_accounts
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import StatusChangeState

from ..models import StatusChange
from .timeline import Position, check_transition
from .writer import apply_changes, fail_changes


class DueOutcome(StrEnum):
    """What applying due changes came to; the pass counts each (a JSON-safe dict of str keys)."""

    APPLIED = "applied"
    FAILED = "failed"  # a rule refused it; marked failed, never retried
    SKIPPED = "skipped"  # another worker has it, it was removed or done, or an earlier change goes first
    ERRORS = "errors"  # it crashed; it stays pending for the next run


def apply_due(changes: list[StatusChange], *, on: date) -> dict[int, DueOutcome]:
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
        fail_changes(failures)
    apply_changes(pairs, actor=None)  # (moves the accounts' versions on too)
    return outcomes


def claim_due(*, on: date, limit: int, only=None) -> list[StatusChange]:
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


def apply_due_changes(change_ids: list[int], *, on: date) -> dict[int, DueOutcome]:
    """Claim and apply these due changes in one transaction (the pass's chunk, or one change when a chunk
    failed): the ones claimed meanwhile by another worker, removed or done are SKIPPED."""
    # The audit log says "system": the scheduler's doing, even when a request ran the pass.
    with transaction.atomic(), audit_actor(SYSTEM):
        outcomes = dict.fromkeys(change_ids, DueOutcome.SKIPPED)
        changes = claim_due(on=on, limit=len(change_ids), only=change_ids)
        if changes:
            outcomes.update(apply_due(changes, on=on))
        return outcomes


def apply_due_change(change_id: int, *, on: date) -> DueOutcome:
    """Apply one due pending change exactly once; an invalid one is marked failed, never retried."""
    return apply_due_changes([change_id], on=on)[change_id]


def due_change_ids(*, as_of: date, exclude=()) -> list[int]:
    """The ids of every pending change dated on or before as_of, in the order they are applied."""
    return list(
        StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__lte=as_of)
        .exclude(pk__any=sorted(exclude)).order_by("effective_date", "id").values_list("pk", flat=True)
    )
