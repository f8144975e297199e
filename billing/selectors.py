"""Billing reads: what the Overview and the API show of an account's billing."""

from decimal import Decimal

from django.db.models import Sum

from .models import ChargeLine, Invoice, Package, UsageRecord, UserPackage
from .proration import money

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


def account_balance(account_id: int) -> Decimal:
    total = ChargeLine.objects.filter(account_id=account_id).aggregate(total=Sum("amount"))["total"]
    # SQLite sums decimals as floats: round back to cents.
    return money(total) if total is not None else Decimal("0.00")


def account_billing_summary(account_id: int) -> dict:
    """The Overview's billing section: user packages with their next bill date, the recent charge lines
    and invoices, and the balance (every line, charges and credits). Four queries whatever the account holds."""
    return {
        "packages": list(user_packages(account_id)),
        "lines": list(charge_lines(account_id)[:RECENT_LINES]),
        "invoices": list(Invoice.objects.filter(account_id=account_id).order_by("-pk")[:RECENT_INVOICES]),
        "balance": account_balance(account_id),
    }
