"""Reads of accounts: the Overview's pending changes and status history."""

from statuses.rules import StatusChangeState

from .models import Account, StatusChange
from .timeline import Position, Step, pending_changes_of, walk


def pending_timeline(account: Account) -> list[Step]:
    """The Components list: each pending change in date order with the status just before it, and what
    would refuse it on its date (None when it is valid)."""
    return list(walk(Position.now(account), pending_changes_of(account.pk)))


def status_history(account_id: int, limit: int = 50):
    return (
        StatusChange.objects.filter(account_id=account_id)
        .exclude(state=StatusChangeState.PENDING)
        .select_related("from_type", "to_type", "reason", "executed_by", "created_by")
        .prefetch_related("charge_lines")
        .order_by("-executed_at", "-id")[:limit]
    )
