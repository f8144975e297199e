"""Thin Celery tasks: ids and dates in, services do the work."""

from celery import shared_task

from engage.clock import parse_as_of

from .notifications import send_status_change_email_task  # noqa: F401 - registered with the worker here
from .passes import run_billing
from .status_changes import apply_due_status_changes


@shared_task(acks_late=True)
def apply_due_status_changes_task(as_of: str | None = None):
    return apply_due_status_changes(as_of=parse_as_of(as_of))


@shared_task(acks_late=True)
def billing_pass_task(as_of: str | None = None):
    return run_billing(as_of=parse_as_of(as_of))

