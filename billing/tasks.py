"""Thin Celery tasks: ids and dates in, the passes do the work."""

from celery import shared_task

from engage import broker
from engage.clock import parse_as_of

from .passes import bill_part, start_billing


@shared_task(bind=True, acks_late=True)
def billing_pass_task(self, as_of: str | None = None):
    """The passes of the day before billing (and any day missed), then the billing split into parts over
    account-id ranges (billing_part_task), sent to the queue this task came from: the workers that take passes
    take the parts."""
    queue = (self.request.delivery_info or {}).get("routing_key") or None

    def dispatch(*part) -> bool:
        return broker.send(billing_part_task, *part, queue=queue)

    return start_billing(as_of=parse_as_of(as_of), dispatch=dispatch)


@shared_task(acks_late=True)
def billing_part_task(run_id: int, as_of: str, lo: int, hi: int):
    return bill_part(run_id, parse_as_of(as_of), (lo, hi))
