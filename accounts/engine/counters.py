"""Per-status-type account counters, changed in the same transaction as the accounts they count."""

from django.db import IntegrityError, transaction
from django.db.models import Count, F

from ..models import Account, StatusTypeCount


def adjust_status_type_counts(deltas: dict[int, int]) -> None:
    """Add each delta to its type's counter, in pk order (so concurrent callers never deadlock)."""
    for type_id, delta in sorted(deltas.items()):
        if not delta:
            continue
        if StatusTypeCount.objects.filter(pk=type_id).update(count=F("count") + delta):
            continue
        try:
            with transaction.atomic():
                StatusTypeCount.objects.create(status_type_id=type_id, count=delta)
        except IntegrityError:  # created by a concurrent transaction meanwhile
            StatusTypeCount.objects.filter(pk=type_id).update(count=F("count") + delta)


def recount_status_types(*, fix: bool) -> dict[int, tuple[int, int]]:
    """Recount from the accounts table; returns {type id: (counter, actual)} where they differ.

    With fix, the counters are locked before the count: a change that commits meanwhile waits for
    the lock and then adds its delta to the recounted number, so nothing is lost or counted twice."""
    with transaction.atomic():
        stored_rows = StatusTypeCount.objects.order_by("pk")
        if fix:
            stored_rows = stored_rows.select_for_update()
        stored = dict(stored_rows.values_list("status_type_id", "count"))
        actual = dict(
            Account.objects.values_list("status_type_id").annotate(n=Count("id")).values_list("status_type_id", "n")
        )
        diffs = {
            type_id: (stored.get(type_id, 0), actual.get(type_id, 0))
            for type_id in set(actual) | set(stored)
            if stored.get(type_id, 0) != actual.get(type_id, 0)
        }
        if fix:
            for type_id, (_stored, real) in sorted(diffs.items()):
                StatusTypeCount.objects.update_or_create(status_type_id=type_id, defaults={"count": real})
    return diffs
