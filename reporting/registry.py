"""What reporting registers with the ground: the daily statistics snapshot and its part of the API docs; and
its receiver of the engine's applied changes (the changes-per-reason roll-up)."""

from datetime import timedelta

from celery.schedules import crontab

from accounts.engine import status_changes_applied
from engage.api_schema import register_api
from engage.roles import register_role_permissions
from engage.schedule import ScheduledPass, register_pass

from .reason_rollup import add_applied_changes
from .statistics import SNAPSHOT_PASS_NAME

status_changes_applied.connect(add_applied_changes, dispatch_uid="reporting.reason_rollup")

register_pass(ScheduledPass(
    "statistics-snapshot", "reporting.tasks.statistics_snapshot_task", crontab(hour=0, minute=5), "daily at 00:05",
    6 * 3600, name=SNAPSHOT_PASS_NAME, label="Statistics snapshot", limit=timedelta(hours=26),
))
register_pass(ScheduledPass(
    "fold-reason-counts", "reporting.tasks.fold_reason_counts_task", 60.0, "every minute", 55,
))
register_api(
    tags=[(60, "Statistics", "Account Statistics, as in the sidebar, and the aging of overdue accounts.")],
    segments={"statistics": "Statistics"},
    summaries={
        "v1_statistics_retrieve": "Read Account Statistics",
        "v1_statistics_aging_retrieve": "Read the aging of overdue accounts (as the last collections pass counted)",
    },
)
register_role_permissions("reporting", support=["view"])
