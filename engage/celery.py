"""The Celery app. Tasks acknowledge late and have time limits (settings); beat entries are named."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "apply-due-status-changes": {
        "task": "accounts.tasks.apply_due_status_changes_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "billing-pass": {
        "task": "accounts.tasks.billing_pass_task",
        "schedule": crontab(hour=1, minute=0),
        "options": {"expires": 6 * 3600},
    },
    "provisioning-pass": {
        "task": "provisioning.tasks.provisioning_pass_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "prune-pass-runs": {
        "task": "engage.tasks.prune_pass_runs_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 6 * 3600},
    },
    "statistics-snapshot": {
        "task": "reporting.tasks.statistics_snapshot_task",
        "schedule": crontab(hour=0, minute=5),
        "options": {"expires": 6 * 3600},
    },
}
