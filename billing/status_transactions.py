"""The transactions of a status change (SPEC §5, options table): planned for a preview, or written.

The status-change engine in accounts/ calls these with the account row already locked; billing
knows nothing of accounts beyond the ORM.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from statuses.rules import bills_packages, is_billing_inert

from .models import ChargeKind, ChargeLine, Invoice, UserPackage, UserPackageStatus
from .proration import period_containing, prorate

PRORATED = "immediately_with_prorated_transaction"
FULL = "immediately_with_full_transaction"
NO_TRANSACTION = "immediately_with_no_transaction"
PERIOD_END = "period_end"
SPECIFIC_DATE = "specific_date"


@dataclass
class PlannedLine:
    kind: str
    amount: Decimal
    period_start: date
    period_end: date

    @property
    def label(self) -> str:
        return ChargeKind(self.kind).label


@dataclass
class PackagePlan:
    user_package: UserPackage
    lines: list[PlannedLine] = field(default_factory=list)
    next_bill_date: date | None = None  # the new one, or None when unchanged

    @property
    def changed(self) -> bool:
        return bool(self.lines) or (
            self.next_bill_date is not None and self.next_bill_date != self.user_package.next_bill_date
        )


def plan_status_transactions(
    *,
    account_id: int,
    bill_day: int,
    from_backend: str,
    to_backend: str,
    option: str,
    effective_date: date,
    lock: bool = False,
) -> list[PackagePlan]:
    """What the change does to each active user package: lines and new next bill dates.

    Leaving billing (cancel, suspend): prorated credits the unused, already billed part [d, e) and
    sets n = d; full charges [s, e) when it is not billed yet and sets n = e; no transaction and
    period end do nothing. Entering billing (enable): prorated bills the not yet billed part from d;
    full charges [s, e) in full; either way, and with no transaction, n becomes e; period end moves n
    up to the bill day. Between two statuses that bill alike nothing happens.
    """
    packages = (
        UserPackage.objects.filter(account_id=account_id, status=UserPackageStatus.ACTIVE)
        .select_related("package")
        .order_by("pk")
    )
    if lock:
        packages = packages.select_for_update(of=("self",))
    packages = list(packages)
    if is_billing_inert(from_backend, to_backend):
        return [PackagePlan(up) for up in packages]
    enabling = bills_packages(to_backend)
    s, e = period_containing(bill_day, effective_date)
    d = effective_date
    plans = []
    for up in packages:
        plan = PackagePlan(up)
        n, amount = up.next_bill_date, up.amount
        if enabling:
            if option in (PRORATED, SPECIFIC_DATE):
                if n < e:
                    start = max(d, n)
                    kind = ChargeKind.RECURRING if start == s else ChargeKind.PRORATED_CHARGE
                    plan.lines.append(PlannedLine(kind, prorate(amount, start, s, e), start, e))
                    plan.next_bill_date = e
            elif option == FULL:
                if n < e:
                    plan.lines.append(PlannedLine(ChargeKind.RECURRING, amount, s, e))
                    plan.next_bill_date = e
            elif option == NO_TRANSACTION:
                plan.next_bill_date = max(n, e)
            elif option == PERIOD_END:
                plan.next_bill_date = max(n, d)
        else:
            if option in (PRORATED, SPECIFIC_DATE):
                if n >= e and up.start_date <= d:
                    plan.lines.append(PlannedLine(ChargeKind.PRORATED_CREDIT, -prorate(amount, d, s, e), d, e))
                    plan.next_bill_date = d
            elif option == FULL:
                if n < e:
                    plan.lines.append(PlannedLine(ChargeKind.RECURRING, amount, s, e))
                    plan.next_bill_date = e
        plans.append(plan)
    return plans


def write_status_transactions(
    *, account_id: int, status_change_id: int, plans: list[PackagePlan], issued_on: date
) -> list[ChargeLine]:
    """Write the planned lines (one invoice for them) and the new next bill dates, in the caller's
    transaction. The unique (status change, user package) constraint refuses a second write."""
    changed = [p for p in plans if p.changed]
    if not changed:
        return []
    lines_to_write = [(p, line) for p in changed for line in p.lines]
    invoice = None
    if lines_to_write:
        invoice = Invoice.objects.create(
            account_id=account_id, issued_on=issued_on, total=sum(line.amount for _p, line in lines_to_write)
        )
    lines = ChargeLine.objects.bulk_create(
        [
            ChargeLine(
                account_id=account_id,
                user_package=p.user_package,
                status_change_id=status_change_id,
                kind=line.kind,
                amount=line.amount,
                period_start=line.period_start,
                period_end=line.period_end,
                description=f"{p.user_package.package.name}: status change",
                invoice=invoice,
            )
            for p, line in lines_to_write
        ]
    )
    moved = []
    for p in changed:
        if p.next_bill_date is not None and p.next_bill_date != p.user_package.next_bill_date:
            p.user_package.next_bill_date = p.next_bill_date
            moved.append(p.user_package)
    UserPackage.objects.bulk_update(moved, ["next_bill_date"])
    return lines
