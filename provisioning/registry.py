"""What provisioning registers with the ground: the provisioning pass and the switch audit, its card on the
account Overview, its part of the API docs, the check of its settings, and its receiver of a status type's
new back-end status (the switch follows every account of the type)."""

from datetime import timedelta

from celery.schedules import crontab
from django.core import checks

from engage.api_schema import register_api
from engage.panels import Panel, register_panel
from engage.roles import register_role_permissions
from engage.schedule import ScheduledPass, register_pass
from statuses.signals import backend_status_changed

from .audit import AUDIT_PASS_NAME
from .checks import check_provisioning_settings
from .passes import PASS_NAME
from .selectors import provisioning_summary
from .services import on_backend_status_changed

checks.register(check_provisioning_settings)
backend_status_changed.connect(on_backend_status_changed, dispatch_uid="provisioning_backend_status_changed")

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
register_role_permissions("provisioning", support=["view"])
