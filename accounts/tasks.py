"""Thin Celery tasks: ids and dates in, services do the work."""

from celery import shared_task

from engage.clock import parse_as_of

from .bulk.services import bulk_status_change_task  # noqa: F401 - registered with the worker here
from .engine.notifications import send_status_change_email_task  # noqa: F401 - registered with the worker here
from .passes import apply_due_status_changes


@shared_task(acks_late=True)
def apply_due_status_changes_task(as_of: str | None = None):
    return apply_due_status_changes(as_of=parse_as_of(as_of))
