"""The daily snapshot of accounts per status type, for the statistics chart."""

from datetime import date

from engage.passes import recorded_pass

from .models import StatisticsSnapshot, StatusTypeCount


def record_snapshot(*, day: date) -> int:
    """Copy today's counters (idempotent: a second run the same day overwrites)."""
    with recorded_pass("statistics_snapshot", day) as run:
        rows = StatusTypeCount.objects.select_related("status_type")
        for row in rows:
            StatisticsSnapshot.objects.update_or_create(
                day=day,
                status_type=row.status_type,
                defaults={"backend_status": row.status_type.backend_status, "count": row.count},
            )
            run.processed += 1
    return run.processed
