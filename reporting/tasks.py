"""Thin Celery tasks: dates in, services do the work."""

from celery import shared_task

from engage.clock import parse_as_of

from .reason_rollup import fold_reason_counts
from .statistics import record_snapshot


@shared_task(acks_late=True)
def statistics_snapshot_task(as_of: str | None = None):
    return record_snapshot(day=parse_as_of(as_of))


@shared_task(acks_late=True)
def fold_reason_counts_task():
    """Every minute: each day × reason × status's appended rows become one (the roll-up stays small)."""
    return fold_reason_counts()
