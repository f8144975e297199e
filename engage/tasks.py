from celery import shared_task

from .once import prune_once_keys
from .outbox import deliver_many_task, deliver_task, relay_task  # noqa: F401 - registered with the worker here
from .pass_runs import prune_pass_runs


@shared_task(acks_late=True)
def prune_pass_runs_task(keep_days: int = 30):
    return prune_pass_runs(keep_days=keep_days)


@shared_task(acks_late=True)
def prune_once_keys_task():
    return prune_once_keys()
