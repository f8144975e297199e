"""The transactions of a status change (SPEC §5, options table): planned for a preview, or written.

The status-change engine in accounts/ calls these with the account row already locked; billing
knows nothing of accounts beyond the ORM. Plans work on user packages in memory, so the engine can
also forecast a future change: the billing pass's periods before its date and the earlier pending
changes are played on the same objects first (`bill_in_memory`).
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import F

from statuses.rules import ChangeOption, bills_packages, is_billing_inert

from .lines import package_line, package_lines, period_line
from .models import ChargeKind, ChargeLine, UserPackage, UserPackageStatus
from .proration import money, period_containing, prorate


@dataclass
class PackagePlan:
    """One package's part of a change: unsaved lines and its new next bill date (None: unchanged)."""

    user_package: UserPackage
    lines: list[ChargeLine] = field(default_factory=list)
    next_bill_date: date | None = None

    @property
    def moves(self) -> bool:
        return self.next_bill_date is not None and self.next_bill_date != self.user_package.next_bill_date


def active_packages(account_id: int, *, lock: bool = False) -> list[UserPackage]:
    """The account's active user packages (locked for a change that is being written)."""
    packages = (
        UserPackage.objects.filter(account_id=account_id, status=UserPackageStatus.ACTIVE)
        .select_related("package")
        .order_by("pk")
    )
    if lock:
        packages = packages.select_for_update(of=("self",))
    return list(packages)


def active_packages_of(account_ids, *, lock: bool = False) -> dict[int, list[UserPackage]]:
    """active_packages of many accounts in one query: {account id: its packages in pk order}."""
    by_account: dict[int, list[UserPackage]] = {}
    packages = (
        UserPackage.objects.filter(account_id__any=sorted(account_ids), status=UserPackageStatus.ACTIVE)
        .annotate(package_name=F("package__name"))  # the line's description, without a row per package
        .order_by("account_id", "pk")
    )
    if lock:
        packages = packages.select_for_update(of=("self",))
    for up in packages:
        by_account.setdefault(up.account_id, []).append(up)
    return by_account


def bill_in_memory(packages: list[UserPackage], bill_day: int, through: date) -> list[ChargeLine]:
    """What the billing pass will bill of these packages through `through`, period by period; advances
    their next bill dates in memory only (a forecast: nothing is saved)."""
    return [line for up in packages for line in package_lines(up, bill_day, through)]


def move_in_memory(plans: list[PackagePlan]) -> None:
    """Let a planned change's next bill dates stand in memory, for what is planned after it."""
    for plan in plans:
        if plan.moves:
            plan.user_package.next_bill_date = plan.next_bill_date


def plan_status_transactions(
    *,
    packages: list[UserPackage],
    bill_day: int,
    from_backend: str,
    to_backend: str,
    option: str,
    effective_date: date,
) -> list[PackagePlan]:
    """What the change does to each active user package: lines and new next bill dates.

    Leaving billing (cancel, suspend): prorated credits the unused, already billed part [d, e) and
    sets n = d; full charges [s, e) when it is not billed yet and sets n = e; no transaction and
    period end do nothing. Entering billing (enable): prorated bills the not yet billed part from d;
    full charges [s, e) in full; either way, and with no transaction, n becomes e; period end moves n
    up to the bill day. Between two statuses that bill alike nothing happens.
    """
    plans = [PackagePlan(up) for up in packages]
    if is_billing_inert(from_backend, to_backend):
        return plans
    enabling = bills_packages(to_backend)
    s, e = period_containing(bill_day, effective_date)
    d = effective_date
    prorated = option in (ChangeOption.PRORATED, ChangeOption.SPECIFIC_DATE)
    for plan in plans:
        up = plan.user_package
        n = up.next_bill_date
        if option == ChangeOption.FULL and n < e:  # enable, or a cancel of a period not billed yet
            plan.lines.append(package_line(up, ChargeKind.RECURRING, money(up.amount), s, e))
            plan.next_bill_date = e
        elif enabling and prorated and n < e:
            # Only what is not billed yet: from d, or from n where n is later.
            plan.lines.append(period_line(up, max(d, n), bill_day))
            plan.next_bill_date = e
        elif enabling and option == ChangeOption.NO_TRANSACTION:
            plan.next_bill_date = max(n, e)
        elif enabling and option == ChangeOption.PERIOD_END:
            plan.next_bill_date = max(n, d)
        elif not enabling and prorated and n >= e and up.start_date <= d:
            credit = -prorate(up.amount, d, s, e)
            plan.lines.append(package_line(up, ChargeKind.PRORATED_CREDIT, credit, d, e))
            plan.next_bill_date = d
    return plans
