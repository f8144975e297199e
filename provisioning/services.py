"""Provisioning writes: the outbox. Callers are inside the transaction of the change that needs it."""

import logging

from django.db import transaction

from statuses.rules import switch_state

from .models import ProvisioningJob

logger = logging.getLogger(__name__)


def request_provisioning(account_ids: list[int]) -> list[ProvisioningJob]:
    """Write one job per account towards the desired state of its current back-end status, in the
    caller's transaction; on commit a worker runs them. A rolled-back change leaves no job."""
    if not account_ids:
        return []
    Account = ProvisioningJob._meta.get_field("account").related_model
    rows = Account.objects.filter(pk__in=account_ids).values_list("pk", "status_type__backend_status")
    jobs = ProvisioningJob.objects.bulk_create(
        [ProvisioningJob(account_id=pk, target=switch_state(backend)) for pk, backend in rows]
    )
    ids = sorted({job.account_id for job in jobs})
    transaction.on_commit(lambda: _dispatch(ids))
    return jobs


def _dispatch(account_ids):
    from .tasks import run_account_jobs_task

    try:
        for account_id in account_ids:
            run_account_jobs_task.delay(account_id)
    except Exception:  # broker down: the jobs are rows, the provisioning pass picks them up
        logger.warning("Could not queue provisioning for accounts %s; the pass will run them.", account_ids)
