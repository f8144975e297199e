"""The due-change pass (SPEC §6, every minute, and first thing of the billing pass): every pending change
dated on or before its day, oldest first, each exactly once, through the engine."""

import logging
from datetime import date

from engage.models import PassRun
from engage.pass_runs import advance, recorded_pass
from statuses.rules import StatusChangeState

from .engine import DueOutcome, apply_due_change, apply_due_changes, due_change_ids
from .models import StatusChange

logger = logging.getLogger(__name__)

PASS_NAME = "apply_status_changes"
DUE_CHUNK = 1000  # changes claimed and applied per transaction; progress is reported after each chunk


def apply_due_status_changes(*, as_of: date, chunk: int | None = None) -> dict:
    """Every pending change dated on or before as_of, oldest first, each exactly once.

    Reads the due changes' ids once (in date order), then claims them chunk by chunk (by id, with
    skip_locked, so two workers share the work and each claim costs the same at any size) and applies each
    chunk in one transaction through the batch writer; a worker killed midway leaves its chunk pending for
    the next run. A chunk that fails is redone change by change, so one bad account does not stop the pass
    (its change stays pending, with the error in the run's detail). An account with several due changes has
    them applied in date order, one per sweep."""
    chunk = chunk or DUE_CHUNK
    counts = dict.fromkeys([o.value for o in DueOutcome], 0)  # plain str keys: JSON and printouts
    errored: set[int] = set()
    with recorded_pass(PASS_NAME, as_of) as run:
        while True:  # sweeps: the next one finds what an applied change let through (an account's next change)
            due = due_change_ids(as_of=as_of, exclude=errored)
            applied_before = counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED]
            for i in range(0, len(due), chunk):
                outcomes = _apply_chunk(due[i : i + chunk], as_of=as_of, run=run)
                for change_id, outcome in outcomes.items():
                    if outcome != DueOutcome.SKIPPED:
                        counts[outcome] += 1
                    if outcome == DueOutcome.ERRORS:
                        errored.add(change_id)
                advance(run, counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED])
            if counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED] == applied_before:
                # Nothing moved: what is left is held by another worker or waits for an erroring change.
                counts[DueOutcome.SKIPPED] = len(due) - sum(1 for pk in due if pk in errored)
                break
        run.processed = counts[DueOutcome.APPLIED] + counts[DueOutcome.FAILED]
        run.failed = counts[DueOutcome.ERRORS]
    return counts


def _apply_chunk(change_ids: list[int], *, as_of: date, run: PassRun) -> dict[int, DueOutcome]:
    """One chunk in one transaction; when it fails, change by change (each in its own)."""
    try:
        return apply_due_changes(change_ids, on=as_of)
    except Exception:
        logger.warning("Applying %s due changes together failed; applying them one by one", len(change_ids))
    outcomes = {}
    for change_id in change_ids:
        try:
            outcomes[change_id] = apply_due_change(change_id, on=as_of)
        except Exception as exc:  # one bad account must not stop the pass
            logger.exception("Status change %s could not be applied", change_id)
            outcomes[change_id] = DueOutcome.ERRORS
            run.detail += f"change {change_id}: {type(exc).__name__}: {exc}\n"
    return outcomes


def changes_ahead(today: date, as_of: date) -> str:
    """What this pass run for a day after today would do ahead of time (a command asks before it)."""
    n = StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__gt=today,
                                    effective_date__lte=as_of).count()
    if not n:
        return ""
    return f"apply {n:,} pending status change{'s' if n != 1 else ''} dated after today, up to {as_of:%Y-%m-%d}"
