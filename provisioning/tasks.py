from celery import shared_task


@shared_task(acks_late=True)
def run_account_jobs_task(account_id: int):
    from .runner import run_account_jobs

    run_account_jobs(account_id)
