"""The one engine that changes an account's status (SPEC §5), with one door: this module. Outside accounts/,
only the names below are imported (tests/engage/test_layering.py checks it).

Inside, a module per job, the way Zulip keeps `zerver/actions/`:
- rules.py: the request's own rules and the account's, on its timeline; the options offered;
- timeline.py: the pending changes as a timeline (pure rules over rows in memory);
- forecast.py: what a change will do on its date (the preview), computed in memory;
- writer.py: the one writer every path ends in (`apply_changes`), and what every path shares;
- single.py: one account's change asked by a person, and removing a pending one;
- batch.py: one request for many accounts (bulk change, collection steps, restores);
- due.py: applying pending changes whose date has come (accounts/passes.py is the pass);
- counters.py, signals.py, notifications.py, wording.py: counters, the signal for apps above, the
  status e-mail, how options are worded.
"""

from .batch import BATCH_MAX, BatchResult, SkipCode, change_status_batch
from .counters import (
    adjust_status_type_counts,
    counted_types,
    fold_status_type_counts,
    recount_status_types,
    status_type_counts_now,
)
from .due import DueOutcome, apply_due_change, apply_due_changes, due_change_ids
from .forecast import Outcome, preview_status_change
from .notifications import send_status_change_email
from .rules import IMMEDIATE_OPTIONS, change_request, options_for, resolve_effective_date
from .signals import status_changes_applied
from .single import STALE, account_change_status, status_change_remove
from .timeline import Position, Step, allowed_targets, billing_horizon, pending_changes_of, walk
from .wording import (
    OPTION_DEFINITIONS,
    component_definitions,
    describe_change,
    option_definitions,
    option_heading,
    pending_summary,
)

__all__ = [
    "BATCH_MAX", "BatchResult", "SkipCode", "change_status_batch",
    "adjust_status_type_counts", "counted_types", "fold_status_type_counts", "recount_status_types",
    "status_type_counts_now",
    "DueOutcome", "apply_due_change", "apply_due_changes", "due_change_ids",
    "Outcome", "preview_status_change",
    "send_status_change_email",
    "IMMEDIATE_OPTIONS", "change_request", "options_for", "resolve_effective_date",
    "status_changes_applied",
    "STALE", "account_change_status", "status_change_remove",
    "Position", "Step", "allowed_targets", "billing_horizon", "pending_changes_of", "walk",
    "OPTION_DEFINITIONS", "component_definitions", "describe_change", "option_definitions", "option_heading",
    "pending_summary",
]
