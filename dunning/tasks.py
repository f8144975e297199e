"""Thin Celery tasks: a date in, the service does the work."""

from celery import shared_task

from engage.business_day import scheduled_run
from engage.clock import parse_as_of

from .passes import PASS_NAME


@shared_task(acks_late=True)
def collections_pass_task(as_of: str | None = None):
    return scheduled_run(PASS_NAME, parse_as_of(as_of))
