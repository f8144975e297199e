"""Run an account's provisioning jobs through the configured backend.

Jobs of one account run in order and one worker at a time: the worker that locks the account's oldest
open job (SKIP LOCKED) leases the newest and commits; it then talks to the backend with no transaction
or lock held, and records the outcome. Anyone else finding the jobs locked or leased leaves them to it,
so at most one request per account is in flight. Only the newest open job's target is applied; the
older ones are kept as history, marked superseded.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from engage.account_model import get_account_model
from engage.limits import ERROR_MAX_CHARS
from statuses.rules import SwitchState

from .backends import STATE_AFTER, AccountRef, BackendError, Verb, get_backend
from .backends.base import DEFAULT_LEASE
from .models import OPEN_STATES, JobState, ProvisioningJob, SwitchEntry

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
# Jobs written while a run was busy are picked up by the same call, a few rounds at most; the pass
# catches anything left.
MAX_ROUNDS = 3

# The backend verbs that take the switch from one state (key[0]) to another (key[1]).
STEPS: dict[tuple[str, str], tuple[Verb, ...]] = {
    (SwitchState.ABSENT, SwitchState.ENABLED): (Verb.CREATE,),
    (SwitchState.ABSENT, SwitchState.SUSPENDED): (Verb.CREATE, Verb.SUSPEND),
    (SwitchState.ENABLED, SwitchState.SUSPENDED): (Verb.SUSPEND,),
    (SwitchState.SUSPENDED, SwitchState.ENABLED): (Verb.RESUME,),
    (SwitchState.ENABLED, SwitchState.ABSENT): (Verb.REMOVE,),
    (SwitchState.SUSPENDED, SwitchState.ABSENT): (Verb.REMOVE,),
}


class Outcome(StrEnum):
    DONE = "done"  # the newest job ran and succeeded
    FAILED = "failed"  # it ran and failed; retried after back-off
    IDLE = "idle"  # no open job, or the newest one is waiting for its back-off
    BUSY = "busy"  # another worker holds this account's jobs


@dataclass
class RunResult:
    account_id: int
    outcome: Outcome
    job_id: int | None = None
    error: str = ""


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1 min, 2, 4, 8 … capped at 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def steps(actual: str, target: str) -> tuple[Verb, ...]:
    return () if actual == target else STEPS[(actual, target)]


def run_account_jobs(account_id: int, *, now: datetime | None = None) -> RunResult:
    """Bring one account's switch entry to the target of its newest open job; idempotent. A job written
    while a round ran (a newer status change) runs in the next round, even when that round failed: it
    never waits for the pass. A failed job alone waits for its back-off (the next round is idle)."""
    last = None
    for _ in range(MAX_ROUNDS):
        result = _run_once(account_id, now or timezone.now())
        if result.outcome in (Outcome.IDLE, Outcome.BUSY):
            return last or result
        last = result
    return last


def record_actuals(states: dict[int, str]) -> None:
    """What the backend confirmed, per account; the provisioning pass compares it with the desired state.
    Two statements whatever the number of accounts: absent ones deleted, the others upserted."""
    absent = [pk for pk, state in states.items() if state == SwitchState.ABSENT]
    held = [SwitchEntry(account_id=pk, state=state) for pk, state in states.items() if state != SwitchState.ABSENT]
    if absent:
        SwitchEntry.objects.filter(account_id__in=absent).delete()
    if held:
        SwitchEntry.objects.bulk_create(
            held, update_conflicts=True, unique_fields=["account"], update_fields=["state", "updated_at"]
        )


def record_actual(account_id: int, state: str) -> None:
    record_actuals({account_id: state})


def _step():
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _lease() -> timedelta:
    try:
        return get_backend().lease()
    except Exception:  # a backend that cannot be loaded fails the job in _apply, with the reason
        return DEFAULT_LEASE


def _not_now(account_id: int, claimed: list, oldest: int, now: datetime) -> RunResult | None:
    """Whether the account's jobs wait (the result saying why) or are this worker's to run now (None).
    `claimed`: the account's open jobs this worker locked, in id order (rows with id, state, next_attempt_at,
    leased_until); `oldest`: the id of its oldest open job, locked or not. Another worker holds them when it
    holds the oldest, or when one is leased (a request in flight: one at a time); the newest waits for its
    back-off after a failure."""
    if not claimed or claimed[0].id != oldest or any(j.leased_until and j.leased_until > now for j in claimed):
        return RunResult(account_id, Outcome.BUSY)
    newest = claimed[-1]
    if newest.state == JobState.FAILED and newest.next_attempt_at and newest.next_attempt_at > now:
        return RunResult(account_id, Outcome.IDLE, newest.id)
    return None


def _supersede(job_ids: list[int], now: datetime) -> None:
    """Older open jobs of an account whose newest is run: kept as history, not run."""
    if job_ids:
        ProvisioningJob.objects.filter(id__any=job_ids).update(
            state=JobState.SUPERSEDED, finished_at=now, leased_until=None
        )


def _done_fields(now: datetime) -> dict:
    return dict(state=JobState.DONE, finished_at=now, next_attempt_at=None, leased_until=None)


def _failed_fields(error: str, attempts: int, now: datetime) -> dict:
    """A failed attempt (the `attempts`-th): the error kept, retried after its back-off."""
    return dict(state=JobState.FAILED, last_error=error[:ERROR_MAX_CHARS], next_attempt_at=now + backoff(attempts),
                leased_until=None)


def _claim(account_id: int, now: datetime) -> tuple[RunResult | None, ProvisioningJob | None]:
    """A short transaction: lock the account's open jobs (SKIP LOCKED), supersede all but the newest,
    lease the newest and count the attempt; committed before anything is sent."""
    with transaction.atomic():
        open_jobs = ProvisioningJob.objects.filter(account_id=account_id, state__in=OPEN_STATES)
        oldest = open_jobs.order_by("id").values_list("id", flat=True).first()
        if oldest is None:
            return RunResult(account_id, Outcome.IDLE), None
        claimed = list(open_jobs.select_for_update(skip_locked=True).order_by("id"))
        waiting = _not_now(account_id, claimed, oldest, now)
        if waiting is not None:
            return waiting, None
        *older, job = claimed
        _supersede([o.id for o in older], now)
        job.attempts += 1
        job.leased_until = now + _lease()
        job.save(update_fields=["attempts", "leased_until"])
    return None, job


def _run_once(account_id: int, now: datetime) -> RunResult:
    """Claim (commit), call the backend with no transaction or row lock held, then record the outcome."""
    busy, job = _claim(account_id, now)
    if busy is not None:
        return busy
    error = _apply(job, now)
    fields = _failed_fields(error, job.attempts, now) if error else _done_fields(now)
    # Only while the lease is still ours: a job taken over after its lease expired is recorded by its taker.
    ProvisioningJob.objects.filter(pk=job.pk, leased_until=job.leased_until).update(**fields)
    if error:
        logger.warning("Provisioning job %s for account %s failed: %s", job.id, account_id, error)
        return RunResult(account_id, Outcome.FAILED, job.id, fields["last_error"])
    return RunResult(account_id, Outcome.DONE, job.id)


def _apply(job: ProvisioningJob, now: datetime) -> str:
    """Run the backend steps for `job`; the error message, or "" on success. Never raises: a backend
    that crashes, times out or answers garbage is a failed job, not a failed worker or pass."""
    number = get_account_model().objects.filter(pk=job.account_id).values_list("number", flat=True).first()
    account = AccountRef(id=job.account_id, number=number or str(job.account_id), version=job.pk)
    key = str(job.idempotency_key)
    confirmed = None
    try:
        backend = get_backend()
        # No transaction is open here (the network call holds no lock; a database backend's step is its
        # own short statement), unless a caller runs us inside one: then each call gets a savepoint, so a
        # backend's database error cannot poison the caller's transaction.
        with _step():
            confirmed = backend.read_state(account, idempotency_key=key)
        for verb in steps(confirmed, job.target):
            with _step():
                getattr(backend, verb)(account, idempotency_key=key)
            confirmed = STATE_AFTER[verb]
        return ""
    except BackendError as exc:
        return str(exc)
    except Exception as exc:  # a bug or an unexpected answer: keep the worker and the pass alive
        logger.exception("Provisioning backend crashed on job %s", job.id)
        return f"Backend error ({type(exc).__name__}): {exc}"
    finally:
        if confirmed is not None:
            record_actual(job.account_id, confirmed)


def run_jobs_batch(account_ids: list[int], *, now: datetime, backend) -> list[RunResult]:
    """What run_account_jobs does, for a chunk of accounts at once through a backend that batches: claim
    every account's open jobs (an account whose oldest open job another worker holds, or whose job is
    leased, is busy; one waiting for its back-off is idle), supersede all but the newest, apply the newest
    targets, and record the outcomes with one UPDATE per outcome. A constant number of statements per chunk,
    ids sent as one array each (`__any`), jobs read as tuples.

    A backend in Engage's own database (`in_database`: its writes are statements, no network call) does
    all of it in the claim's transaction, holding the rows' locks: no lease is needed. Any other backend is
    called with no transaction held: the newest jobs are leased and committed first."""
    results: list[RunResult] = []
    in_database = getattr(backend, "in_database", False)
    until = None if in_database else now + backend.lease()
    with transaction.atomic():
        jobs = ProvisioningJob.objects.filter(account_id__any=sorted(account_ids), state__in=OPEN_STATES)
        oldest = dict(jobs.values("account_id").annotate(first=Min("id")).values_list("account_id", "first")
                      .order_by())
        claimed: dict[int, list] = {}
        for row in (jobs.select_for_update(skip_locked=True).order_by("account_id", "id")
                    .values_list("id", "account_id", "target", "state", "attempts", "next_attempt_at", "leased_until",
                                 named=True)):
            claimed.setdefault(row.account_id, []).append(row)
        superseded, leased = [], []  # leased: (job id, account id, target, attempts before)
        for account_id in sorted(oldest):
            rows = claimed.get(account_id, [])
            waiting = _not_now(account_id, rows, oldest[account_id], now)
            if waiting is not None:
                results.append(waiting)
                continue
            *older, newest = rows
            superseded += [r.id for r in older]
            leased.append((newest.id, account_id, newest.target, newest.attempts))
        _supersede(superseded, now)
        if not leased:
            return results
        if in_database:  # applied and recorded under the locks just taken, in this transaction
            errors = backend.apply_targets({account_id: target for _, account_id, target, _ in leased})
            return results + _record_outcomes(leased, errors, now=now, until=None)
        ProvisioningJob.objects.filter(id__any=[job_id for job_id, *_ in leased]).update(
            attempts=F("attempts") + 1, leased_until=until
        )
    try:
        errors = backend.apply_targets({account_id: target for _, account_id, target, _ in leased})
    except Exception as exc:  # the whole chunk failed: each job is retried after its back-off
        logger.exception("Provisioning backend failed on a chunk of %s accounts", len(leased))
        errors = dict.fromkeys((account_id for _, account_id, _, _ in leased),
                               f"Backend error ({type(exc).__name__}): {exc}")
    return results + _record_outcomes(leased, errors, now=now, until=until)


def _record_outcomes(leased, errors: dict[int, str], *, now: datetime, until) -> list[RunResult]:
    """Done jobs in one UPDATE, failed ones one each (rare). With a lease (`until`), only while the lease is
    still ours (a job taken over after its lease expired is recorded by its taker); without one, the attempt
    is counted here."""
    counted = {} if until is not None else {"attempts": F("attempts") + 1}
    done = [job_id for job_id, account_id, _, _ in leased if not errors.get(account_id)]
    ProvisioningJob.objects.filter(id__any=done, leased_until=until).update(**_done_fields(now), **counted)
    results = [RunResult(account_id, Outcome.DONE, job_id) for job_id, account_id, _, _ in leased
               if not errors.get(account_id)]
    for job_id, account_id, _, attempts in leased:
        error = errors.get(account_id)
        if error:
            ProvisioningJob.objects.filter(pk=job_id, leased_until=until).update(
                **_failed_fields(error, attempts + 1, now), **counted
            )
            results.append(RunResult(account_id, Outcome.FAILED, job_id, error[:ERROR_MAX_CHARS]))
    return results
