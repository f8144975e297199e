"""The billing pass as the scheduler runs it: due status changes first, then billing (SPEC §6)."""

from datetime import date

from billing.passes import billing_pass

from .status_changes import apply_due_status_changes


def run_billing(*, as_of: date) -> dict:
    changes = apply_due_status_changes(as_of=as_of)
    billed = billing_pass(as_of=as_of).as_dict()
    return {"status_changes": changes, "billing": billed}
