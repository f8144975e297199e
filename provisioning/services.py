"""Provisioning writes: the outbox. Callers are inside the transaction of the change that needs it."""

from django.db import connection, transaction
from django.utils import timezone

from engage import broker
from engage.account_model import get_account_model
from engage.copy_rows import build, insert_objects
from statuses.rules import switch_state

from .models import JobState, ProvisioningJob
from .tasks import provisioning_pass_task, run_account_jobs_task

DISPATCH_EACH_MAX = 20


def request_provisioning(accounts: list[int] | dict[int, str]) -> list[ProvisioningJob]:
    """Write one job per account towards the desired state of its current back-end status, in the
    caller's transaction; on commit a worker runs them. A rolled-back change leaves no job. `accounts`: ids
    (their back-end statuses are read), or {id: back-end status} from a caller that just wrote them."""
    if not accounts:
        return []
    if isinstance(accounts, dict):
        rows = sorted(accounts.items())
    else:
        rows = get_account_model().objects.filter(pk__any=accounts).values_list("pk", "status_type__backend_status")
    jobs = insert_objects(
        ProvisioningJob,
        [build(ProvisioningJob, {"account_id": pk, "target": switch_state(backend)}) for pk, backend in rows],
    )
    ids = sorted({job.account_id for job in jobs})
    # A few accounts: a task each, at once; a batch: one provisioning pass runs them all.
    transaction.on_commit(lambda: _dispatch(ids) if len(ids) <= DISPATCH_EACH_MAX else _dispatch_pass())
    return jobs


def request_provisioning_for_status_type(*, status_type_id: int, backend_status: str) -> int:
    """Every account of a type whose back-end status was edited gets a job towards the new desired
    state: one INSERT … SELECT in the caller's transaction, whatever the number of accounts. On commit
    a provisioning pass runs them. Returns the number of jobs written."""
    Account = get_account_model()
    quote = connection.ops.quote_name
    job_table = quote(ProvisioningJob._meta.db_table)
    account_table = quote(Account._meta.db_table)
    account_pk = quote(Account._meta.pk.column)
    status_type_column = quote(Account._meta.get_field("status_type").column)
    # A fresh random key per row, in the storage format Django uses for UUIDField on each database
    # (the two databases Engage runs on).
    new_key = "gen_random_uuid()" if connection.vendor == "postgresql" else "lower(hex(randomblob(16)))"
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {job_table} (account_id, target, state, idempotency_key, attempts, last_error, created_at) "
            f"SELECT a.{account_pk}, %s, %s, {new_key}, 0, '', %s FROM {account_table} a "
            f"WHERE a.{status_type_column} = %s",
            [switch_state(backend_status), JobState.PENDING, created_at, status_type_id],
        )
        written = cursor.rowcount
    if written:
        transaction.on_commit(_dispatch_pass)
    return written


def on_backend_status_changed(sender, *, status_type, old, new, **kwargs):
    """Receiver of statuses.signals.backend_status_changed: the switch follows every account of the type."""
    if switch_state(old) == switch_state(new):
        return
    request_provisioning_for_status_type(status_type_id=status_type.pk, backend_status=new)


def _dispatch(account_ids):
    # The jobs are rows: when the broker is down (send gives up at once), the provisioning pass runs them.
    for account_id in account_ids:
        if not broker.send(run_account_jobs_task, account_id):
            return


def _dispatch_pass():
    broker.send(provisioning_pass_task)  # else the next scheduled pass runs the jobs
