"""Thin Celery tasks: ids and dates in, services do the work."""

from celery import shared_task

from engage.clock import parse_as_of

from .audit import switch_audit
from .passes import provisioning_pass
from .runner import run_account_jobs


@shared_task(acks_late=True)
def run_account_jobs_task(account_id: int):
    run_account_jobs(account_id)


@shared_task(acks_late=True)
def provisioning_pass_task(as_of: str | None = None):
    provisioning_pass(as_of=parse_as_of(as_of))


@shared_task(acks_late=True)
def switch_audit_task(as_of: str | None = None):
    switch_audit(as_of=parse_as_of(as_of))
