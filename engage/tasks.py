from celery import shared_task

from .once import prune_once_keys
from .outbox import deliver_many_task, deliver_task, relay_task  # noqa: F401 - registered with the worker here
from .pass_runs import prune_pass_runs
from .sessions import prune_signed_in_sessions
from .sign_in_guard import prune as prune_sign_in_guard


@shared_task(acks_late=True)
def prune_pass_runs_task(keep_days: int = 30):
    return prune_pass_runs(keep_days=keep_days)


@shared_task(acks_late=True)
def prune_once_keys_task():
    return prune_once_keys()


@shared_task(acks_late=True)
def prune_sign_ins_task():
    """Forget old failed-sign-in counters (no lock) and the records of sessions that have ended."""
    return {"counters": prune_sign_in_guard(), "sessions": prune_signed_in_sessions()}
