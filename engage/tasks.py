from celery import shared_task

from .pass_runs import prune_pass_runs


@shared_task(acks_late=True)
def prune_pass_runs_task(keep_days: int = 30):
    return prune_pass_runs(keep_days=keep_days)
