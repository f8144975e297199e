"""Thin Celery tasks: ids and dates in, services do the work."""

from celery import shared_task

from engage.business_day import scheduled_run
from engage.clock import parse_as_of

from .bulk.services import bulk_status_change_task  # noqa: F401 - registered with the worker here
from .engine.counters import fold_status_type_counts
from .engine.notifications import send_status_change_email_task  # noqa: F401 - registered with the worker here
from .passes import PASS_NAME


@shared_task(acks_late=True)
def apply_due_status_changes_task(as_of: str | None = None):
    """Every minute: the due changes of today, after whatever days the passes of the day missed."""
    return scheduled_run(PASS_NAME, parse_as_of(as_of))


@shared_task(acks_late=True)
def fold_status_counters_task():
    """Every minute: the counters' appended deltas are added to them (reads stay one small query)."""
    return fold_status_type_counts()
