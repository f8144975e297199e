"""The billing pass as the scheduler runs it: due status changes first, then billing (SPEC §6), split over
account-id ranges that any number of workers share (SPEC §10)."""

import math
from collections.abc import Callable
from datetime import date

from django.conf import settings

from billing.passes import account_id_bounds, billing_pass, split_range
from engage.models import PassRun
from engage.pass_runs import finish_part, start_parts

from .status_changes import apply_due_status_changes
from .timeline import billing_horizon


def run_billing(*, as_of: date) -> dict:
    """Due changes first (each bills what was due before its date), then the rest; an account whose due
    change is not applied yet (it failed to apply, another worker holds it) is billed only up to it."""
    changes = apply_due_status_changes(as_of=as_of)
    billed = billing_pass(as_of=as_of, horizon=billing_horizon).as_dict()
    return {"status_changes": changes, "billing": billed}


# dispatch(run id, as-of date as ISO text, lo, hi) hands a part to a worker; False when the broker is down.
Dispatch = Callable[[int, str, int, int], bool]


def start_billing(*, as_of: date, dispatch: Dispatch, parts: int | None = None) -> dict:
    """The scheduled billing pass: due changes first, then one pass run whose work is cut into `parts`
    account-id ranges (ENGAGE_PASS_PARTS), each handed to a worker; a part the broker does not take is billed
    here. The database keeps parts apart and never bills twice (row locks, unique keys), so a part that is
    redelivered or run alongside another run changes nothing more."""
    changes = apply_due_status_changes(as_of=as_of)
    lo, hi = account_id_bounds()
    parts = max(1, parts or settings.ENGAGE_PASS_PARTS)
    ranges = split_range((lo, hi), max(1, math.ceil((hi - lo) / parts))) or [(lo, hi)]
    run = start_parts(PassRun.Name.BILLING, as_of, len(ranges))
    here = [r for r in ranges if not dispatch(run.pk, as_of.isoformat(), *r)]
    for id_range in here:
        bill_part(run.pk, as_of, id_range)
    return {"status_changes": changes, "billing": {"run": run.pk, "parts": len(ranges), "billed_here": len(here)}}


def bill_part(run_id: int, as_of: date, id_range: tuple[int, int]) -> dict:
    """One part of a split billing pass; the last part to finish finishes the run."""
    run = PassRun.objects.get(pk=run_id)
    summary = billing_pass(as_of=as_of, horizon=billing_horizon, id_range=id_range, run=run)
    text = f"Accounts {id_range[0] + 1}–{id_range[1]}: {summary}" if summary.accounts or summary.failed else ""
    finish_part(run_id, failed=summary.failed, detail=text)
    return summary.as_dict()
