"""Every scheduled pass, written once: beat runs this table (engage/celery.py) and scheduler health checks
it (reporting/health.py), so the schedule shown, the schedule run and the lateness rule cannot drift.

Loaded with the Celery app, before Django's apps: it imports no model (PassRun.Name is PassName)."""

from dataclasses import dataclass
from datetime import timedelta

from celery.schedules import crontab
from django.db import models


class PassName(models.TextChoices):
    """The passes that record their runs (PassRun.name)."""

    APPLY_STATUS_CHANGES = "apply_status_changes", "Apply due status changes"
    BILLING = "billing", "Billing pass"
    PROVISIONING = "provisioning", "Provisioning pass"
    COLLECTIONS = "collections", "Collections pass"
    STATISTICS_SNAPSHOT = "statistics_snapshot", "Statistics snapshot"
    SWITCH_AUDIT = "switch_audit", "Switch audit"


@dataclass(frozen=True)
class ScheduledPass:
    entry: str  # beat's name for it
    task: str
    when: float | crontab  # seconds between runs, or a crontab
    schedule: str  # `when` in words
    expires: int  # seconds: a run not started by then is dropped (the next one comes)
    name: str | None = None  # the PassRun it records; scheduler health watches those
    limit: timedelta | None = None  # late when no success for this long: the interval plus slack
    found: tuple[str, str] | None = None  # what PassRun.found counts, "{n} …" (one, many): warned while > 0

    @property
    def label(self) -> str:
        return PassName(self.name).label if self.name else self.entry


SCHEDULE: tuple[ScheduledPass, ...] = (
    ScheduledPass(
        "apply-due-status-changes", "accounts.tasks.apply_due_status_changes_task", 60.0, "every minute", 55,
        PassName.APPLY_STATUS_CHANGES, timedelta(minutes=5),
    ),
    ScheduledPass(
        "provisioning-pass", "provisioning.tasks.provisioning_pass_task", 300.0, "every 5 minutes", 290,
        PassName.PROVISIONING, timedelta(minutes=15),
    ),
    ScheduledPass(
        "billing-pass", "accounts.tasks.billing_pass_task", crontab(hour=1, minute=0), "daily at 01:00", 6 * 3600,
        PassName.BILLING, timedelta(hours=26),
    ),
    ScheduledPass(  # after the billing pass (01:00), whose invoices and credit notes it reads
        "collections-pass", "dunning.tasks.collections_pass_task", crontab(hour=2, minute=0), "daily at 02:00",
        6 * 3600, PassName.COLLECTIONS, timedelta(hours=26),
    ),
    ScheduledPass(
        "statistics-snapshot", "reporting.tasks.statistics_snapshot_task", crontab(hour=0, minute=5),
        "daily at 00:05", 6 * 3600, PassName.STATISTICS_SNAPSHOT, timedelta(hours=26),
    ),
    ScheduledPass(
        "switch-audit", "provisioning.tasks.switch_audit_task", crontab(hour=2, minute=30), "daily at 02:30",
        6 * 3600, PassName.SWITCH_AUDIT, timedelta(hours=26),
        found=(
            "{n} account was not in its desired state on the switch; a job was written to repair it",
            "{n} accounts were not in their desired state on the switch; jobs were written to repair them",
        ),
    ),
    ScheduledPass("outbox-relay", "engage.outbox.relay", 60.0, "every minute", 55),
    ScheduledPass(
        "prune-pass-runs", "engage.tasks.prune_pass_runs_task", crontab(hour=3, minute=30), "daily at 03:30",
        6 * 3600,
    ),
)


def beat_schedule() -> dict:
    return {p.entry: {"task": p.task, "schedule": p.when, "options": {"expires": p.expires}} for p in SCHEDULE}


def watched_passes() -> list[ScheduledPass]:
    """The passes scheduler health checks, in the order it shows them."""
    return [p for p in SCHEDULE if p.name]


def scheduled(name: str) -> ScheduledPass:
    return next(p for p in SCHEDULE if p.name == name)
