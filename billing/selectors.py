"""Billing reads: what the Overview and the API show of an account's billing."""


from .models import ChargeLine, Invoice, Package, UsageRecord, UserPackage
from .payments import allocate, balance, payments_total, recent_payments
from .proration import ZERO

RECENT_LINES = 20
RECENT_INVOICES = 10


def package_list():
    return Package.objects.order_by("name")


def user_packages(account_id: int):
    return UserPackage.objects.filter(account_id=account_id).select_related("package").order_by("pk")


def usage_records(account_id: int):
    return UsageRecord.objects.filter(account_id=account_id).order_by("-occurred_on", "-pk")


def charge_lines(account_id: int):
    return ChargeLine.objects.filter(account_id=account_id).order_by("-pk")


def invoice_lines(invoice: Invoice) -> list[ChargeLine]:
    return list(ChargeLine.objects.filter(invoice=invoice).order_by("pk"))


def account_billing_summary(account_id: int) -> dict:
    """The Overview's billing section: user packages with their next bill date, the recent charge lines,
    the recent invoices and credit notes with what is paid of each, the recent payments, and the balance
    (invoices and credit notes less payments, SPEC §11). Five queries whatever the account holds."""
    paid_in = payments_total(account_id)
    allocated = allocate(list(Invoice.objects.filter(account_id=account_id)), paid_in)
    return {
        "packages": list(user_packages(account_id)),
        "lines": list(charge_lines(account_id)[:RECENT_LINES]),
        "invoices": list(reversed(allocated))[:RECENT_INVOICES],
        "payments": list(recent_payments(account_id)),
        "balance": balance(sum((a.invoice.total for a in allocated), ZERO), paid_in),
    }
