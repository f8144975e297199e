"""Thin Celery tasks: a date in, the service does the work."""

from celery import shared_task

from engage.clock import parse_as_of

from .passes import run_collections_pass


@shared_task(acks_late=True)
def collections_pass_task(as_of: str | None = None):
    return run_collections_pass(as_of=parse_as_of(as_of))
