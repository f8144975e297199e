"""Accounts per status type (SPEC §8) without a hot row. A transaction that moves accounts appends its deltas
(StatusTypeCountDelta: inserts only, so two status changes never wait on one counter row); the count of a
type is its StatusTypeCount plus its deltas not folded in yet, read in one query (`counted_types`); a pass
folds the deltas into StatusTypeCount every minute (`fold_status_type_counts`).

Lock order: only the fold and the recount lock StatusTypeCount rows, always all of them in pk order and
before anything else, so they queue behind each other and never deadlock; writers take no lock here."""

from collections import Counter

from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from statuses.models import AccountStatusType

from ..models import Account, StatusTypeCount, StatusTypeCountDelta


def adjust_status_type_counts(deltas: dict[int, int]) -> None:
    """Record what this transaction changes in the counts: one INSERT, whatever the number of types."""
    StatusTypeCountDelta.objects.bulk_create(
        [StatusTypeCountDelta(status_type_id=type_id, delta=delta) for type_id, delta in sorted(deltas.items())
         if delta]
    )


def _unfolded():
    return (StatusTypeCountDelta.objects.filter(status_type=OuterRef("pk")).order_by()
            .values("status_type").annotate(total=Sum("delta")).values("total"))


def counted_types(queryset=None):
    """Status types annotated with `account_count`: the counter plus the deltas not folded yet, in the one
    query over the (small) type table; never a COUNT(*) over the accounts."""
    queryset = AccountStatusType.objects.all() if queryset is None else queryset
    return queryset.annotate(
        account_count=Coalesce("counter__count", Value(0)) + Coalesce(Subquery(_unfolded()), Value(0))
    )


def status_type_counts_now(type_ids=None) -> dict[int, int]:
    """{type id: accounts of that type} from the counters (every type when type_ids is None)."""
    types = counted_types()
    if type_ids is not None:
        types = types.filter(pk__in=list(type_ids))
    return dict(types.values_list("pk", "account_count"))


def _lock_counters() -> None:
    list(StatusTypeCount.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def fold_status_type_counts() -> int:
    """Move the deltas into the counters: each delta row is deleted and added by exactly one fold (a delta
    committed meanwhile is not seen, and waits for the next). Returns the number of delta rows folded."""
    table = connection.ops.quote_name(StatusTypeCountDelta._meta.db_table)
    with transaction.atomic():
        _lock_counters()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} RETURNING status_type_id, delta")
            rows = cursor.fetchall()
        sums: Counter = Counter()
        for type_id, delta in rows:
            sums[type_id] += delta
        StatusTypeCount.objects.bulk_create(
            [StatusTypeCount(status_type_id=type_id, count=0) for type_id in sorted(sums)], ignore_conflicts=True
        )
        for type_id, delta in sorted(sums.items()):
            if delta:
                StatusTypeCount.objects.filter(pk=type_id).update(count=Coalesce("count", 0) + delta)
    return len(rows)


def recount_status_types(*, fix: bool) -> dict[int, tuple[int, int]]:
    """Recount from the accounts table; returns {type id: (counter, actual)} where they differ.

    The counters, their deltas and the accounts are read in one statement (one snapshot: a change that
    commits meanwhile is in all three or in none). With fix, the counters are locked first (a fold waits)
    and each differing one is set, in one statement again, to the accounts counted less the deltas not folded
    yet: a change committed since adds its delta on top, so nothing is lost or counted twice."""
    actual = (Account.objects.filter(status_type=OuterRef("pk")).order_by().values("status_type")
              .annotate(n=Count("pk")).values("n"))
    with transaction.atomic():
        if fix:
            _lock_counters()
        rows = counted_types().annotate(actual=Coalesce(Subquery(actual), Value(0))).values_list(
            "pk", "account_count", "actual")
        diffs = {pk: (stored, real) for pk, stored, real in rows if stored != real}
        if fix and diffs:
            StatusTypeCount.objects.bulk_create(
                [StatusTypeCount(status_type_id=pk, count=0) for pk in sorted(diffs)], ignore_conflicts=True
            )
            # StatusTypeCount's pk is its type's id: the subqueries' OuterRef("pk") is the type.
            StatusTypeCount.objects.filter(pk__in=sorted(diffs)).update(
                count=Coalesce(Subquery(actual), Value(0)) - Coalesce(Subquery(_unfolded()), Value(0))
            )
    return diffs
