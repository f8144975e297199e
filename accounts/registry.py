"""What accounts registers with the ground and with billing: the due-change pass (the first of the business
day), what its services record in the audit log, how far the billing pass may bill an account with a due
change not applied yet, and its part of the API docs."""

from datetime import timedelta

from billing.passes import register_horizon
from engage.api_schema import register_api
from engage.audit import register_audit
from engage.roles import register_role_permissions
from engage.schedule import ScheduledPass, register_pass
from statuses.usage import register_usage

from .engine import billing_horizon
from .models import Account, BulkStatusJob, StatusAudit, StatusChange
from .passes import PASS_NAME, apply_due_status_changes, changes_ahead
from .selectors import status_holds, type_account_counts

register_pass(ScheduledPass(
    "apply-due-status-changes", "accounts.tasks.apply_due_status_changes_task", 60.0, "every minute", 55,
    name=PASS_NAME, label="Apply due status changes", limit=timedelta(minutes=5),
    day_order=0, run=apply_due_status_changes, ahead=changes_ahead,
))
register_pass(ScheduledPass(
    "fold-status-counters", "accounts.tasks.fold_status_counters_task", 60.0, "every minute", 55,
))
register_horizon(billing_horizon)
register_usage(account_counts=type_account_counts, holds=status_holds)
register_audit(actions=StatusAudit, audited=(Account, StatusChange, BulkStatusJob))
register_api(
    tags=[
        (10, "Accounts", "Subscriber accounts: list (filters, cursor paging), create, read, edit."),
        (20, "Status changes", "Change an account's status now or on a date, preview it, list its history, remove "
                               "a pending change."),
        (30, "Bulk status changes", "One status change for many accounts: dry run, save, cancel, skipped accounts."),
    ],
    segments={"accounts": "Accounts", "status-changes": "Status changes", "bulk-status-changes": "Bulk status changes"},
    summaries={
        "v1_accounts_list": "List accounts",
        "v1_accounts_create": "Create an account",
        "v1_accounts_retrieve": "Read an account",
        "v1_accounts_partial_update": "Edit an account's name, e-mail or bill day",
        "v1_accounts_status_changes_list": "List an account's status changes (history and pending)",
        "v1_accounts_status_changes_create": "Change an account's status (now or on a date)",
        "v1_accounts_status_changes_preview_create": "Preview a status change (saves nothing)",
        "v1_status_changes_retrieve": "Read a status change",
        "v1_status_changes_destroy": "Remove a pending status change",
        "v1_bulk_status_changes_list": "List bulk status changes",
        "v1_bulk_status_changes_create": "Submit a bulk status change (a dry run unless dry_run is false)",
        "v1_bulk_status_changes_retrieve": "Read a bulk status change and its progress",
        "v1_bulk_status_changes_cancel_create": "Cancel a bulk status change after its current chunk",
        "v1_bulk_status_changes_save_create": "Run a checked bulk status change",
        "v1_bulk_status_changes_skipped_list": "List the accounts a bulk status change skipped, and why",
    },
    conflicts={
        ("post", "/api/v1/accounts/{account_id}/status-changes/"), ("delete", "/api/v1/status-changes/{id}/"),
        ("post", "/api/v1/bulk-status-changes/{id}/save/"), ("post", "/api/v1/bulk-status-changes/{id}/cancel/"),
    },
)
register_role_permissions("accounts", support=["view", "add", "change"])
