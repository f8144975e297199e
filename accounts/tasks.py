"""Thin Celery tasks: ids and dates in, services do the work."""

from celery import shared_task

from engage import broker
from engage.clock import parse_as_of

from .bulk import bulk_status_change_task  # noqa: F401 - registered with the worker here
from .notifications import send_status_change_email_task  # noqa: F401 - registered with the worker here
from .passes import bill_part, start_billing
from .status_changes import apply_due_status_changes


@shared_task(acks_late=True)
def apply_due_status_changes_task(as_of: str | None = None):
    return apply_due_status_changes(as_of=parse_as_of(as_of))


@shared_task(bind=True, acks_late=True)
def billing_pass_task(self, as_of: str | None = None):
    """Due changes, then the billing split into parts over account-id ranges (billing_part_task), sent to the
    queue this task came from: the workers that take passes take the parts."""
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    return start_billing(
        as_of=parse_as_of(as_of), dispatch=lambda *part: broker.send(billing_part_task, *part, queue=queue)
    )


@shared_task(acks_late=True)
def billing_part_task(run_id: int, as_of: str, lo: int, hi: int):
    return bill_part(run_id, parse_as_of(as_of), (lo, hi))

