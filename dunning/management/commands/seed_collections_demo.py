"""`make run`'s demo of collections (SPEC §11): two collection steps, and a few accounts with an unpaid invoice
past its due date, so the dry run, the pass and the aging have something to show. Adds nothing twice."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max, Sum

from accounts.models import Account
from billing.models import Invoice, Payment, PaymentMethod
from dunning.models import CollectionStep
from dunning.steps import step_create
from engage.clock import today
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus, ChangeOption

OVERDUE = ((9, "29.99"), (16, "49.99"), (26, "69.94"), (45, "49.99"), (95, "19.95"))


class Command(BaseCommand):
    help = "Demo collection steps and a few overdue accounts (once)"

    @transaction.atomic
    def handle(self, *args, **options):
        if CollectionStep.objects.exists():
            self.stdout.write("Collection steps already exist; nothing added.")
            return
        step_create(name="Reminder after 7 days", days_overdue=7, min_amount="5.00", action="reminder",
                    subject="Account {number}: {overdue_amount} overdue",
                    body="Hello {name},\n\n{overdue_amount} has been overdue since {oldest_due_on}. "
                         "Please pay it to keep your service.\n")
        step_create(name="Suspend after 21 days", days_overdue=21, min_amount="20.00", action="status_change",
                    status_type=AccountStatusType.objects.filter(backend_status=BackendStatus.SUSPENDED).first(),
                    reason=StatusReason.objects.get(name__iexact="Non-payment"), option=ChangeOption.PRORATED)
        day = today()
        # A few customers owe an invoice past its due date; they paid only what fell due before it. (A payment
        # settles the oldest invoices first: paying their whole bill would settle the overdue one, and leave
        # a newer one, not yet due, open instead.)
        accounts = Account.objects.filter(status_type__backend_status=BackendStatus.ACTIVE).order_by("pk")
        overdue_since = {}
        for account, (days, total) in zip(accounts[3:3 + len(OVERDUE)], OVERDUE, strict=False):
            due = day - timedelta(days=days)
            overdue_since[account.pk] = due
            Invoice.objects.create(account=account, issued_on=due - timedelta(days=14), due_on=due,
                                   total=Decimal(total))
        # The others have paid what they were billed (each on its latest invoice's day).
        owed = (Invoice.objects.exclude(account_id__in=overdue_since).values("account_id")
                .annotate(total=Sum("total"), last=Max("issued_on")).filter(total__gt=0))
        paid = [(row["account_id"], row["total"], row["last"]) for row in owed]
        for account_id, due in overdue_since.items():
            before = Invoice.objects.filter(account_id=account_id, due_on__lt=due).aggregate(
                total=Sum("total"), last=Max("issued_on"))
            if before["total"] and before["total"] > 0:
                paid.append((account_id, before["total"], before["last"]))
        Payment.objects.bulk_create([
            Payment(account_id=account_id, amount=amount, paid_on=min(last, day),
                    method=PaymentMethod.DIRECT_DEBIT, reference="Demo")
            for account_id, amount, last in paid
        ])
        self.stdout.write(f"Collections: 2 steps, {len(overdue_since)} overdue accounts (Collections → dry run).")
