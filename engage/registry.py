"""What the ground registers of its own: its audit actions and its housekeeping on beat's schedule."""

from celery.schedules import crontab

from .audit import register_audit
from .models import AuditAction
from .roles import register_role_permissions
from .schedule import ScheduledPass, register_pass

register_audit(actions=AuditAction, audited=("user", "API token", "two-factor sign-in", "sign-in lock-out"))
register_pass(ScheduledPass("outbox-relay", "engage.outbox.relay", 60.0, "every minute", 55))
register_pass(ScheduledPass(
    "prune-once-keys", "engage.tasks.prune_once_keys_task", crontab(hour=3, minute=40), "daily at 03:40", 6 * 3600,
))
register_pass(ScheduledPass(
    "prune-sign-ins", "engage.tasks.prune_sign_ins_task", crontab(hour=3, minute=45), "daily at 03:45", 6 * 3600,
))
register_pass(ScheduledPass(
    "prune-pass-runs", "engage.tasks.prune_pass_runs_task", crontab(hour=3, minute=30), "daily at 03:30", 6 * 3600,
))
register_role_permissions("engage", support=[])
