"""Thin Celery tasks: ids and dates in, services do the work."""

from datetime import date

from celery import shared_task

from .status_changes import today


def _as_of(value: str | None) -> date:
    return date.fromisoformat(value) if value else today()


@shared_task(acks_late=True)
def apply_due_status_changes_task(as_of: str | None = None):
    from .status_changes import apply_due_status_changes

    return apply_due_status_changes(as_of=_as_of(as_of))


@shared_task(acks_late=True)
def billing_pass_task(as_of: str | None = None):
    from .passes import run_billing

    return run_billing(as_of=_as_of(as_of))


@shared_task(acks_late=True)
def statistics_snapshot_task(as_of: str | None = None):
    from .statistics import record_snapshot

    return record_snapshot(day=_as_of(as_of))


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_status_change_email_task(change_id: int):
    from .notifications import send_status_change_email

    send_status_change_email(change_id)
