"""What provisioning registers with the ground: the provisioning pass and the switch audit, its card on the
account Overview, and its part of the API docs."""

from datetime import timedelta

from celery.schedules import crontab

from engage.api_schema import register_api
from engage.panels import Panel, register_panel
from engage.schedule import ScheduledPass, register_pass

from .audit import AUDIT_PASS_NAME
from .passes import PASS_NAME
from .selectors import provisioning_summary

register_pass(ScheduledPass(
    "provisioning-pass", "provisioning.tasks.provisioning_pass_task", 300.0, "every 5 minutes", 290,
    name=PASS_NAME, label="Provisioning pass", limit=timedelta(minutes=15),
))
register_pass(ScheduledPass(
    "switch-audit", "provisioning.tasks.switch_audit_task", crontab(hour=2, minute=30), "daily at 02:30", 6 * 3600,
    name=AUDIT_PASS_NAME, label="Switch audit", limit=timedelta(hours=26),
    found=(
        "{n} account was not in its desired state on the switch; a job was written to repair it",
        "{n} accounts were not in their desired state on the switch; jobs were written to repair them",
    ),
))
register_panel(Panel("accounts.overview", 30, "provisioning/_overview.html",
                     lambda account, request: {"provisioning": provisioning_summary(account.pk)}))
register_api(
    tags=[(50, "Provisioning", "What the network switch holds for an account.")],
    segments={"provisioning": "Provisioning"},
    summaries={"v1_accounts_provisioning_retrieve": "Read an account's provisioning state"},
)
