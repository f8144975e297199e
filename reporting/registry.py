"""What reporting registers with the ground: the daily statistics snapshot, and its part of the API docs."""

from datetime import timedelta

from celery.schedules import crontab

from engage.api_schema import register_api
from engage.schedule import ScheduledPass, register_pass

from .statistics import SNAPSHOT_PASS_NAME

register_pass(ScheduledPass(
    "statistics-snapshot", "reporting.tasks.statistics_snapshot_task", crontab(hour=0, minute=5), "daily at 00:05",
    6 * 3600, name=SNAPSHOT_PASS_NAME, label="Statistics snapshot", limit=timedelta(hours=26),
))
register_api(
    tags=[(60, "Statistics", "Account Statistics, as in the sidebar, and the aging of overdue accounts.")],
    segments={"statistics": "Statistics"},
    summaries={
        "v1_statistics_retrieve": "Read Account Statistics",
        "v1_statistics_aging_retrieve": "Read the aging of overdue accounts (as the last collections pass counted)",
    },
)
