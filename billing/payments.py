"""Payments (SPEC §11): recorded, reversed (never deleted), and allocated to invoices oldest first.

Allocation is not stored: it follows from the totals. The money that pays invoices is every payment plus
every credit note (a negative invoice); it pays the invoices with a positive total in the order they were
issued (issue date, then id), each in full before the next. So an invoice's paid amount never exceeds its
total, the money allocated never exceeds the money received, a reversal un-pays the newest invoices first,
and a payment arriving before an invoice pays it when it is written — with nothing to keep in step."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Sum
from django.dispatch import Signal

from engage.audit import audit_record, snapshot, user_of
from engage.errors import ConflictError, DomainError
from engage.limits import DESCRIPTION_MAX_CHARS, check_amount, check_date, check_text
from engage.locks import lock_account

from .models import BillingAudit, Invoice, Payment, PaymentMethod
from .overdue import overdue_of
from .proration import ZERO, money

# Sent in the transaction of a payment or a reversal, with `account_id`: collections settles the account
# once it commits (dunning.restore).
payments_changed = Signal()


class InvoiceState(models.TextChoices):
    OPEN = "open", "Open"
    PARTLY_PAID = "partly_paid", "Partly paid"
    PAID = "paid", "Paid"


CREDIT_NOTE_STATE_LABELS = {
    InvoiceState.OPEN: "Unused", InvoiceState.PARTLY_PAID: "Partly used", InvoiceState.PAID: "Used",
}


@dataclass
class Allocated:
    """An invoice (or credit note) with the part of it allocated: for an invoice, what was paid of it; for a
    credit note, how much of it has gone to invoices (a positive number)."""

    invoice: Invoice
    paid: Decimal

    @property
    def size(self) -> Decimal:
        return abs(self.invoice.total)

    @property
    def unpaid(self) -> Decimal:
        return self.size - self.paid

    @property
    def state(self) -> str:
        if self.paid >= self.size:
            return InvoiceState.PAID
        return InvoiceState.PARTLY_PAID if self.paid > 0 else InvoiceState.OPEN

    def get_state_display(self) -> str:
        """An invoice is Open, Partly paid or Paid; a credit note is Unused, Partly used or Used."""
        if self.invoice.total < 0:
            return CREDIT_NOTE_STATE_LABELS[self.state]
        return InvoiceState(self.state).label

    @property
    def due_on(self) -> date:
        invoice = self.invoice
        return invoice.due_on or invoice.issued_on + timedelta(days=settings.ENGAGE_PAYMENT_TERMS_DAYS)


def allocate(invoices: list[Invoice], payments_total: Decimal) -> list[Allocated]:
    """Each invoice's allocated part, in the order given (oldest first). Credit notes are used before
    payments, oldest first."""
    ordered = sorted(invoices, key=lambda i: (i.issued_on, i.pk or 0))
    charges = sum((i.total for i in ordered if i.total > 0), ZERO)
    credits = sum((-i.total for i in ordered if i.total < 0), ZERO)
    money_in = max(ZERO, credits + payments_total)
    to_pay = min(money_in, charges)  # what goes to invoices
    credit_used = min(credits, to_pay)  # of which credit notes first
    result = []
    for invoice in ordered:
        if invoice.total > 0:
            part = min(invoice.total, to_pay)
            to_pay -= part
        else:
            part = min(-invoice.total, credit_used)
            credit_used -= part
        result.append(Allocated(invoice, part))
    return result


def payments_total(account_id: int) -> Decimal:
    total = Payment.objects.filter(account_id=account_id).aggregate(total=Sum("amount"))["total"]
    return money(total) if total is not None else ZERO


def balance(invoiced, paid_in: Decimal) -> Decimal:
    """SPEC §11: what the customer owes, invoices and credit notes less payments (below zero: in credit)."""
    return money(invoiced or 0) - paid_in


def account_invoices(account_id: int) -> list[Allocated]:
    """The account's invoices and credit notes, oldest first, each with its allocated part. Two queries."""
    return allocate(list(Invoice.objects.filter(account_id=account_id)), payments_total(account_id))


@dataclass
class Standing:
    balance: Decimal  # what the customer owes: invoices and credit notes less payments (below zero: in credit)
    overdue_amount: Decimal  # unpaid on invoices past their due date
    overdue_days: int  # days since the due date of the oldest invoice with something unpaid past due


def account_standing(account_id: int, as_of: date) -> Standing:
    """Balance now, and what is overdue on as_of (billing.overdue: the pass's own reading)."""
    invoiced = Invoice.objects.filter(account_id=account_id).aggregate(total=Sum("total"))["total"]
    overdue = overdue_of(account_id, as_of)
    return Standing(
        balance=balance(invoiced, payments_total(account_id)),
        overdue_amount=overdue.amount if overdue else ZERO,
        overdue_days=overdue.days if overdue else 0,
    )


@transaction.atomic
def payment_record(*, account_id: int, amount, paid_on, method: str, reference: str = "", actor=None,
                   today: date) -> Payment:
    """Money received: a positive amount, dated today or earlier, by one of the methods."""
    account_id = lock_account(account_id).pk
    amount = check_amount(amount, field="amount", label="Amount")
    if amount <= 0:
        raise DomainError("A payment is more than 0.00; to take one back, reverse it.", field="amount")
    paid_on = check_date(paid_on, field="paid_on", label="Date")
    if paid_on > today:
        raise DomainError("A payment cannot be dated in the future.", field="paid_on")
    if method not in PaymentMethod.values:
        raise DomainError(f"Pick a method: {', '.join(PaymentMethod.labels)}.", field="method")
    reference = check_text(reference, field="reference", label="Reference", max_chars=DESCRIPTION_MAX_CHARS)
    payment = Payment.objects.create(
        account_id=account_id, amount=amount, paid_on=paid_on, method=method, reference=reference,
        created_by=user_of(actor),
    )
    audit_record(action=BillingAudit.PAYMENT_RECEIVED, obj=payment,
                 after=snapshot(payment, ("amount", "paid_on", "method", "reference")))
    payments_changed.send(sender=Payment, account_id=account_id)
    return payment


@transaction.atomic
def payment_reverse(*, payment_id: int, reason: str, account_id: int | None = None, actor=None,
                    today: date) -> Payment:
    """Take back a mistaken payment: a negative payment of the same amount, today, with the reason. A
    payment is reversed at most once; a reversal is not reversed (record the payment again instead). With
    `account_id`, only a payment of that account."""
    payments = Payment.objects.filter(pk=payment_id)
    original = (payments if account_id is None else payments.filter(account_id=account_id)).first()
    if original is None:
        raise DomainError("No such payment on this account." if account_id else "Unknown payment.",
                          field="reverses")
    lock_account(original.account_id)
    original = Payment.objects.select_for_update().get(pk=original.pk)
    reason = check_text(reason, field="reason", label="Reason", max_chars=DESCRIPTION_MAX_CHARS, required=True)
    if original.amount < 0:
        raise DomainError("This is itself a reversal: record the payment again instead.", field="reverses")
    if Payment.objects.filter(reverses=original).exists():
        raise ConflictError(f"Payment {original.pk} was already reversed.")
    try:
        with transaction.atomic():
            reversal = Payment.objects.create(
                account_id=original.account_id, amount=-original.amount, paid_on=today, method=original.method,
                reference=original.reference, reason=reason, reverses=original,
                created_by=user_of(actor),
            )
    except IntegrityError:  # reversed at the same moment by someone else
        raise ConflictError(f"Payment {original.pk} was already reversed.") from None
    audit_record(action=BillingAudit.PAYMENT_REVERSED, obj=reversal,
                 object_repr=f"Reversal of payment {original.pk}",
                 after={**snapshot(reversal, ("amount", "paid_on", "reason")), "reverses": original.pk})
    payments_changed.send(sender=Payment, account_id=original.account_id)
    return reversal


def recent_payments(account_id: int, limit: int = 20):
    """The newest payments, each knowing whether it was reversed (`is_reversed`). One query."""
    reversed_ids = Payment.objects.filter(reverses=OuterRef("pk"))
    return (
        Payment.objects.filter(account_id=account_id).annotate(is_reversed=Exists(reversed_ids))
        .order_by("-paid_on", "-id")[:limit]
    )
