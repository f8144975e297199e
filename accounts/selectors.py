"""Reads of accounts: the Overview's pending changes and status history."""

from statuses.rules import StatusChangeState

from .models import StatusChange


def pending_changes(account_id: int):
    return (
        StatusChange.objects.filter(account_id=account_id, state=StatusChangeState.PENDING)
        .select_related("to_type", "reason", "created_by")
        .order_by("effective_date", "id")
    )


def status_history(account_id: int, limit: int = 50):
    return (
        StatusChange.objects.filter(account_id=account_id)
        .exclude(state=StatusChangeState.PENDING)
        .select_related("from_type", "to_type", "reason", "executed_by", "created_by")
        .prefetch_related("charge_lines")
        .order_by("-executed_at", "-id")[:limit]
    )
