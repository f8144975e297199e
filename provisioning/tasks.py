from datetime import date

from celery import shared_task


@shared_task(acks_late=True)
def run_account_jobs_task(account_id: int):
    from .runner import run_account_jobs

    run_account_jobs(account_id)


@shared_task(acks_late=True)
def provisioning_pass_task(as_of: str | None = None):
    from .passes import provisioning_pass

    provisioning_pass(as_of=date.fromisoformat(as_of) if as_of else None)
