"""The bulk status change's worker task: an id in, the service does the work (accounts/bulk.py)."""

from celery import shared_task

from .bulk import bulk_change_run


@shared_task(acks_late=True)
def bulk_status_change_task(job_id: int):
    job = bulk_change_run(job_id)
    return {"job": job.pk, "state": job.state}
