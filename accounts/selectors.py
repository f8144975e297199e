"""Reads of accounts: the Overview's pending changes and status history, the list's pending badges, and
what accounts' data holds of the status types and reasons (statuses.usage)."""

from django.db.models import F, Q

from statuses.models import StatusReason
from statuses.rules import StatusChangeState

from .engine import Position, Step, pending_changes_of, status_type_counts_now, walk
from .models import Account, StatusChange


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


def type_account_counts(type_ids) -> dict[int, int]:
    """{type id: accounts of that type}, from the counters kept with every change (no COUNT(*) over a million
    accounts); a type whose counter says none is probed in the accounts index, so a counter that drifted never
    lets a type in use pass for unused."""
    counts = status_type_counts_now(type_ids)
    empty = [pk for pk in type_ids if counts.get(pk, 0) <= 0]
    for pk in Account.objects.filter(status_type_id__in=empty).values_list("status_type_id", flat=True).distinct():
        counts[pk] = 1
    return {pk: max(counts.get(pk, 0), 0) for pk in type_ids}


def status_holds(obj) -> list[str]:
    """Why accounts' data holds a status type or a reason (statuses.usage): accounts of the type, pending
    changes to it, the status history (never rewritten), status changes giving the reason."""
    if isinstance(obj, StatusReason):
        used = obj.status_changes.count()
        if not used:
            return []
        return [f"{used:,} status change{'s give' if used != 1 else ' gives'} it as the reason; "
                "retire it instead (untick Active) to hide it from pick lists"]
    reasons = []
    in_use = type_account_counts([obj.pk])[obj.pk]
    if in_use:
        reasons.append(f"{in_use:,} account{'s use' if in_use != 1 else ' uses'} it")
    changes = StatusChange.objects.filter(to_type=obj)
    pending = changes.filter(state=StatusChangeState.PENDING).count()
    if pending:
        reasons.append(f"{pending:,} pending status change{'s target' if pending != 1 else ' targets'} it")
    executed = ~Q(state=StatusChangeState.PENDING)
    if changes.filter(executed).exists() or StatusChange.objects.filter(executed, from_type=obj).exists():
        reasons.append("it appears in accounts' status history")
    return reasons
