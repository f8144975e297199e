from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from engage.limits import (
    DESCRIPTION_MAX_CHARS,
    LINE_MAX_DIGITS,
    MAX_AMOUNT,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    PACKAGE_NAME_MAX_CHARS,
    TOTAL_MAX_DIGITS,
)


class BillingAudit(models.TextChoices):
    """What billing's services record in the audit log (registered in apps.py)."""

    BILL_ACCOUNT = "bill_account", "Bill Account"
    PACKAGE_SOLD = "package_sold", "Package sold"
    USAGE_ADDED = "usage_added", "Usage added"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    PAYMENT_REVERSED = "payment_reversed", "Payment reversed"


class Package(models.Model):
    """A catalogue package with a monthly price."""

    name = models.CharField(max_length=PACKAGE_NAME_MAX_CHARS, unique=True)
    price = models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="package_price_not_negative")]

    def __str__(self):
        return self.name


class UserPackageStatus(models.TextChoices):
    # A cancelled account's packages stay active: billing skips them because of the account.
    ACTIVE = "active", "Active"
    REMOVED = "removed", "Removed"


class UserPackage(models.Model):
    """A package sold to an account. Nothing from next_bill_date on is billed yet."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="user_packages")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    quantity = models.PositiveIntegerField(default=1)
    start_date = models.DateField()
    next_bill_date = models.DateField()
    status = models.CharField(max_length=10, choices=UserPackageStatus.choices, default=UserPackageStatus.ACTIVE)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="user_package_price_not_negative"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="user_package_quantity_positive"),
        ]
        indexes = [models.Index(fields=["next_bill_date", "account"], name="user_package_due_idx")]

    def __str__(self):
        return f"{self.package} × {self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


class InvoiceKind(models.TextChoices):
    """An invoice whose total is below zero (a suspension's credit, say) is a credit note: the money goes
    back to the customer. The same word on the Overview, the API and the Tools page."""

    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class Invoice(models.Model):
    """One account's new lines of one billing run; a credit note when they add up to less than zero."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_on = models.DateField()
    # issued_on + the payment terms then in force (ENGAGE_PAYMENT_TERMS_DAYS), set when it is written.
    due_on = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pk}"

    @property
    def kind(self) -> str:
        return InvoiceKind.CREDIT_NOTE if self.total < 0 else InvoiceKind.INVOICE

    def get_kind_display(self) -> str:
        return InvoiceKind(self.kind).label


class UsageRecord(models.Model):
    """Already-rated usage; billed once, by the invoice that carries it."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="usage_records")
    amount = models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    occurred_on = models.DateField()
    description = models.CharField(max_length=DESCRIPTION_MAX_CHARS, blank=True)
    billed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        # A negative amount is an adjustment (SPEC §9), bounded like any other amount.
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=-MAX_AMOUNT), name="usage_amount_at_least_min")
        ]
        indexes = [
            models.Index(fields=["account", "occurred_on"], condition=models.Q(billed=False), name="usage_unbilled_idx")
        ]


class ChargeKind(models.TextChoices):
    RECURRING = "recurring", "Recurring"
    PRORATED_CHARGE = "prorated_charge", "Prorated charge"
    PRORATED_CREDIT = "prorated_credit", "Prorated credit"
    USAGE = "usage", "Usage"


class ChargeLine(models.Model):
    """A charge (positive) or credit (negative). The database refuses a second charge for a period."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="charge_lines")
    user_package = models.ForeignKey(UserPackage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    usage_record = models.OneToOneField(
        UsageRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="charge_line"
    )
    status_change = models.ForeignKey(
        "accounts.StatusChange", on_delete=models.PROTECT, null=True, blank=True, related_name="charge_lines"
    )
    kind = models.CharField(max_length=20, choices=ChargeKind.choices)
    amount = models.DecimalField(max_digits=LINE_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=DESCRIPTION_MAX_CHARS, blank=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="lines")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One billing-pass line (recurring or prorated up to the bill day) per package and period.
            models.UniqueConstraint(
                fields=["user_package", "period_start"],
                condition=models.Q(status_change__isnull=True, kind__in=["recurring", "prorated_charge"]),
                name="charge_line_one_per_package_period",
            ),
            # One proration line per status change and package.
            models.UniqueConstraint(
                fields=["status_change", "user_package"],
                condition=models.Q(status_change__isnull=False),
                name="charge_line_one_per_change_package",
            ),
        ]
        indexes = [models.Index(fields=["account", "-id"], name="charge_line_account_idx")]


class BillingFailure(models.Model):
    """An account a billing run could not bill; the run went on without it. Resolved once billing the
    account works again (a later run, or Bill Account), which takes it off scheduler health."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    error = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


class Payment(models.Model):
    """Money received from the customer (SPEC §11). Never deleted: a mistaken payment is reversed by a
    negative payment with a reason, which names the payment it reverses. Payments and credit notes are
    allocated to invoices oldest first (billing.payments)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=DESCRIPTION_MAX_CHARS, blank=True)
    reason = models.CharField(max_length=DESCRIPTION_MAX_CHARS, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["account", "paid_on", "id"], name="payment_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="payment_not_zero"),
            # A negative payment is a reversal: it names what it reverses and why.
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, reverses__isnull=True)
                | models.Q(amount__lt=0, reverses__isnull=False) & ~models.Q(reason=""),
                name="payment_reversal_has_reason",
            ),
        ]

    def __str__(self):
        return f"Payment {self.pk}: {self.amount} on {self.paid_on:%Y-%m-%d}"
