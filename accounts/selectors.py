"""Reads of accounts: the Overview's pending changes and status history, the list's pending badges."""

from django.db.models import F

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


def earliest_pending_changes(account_ids) -> dict[int, dict]:
    """For the accounts list's badge: each account's earliest pending status change (to_type_name,
    effective_date), in one query for the page's ids."""
    earliest: dict[int, dict] = {}
    rows = (
        StatusChange.objects.filter(account_id__in=list(account_ids), state=StatusChangeState.PENDING)
        .order_by("account_id", "effective_date", "id")
        .values("account_id", "effective_date", to_type_name=F("to_type__name"))
    )
    for row in rows:
        earliest.setdefault(row["account_id"], row)
    return earliest


def count_up_to(queryset, cap: int) -> int:
    """How many rows, counting no further than cap + 1: the list says "more than cap" rather than COUNT(*) a
    million rows. The ids alone, unordered, so the database stops at the first cap + 1 it finds."""
    return len(queryset.order_by().values_list("pk", flat=True)[: cap + 1])
