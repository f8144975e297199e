"""The provisioning pass (SPEC §6, every 5 minutes): bring the switch to the desired state of every
account and retry failed jobs whose back-off is over.

Set-based and chunked: drift is found by one query per chunk comparing the desired state (the account's
back-end status through the truth table) with the actual one (SwitchEntry). Two passes can run at once:
each locks the accounts of a chunk with skip_locked and re-checks before writing jobs, and the runner
claims an account's jobs with skip_locked, so no account gets two jobs or two runs.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from engage.account_model import get_account_model
from engage.pass_runs import PassSummary, advance, detail, recorded_pass
from statuses.rules import SwitchState, switch_state_statuses

from .backends import get_backend
from .models import OPEN_STATES, ProvisioningJob
from .runner import Outcome, run_account_jobs, run_jobs_batch

logger = logging.getLogger(__name__)

PASS_NAME = "provisioning"
CHUNK_SIZE = 500


@dataclass
class ProvisioningSummary(PassSummary):
    drift_jobs: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0  # another worker held the account's jobs

    def words(self) -> str:
        text = (
            f"{self.drift_jobs} job{'s' if self.drift_jobs != 1 else ''} created for drift, "
            f"{self.done} account{'s' if self.done != 1 else ''} provisioned, {self.failed} failed"
        )
        if self.skipped:
            text += f", {self.skipped} left to another worker"
        return text + "."


def desired_state_expression(prefix: str = ""):
    """The truth table as SQL: the switch state an account's back-end status asks for."""
    return Case(
        *[
            When(**{f"{prefix}status_type__backend_status__in": switch_state_statuses(state)}, then=Value(state))
            for state in SwitchState.values
            if switch_state_statuses(state)
        ],
        default=Value(None),
        output_field=CharField(),
    )


def accounts_without_open_job():
    """Accounts nobody is provisioning now (no open job), with their desired state."""
    open_job = ProvisioningJob.objects.filter(account_id=OuterRef("pk"), state__in=OPEN_STATES)
    return (
        get_account_model()
        .objects.annotate(desired=desired_state_expression())
        .filter(desired__isnull=False)
        .filter(~Exists(open_job))
    )


def drifted_accounts():
    """Accounts whose switch entry differs from their desired state and that have no open job."""
    return accounts_without_open_job().annotate(
        actual=Coalesce(F("switch_entry__state"), Value(SwitchState.ABSENT), output_field=CharField())
    ).filter(~Q(desired=F("actual")))


def write_jobs(ids: list[int], candidates) -> int:
    """One job towards its desired state for each of `ids` that is still among `candidates` (a queryset of
    accounts_without_open_job). The accounts are locked in pk order first; one locked by a status change or
    another pass is skipped (it gets its job from them); then re-checked, since a pass that just
    committed may have written it. Three queries, whatever the number of accounts."""
    with transaction.atomic():
        locked = list(
            get_account_model().objects.filter(pk__in=sorted(ids))
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        rows = candidates.filter(pk__in=locked).values_list("pk", "desired")
        return len(ProvisioningJob.objects.bulk_create(
            [ProvisioningJob(account_id=pk, target=desired) for pk, desired in rows]
        ))


def create_drift_jobs(*, chunk_size: int = CHUNK_SIZE) -> int:
    """Write one job per drifted account; a few queries per chunk, none per account."""
    drifted = drifted_accounts()
    created = 0
    last_pk = 0
    while True:
        ids = list(drifted.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:chunk_size])
        if not ids:
            return created
        last_pk = ids[-1]
        created += write_jobs(ids, drifted)


def due_account_ids(now: datetime):
    """Accounts with an open job to run now: pending, or failed with its back-off over."""
    return (
        ProvisioningJob.objects.filter(state__in=OPEN_STATES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("account_id", flat=True)
        .distinct()
    )


def _run_one(account_id: int, now: datetime):
    try:
        return account_id, run_account_jobs(account_id, now=now)
    except Exception as exc:  # one bad account never stops the pass
        logger.exception("Provisioning pass: account %s failed", account_id)
        return account_id, exc


def _run_one_in_thread(account_id: int, now: datetime):
    try:
        return _run_one(account_id, now)
    finally:
        connection.close()  # the thread's own connection


def run_accounts(account_ids: list[int], *, now: datetime):
    """Run the accounts' jobs, up to ENGAGE_PROVISIONING_CONCURRENCY at once: no transaction is held
    while a backend is called, so a slow receiver holds one thread, never the others or the database.
    Sequential inside a caller's transaction (its rows are invisible to other connections), and on SQLite
    (the demo default: one writer at a time; no lock is held during a call there either)."""
    try:
        backend = get_backend()
    except Exception:  # a backend that cannot be loaded fails each job, with the reason (run_account_jobs)
        backend = None
    if backend is not None and backend.batches:
        try:
            return [(result.account_id, result) for result in run_jobs_batch(account_ids, now=now, backend=backend)]
        except Exception:  # one bad account must not stop the pass: this chunk account by account
            logger.exception("Provisioning a chunk of %s accounts together failed; one by one", len(account_ids))
    concurrency = settings.ENGAGE_PROVISIONING_CONCURRENCY
    if concurrency <= 1 or connection.in_atomic_block or connection.vendor == "sqlite" or len(account_ids) <= 1:
        return [_run_one(a, now) for a in account_ids]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="provisioning") as pool:
        return list(pool.map(lambda a: _run_one_in_thread(a, now), account_ids))


def run_due_jobs(*, now: datetime, summary: ProvisioningSummary, chunk_size: int = CHUNK_SIZE, run=None) -> None:
    due = due_account_ids(now)
    last_id = 0
    while True:
        account_ids = list(due.filter(account_id__gt=last_id).order_by("account_id")[:chunk_size])
        if not account_ids:
            return
        last_id = account_ids[-1]
        for account_id, result in run_accounts(account_ids, now=now):
            if isinstance(result, Exception):
                summary.failed += 1
                summary.errors.append(f"account {account_id}: {type(result).__name__}: {result}")
            elif result.outcome == Outcome.DONE:
                summary.done += 1
            elif result.outcome == Outcome.FAILED:
                summary.failed += 1
                summary.errors.append(f"account {account_id}: {result.error}")
            elif result.outcome == Outcome.BUSY:
                summary.skipped += 1
        if run is not None:
            advance(run, summary.done)


def _due_chunk_size() -> int:
    try:
        return settings.ENGAGE_PROVISIONING_BATCH if get_backend().batches else CHUNK_SIZE
    except Exception:  # a backend that cannot be loaded fails each job, with the reason (run_accounts)
        return CHUNK_SIZE


def provisioning_pass(*, as_of: date | None = None, now: datetime | None = None,
                      chunk_size: int | None = None) -> ProvisioningSummary:
    """Create jobs for every drifted account, then run every due job; recorded as a PassRun. `chunk_size`
    accounts at a time (default: CHUNK_SIZE, and ENGAGE_PROVISIONING_BATCH for the due jobs of a batching
    backend)."""
    now = now or timezone.now()
    as_of = as_of or timezone.localdate(now)
    summary = ProvisioningSummary()
    with recorded_pass(PASS_NAME, as_of) as run:
        summary.drift_jobs = create_drift_jobs(chunk_size=chunk_size or CHUNK_SIZE)
        run_due_jobs(now=now, summary=summary, chunk_size=chunk_size or _due_chunk_size(), run=run)
        run.processed = summary.done
        run.failed = summary.failed
        run.detail = detail(summary, summary.errors)
    return summary
