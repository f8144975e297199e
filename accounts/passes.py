"""The billing pass as the scheduler runs it: due status changes first, then billing (SPEC §6)."""

from datetime import date

from billing.passes import billing_pass

from .status_changes import apply_due_status_changes
from .timeline import billing_horizon


def run_billing(*, as_of: date) -> dict:
    """Due changes first (each bills what was due before its date), then the rest; an account whose due
    change is not applied yet (it failed to apply, another worker holds it) is billed only up to it."""
    changes = apply_due_status_changes(as_of=as_of)
    billed = billing_pass(as_of=as_of, horizon=billing_horizon).as_dict()
    return {"status_changes": changes, "billing": billed}
