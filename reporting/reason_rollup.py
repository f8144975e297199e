"""The daily roll-up of applied status changes per reason and target back-end status (ReasonDayCount).

The engine sends accounts.signals.status_changes_applied in the transaction that applies changes (one change
or a batch); `add_applied_changes` appends their counts in one INSERT (new rows only: no two transactions
ever wait on one roll-up row), and `fold_reason_counts`, every minute, folds each key's rows into one. The
statistics page and API read it (reason_counts, which sums) at a cost that does not grow with history."""

from collections import Counter

from django.db import connection, transaction
from django.db.models import Count

from accounts.models import StatusChange
from statuses.models import AccountStatusType
from statuses.rules import StatusChangeState

from .models import ReasonDayCount

NO_REASON = 0


def add_applied_changes(sender=None, *, rows, **kwargs) -> None:
    """rows: (effective date, reason id or None, target back-end status), one per applied change."""
    counts = Counter((day, reason_id or NO_REASON, status) for day, reason_id, status in rows)
    ReasonDayCount.objects.bulk_create(
        [ReasonDayCount(day=day, reason_id=reason_id, backend_status=status, count=n)
         for (day, reason_id, status), n in sorted(counts.items())]
    )


KEY = "day, reason_id, backend_status"


def fold_reason_counts() -> int:
    """Each key with more than one row becomes one row with their sum. A row is deleted and added back by
    exactly one fold (a row committed meanwhile is not seen: it waits for the next; two folds at once delete
    disjoint rows). Returns the number of rows folded."""
    table = connection.ops.quote_name(ReasonDayCount._meta.db_table)
    doubled = f"({KEY}) IN (SELECT {KEY} FROM {table} GROUP BY {KEY} HAVING count(*) > 1)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {doubled} RETURNING {KEY}, count")
        rows = cursor.fetchall()
        sums: Counter = Counter()
        for day, reason_id, status, n in rows:
            sums[day, reason_id, status] += n
        cursor.executemany(f"INSERT INTO {table} ({KEY}, count) VALUES (%s, %s, %s, %s)",
                           [(*key, n) for key, n in sorted(sums.items())])
        return len(rows)


def history_counts(changes=None):
    """The same counts aggregated from the history with the ORM: an independent check of the roll-up."""
    changes = StatusChange.objects.all() if changes is None else changes
    return (
        changes.filter(state=StatusChangeState.APPLIED)
        .values("effective_date", "reason_id", "to_type__backend_status")
        .annotate(n=Count("id"))
        .order_by()
    )


# The roll-up of the whole history in one statement (the repair here; the migration's backfill is the same).
REBUILD_SQL = """
INSERT INTO {rollup} (day, reason_id, backend_status, count)
SELECT c.effective_date, COALESCE(c.reason_id, 0), t.backend_status, COUNT(*)
FROM {changes} c JOIN {types} t ON t.id = c.to_type_id
WHERE c.state = %s
GROUP BY c.effective_date, COALESCE(c.reason_id, 0), t.backend_status
"""


@transaction.atomic
def rebuild_reason_counts() -> int:
    """Recompute the roll-up from the history (a repair), set-based. On PostgreSQL one statement (a DELETE
    and an INSERT … SELECT in one snapshot: a change committed meanwhile is either in the history read and
    deleted from the roll-up, or in neither — never counted twice); on SQLite (one writer at a time) two.
    Returns the number of day × reason × status rows written."""
    quote = connection.ops.quote_name
    insert = REBUILD_SQL.format(rollup=quote(ReasonDayCount._meta.db_table),
                                changes=quote(StatusChange._meta.db_table),
                                types=quote(AccountStatusType._meta.db_table))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH gone AS (DELETE FROM {quote(ReasonDayCount._meta.db_table)}), "
                           f"added AS ({insert} RETURNING 1) SELECT count(*) FROM added",
                           [StatusChangeState.APPLIED.value])
            return cursor.fetchone()[0]
        ReasonDayCount.objects.all().delete()
        cursor.execute(insert, [StatusChangeState.APPLIED.value])
        return cursor.rowcount
