"""Thin Celery tasks: ids and dates in, the passes do the work."""

from functools import partial

from celery import shared_task

from engage import broker
from engage.business_day import scheduled_run
from engage.clock import parse_as_of

from .passes import PASS_NAME, bill_in_parts, bill_part


@shared_task(bind=True, acks_late=True)
def billing_pass_task(self, as_of: str | None = None):
    """The passes of the day before billing (and any day missed), then the billing split into parts over
    account-id ranges (billing_part_task), sent to the queue this task came from: the workers that take passes
    take the parts."""
    queue = (self.request.delivery_info or {}).get("routing_key") or None

    def dispatch(*part) -> bool:
        return broker.send(billing_part_task, *part, queue=queue)

    return scheduled_run(PASS_NAME, parse_as_of(as_of), run=partial(bill_in_parts, dispatch=dispatch))


@shared_task(acks_late=True)
def billing_part_task(run_id: int, as_of: str, lo: int, hi: int):
    return bill_part(run_id, parse_as_of(as_of), (lo, hi))
