"""The daily roll-up of applied status changes per reason and target back-end status (ReasonDayCount).

The engine sends accounts.signals.status_changes_applied in the transaction that applies changes (one change
or a batch); `add_applied_changes` adds them with one INSERT … ON CONFLICT DO UPDATE per 500 keys, so two
transactions adding to the same day and reason both count (PostgreSQL and SQLite ≥ 3.24 alike). The
statistics page and API read it (reason_counts) at a cost that does not grow with history."""

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
    if not counts:
        return
    table = connection.ops.quote_name(ReasonDayCount._meta.db_table)
    keys = sorted(counts, key=lambda k: (k[0], k[1], k[2]))  # one order for everyone: no deadlock
    with connection.cursor() as cursor:
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            cursor.execute(
                f"INSERT INTO {table} (day, reason_id, backend_status, count) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(batch))
                + f" ON CONFLICT (day, reason_id, backend_status) DO UPDATE SET count = {table}.count + excluded.count",
                [value for key in batch
                 for value in (connection.ops.adapt_datefield_value(key[0]), key[1], key[2], counts[key])],
            )


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
    """Recompute the roll-up from the history (a repair), set-based: one DELETE, one INSERT … SELECT.
    Returns the number of day × reason × status rows written."""
    quote = connection.ops.quote_name
    ReasonDayCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            REBUILD_SQL.format(rollup=quote(ReasonDayCount._meta.db_table), changes=quote(StatusChange._meta.db_table),
                               types=quote(AccountStatusType._meta.db_table)),
            [StatusChangeState.APPLIED.value],
        )
        return cursor.rowcount
