"""Reads of accounts: the list, the Overview, Account Statistics."""

from django.db.models import Sum, Value
from django.db.models.functions import Coalesce

from statuses.models import AccountStatusType
from statuses.rules import STATISTICS_ORDER, BackendStatus

from .models import StatusChange, StatusChangeState


def account_statistics() -> list[dict]:
    """SPEC §8: per back-end status, the counters of the types shown in statistics, added together.
    One query over the (small) status type table: its cost does not grow with the accounts."""
    totals = {
        row["backend_status"]: row["total"]
        for row in AccountStatusType.objects.filter(show_in_statistics=True)
        .values("backend_status")
        .annotate(total=Coalesce(Sum("counter__count"), Value(0)))
    }
    return [
        {"backend_status": status.value, "label": BackendStatus(status).label, "count": totals[status]}
        for status in STATISTICS_ORDER
        if status in totals
    ]


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
