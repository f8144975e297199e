"""What billing registers with the ground: the billing pass (second in the business day's order), what its
services record in the audit log, its card on the account Overview, and its part of the API docs."""

from datetime import timedelta

from celery.schedules import crontab

from engage.api_schema import register_api
from engage.audit import register_audit
from engage.panels import Panel, register_panel
from engage.roles import register_role_permissions
from engage.schedule import ScheduledPass, register_pass

from .models import BillingAudit, Invoice, Package, Payment, UsageRecord, UserPackage
from .passes import PASS_NAME, bill_day
from .selectors import account_billing_summary

register_pass(ScheduledPass(
    "billing-pass", "billing.tasks.billing_pass_task", crontab(hour=1, minute=0), "daily at 01:00", 6 * 3600,
    name=PASS_NAME, label="Billing pass", limit=timedelta(hours=26), day_order=1, run=bill_day,
))
register_audit(actions=BillingAudit, audited=(Package, UserPackage, UsageRecord, Invoice, Payment))
register_panel(Panel("accounts.overview", 10, "billing/_overview.html",
                     lambda account, request: {"billing": account_billing_summary(account.pk)}))
register_api(
    tags=[(40, "Billing", "Packages, user packages, usage, charges and credits, invoices, payments, Bill Account.")],
    segments={"bill": "Billing", "charges": "Billing", "packages": "Billing", "usage": "Billing",
              "payments": "Billing", "invoices": "Billing"},
    summaries={
        "v1_accounts_bill_create": "Bill Account: bill what is due today",
        "v1_accounts_charges_list": "List an account's charges and credits",
        "v1_accounts_packages_list": "List an account's user packages",
        "v1_accounts_packages_create": "Sell a package to an account",
        "v1_accounts_usage_list": "List an account's usage records",
        "v1_accounts_usage_create": "Record rated usage",
        "v1_accounts_payments_list": "List an account's payments",
        "v1_accounts_payments_create": "Record a payment, or reverse a mistaken one",
        "v1_accounts_invoices_list": "List an account's invoices and credit notes with what is paid",
        "v1_packages_list": "List the package catalogue",
        "v1_packages_create": "Add a package to the catalogue",
    },
    conflicts={("post", "/api/v1/accounts/{account_id}/bill/"), ("post", "/api/v1/accounts/{account_id}/payments/")},
)
register_role_permissions("billing", support=["view", "add", "change"])
