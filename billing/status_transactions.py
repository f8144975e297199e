"""The money of a status change (SPEC §5, options table), behind two doors for the engine in accounts/:

- `forecast_status_transactions`: what a change will bill on its date, computed in memory (a preview, a
  dated change): the billing pass's periods before it and the earlier pending changes are played on the
  same package objects first. Saves nothing.
- `bill_status_changes`: write the money of changes being applied, whose account rows the engine holds
  locked: what the daily runs would have billed before each date, then each change's lines, invoices and
  next bill dates, in a few set-based statements whatever the number of changes.

Billing knows nothing of accounts beyond the ORM: a change reaches it as a `Move` (back-end statuses,
option, date).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import F

from statuses.rules import ChangeOption, bills_packages, bills_usage, is_billing_inert

from .lines import bill_locked_accounts, package_line, package_lines, period_line, set_next_bill_dates, write_invoices
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


@dataclass(frozen=True)
class Move:
    """A status change as billing sees it: the back-end statuses it moves between, its option and date.
    `applies` is False for a pending change that its date will refuse (it moves nothing; billing goes on)."""

    from_backend: str
    to_backend: str
    option: str
    effective_date: date
    applies: bool = True


def _bill_in_memory(packages: list[UserPackage], bill_day: int, through: date) -> list[ChargeLine]:
    """What the billing pass will bill of these packages through `through`, period by period; advances
    their next bill dates in memory only (a forecast: nothing is saved)."""
    return [line for up in packages for line in package_lines(up, bill_day, through)]


def _plan(packages, bill_day: int, move: Move) -> list[PackagePlan]:
    return plan_status_transactions(packages=packages, bill_day=bill_day, from_backend=move.from_backend,
                                    to_backend=move.to_backend, option=move.option,
                                    effective_date=move.effective_date)


def forecast_status_transactions(
    *, account_id: int, bill_day: int, earlier: Sequence[Move], change: Move,
    packages: list[UserPackage] | None = None,
) -> tuple[list[PackagePlan], list[ChargeLine]]:
    """What `change` will bill on its date, in memory: first what happens before it (the billing pass's
    periods through the day before each earlier move, with the status then in effect; the earlier moves'
    own plans), then the change. Returns (its plans, the lines billed before it). `packages`, the account's
    active user packages when the caller has read them, are moved in memory only."""
    packages = active_packages(account_id) if packages is None else packages
    billed: list[ChargeLine] = []
    for move in earlier:  # each move's from_backend is the status in effect just before it
        if bills_packages(move.from_backend):
            billed += _bill_in_memory(packages, bill_day, move.effective_date - timedelta(days=1))
        if move.applies:
            for plan in _plan(packages, bill_day, move):
                if plan.moves:
                    plan.user_package.next_bill_date = plan.next_bill_date
    if bills_packages(change.from_backend):
        billed += _bill_in_memory(packages, bill_day, change.effective_date - timedelta(days=1))
    return _plan(packages, bill_day, change), billed


@dataclass(frozen=True)
class ChangeBilling:
    """A change being applied, for `bill_status_changes`: its account (row locked by the caller), the
    account's bill day, the move, and the change's id (its lines name it)."""

    account_id: int
    bill_day: int
    move: Move
    change_id: int


def _bill_before(items: Sequence[ChangeBilling]) -> dict[int, list[ChargeLine]]:
    """Time in order (SPEC §6): before a change dated d takes effect, bill what the daily runs would have
    billed through the day before, with the status in effect then. Nothing when they did. One billing
    write per distinct date of the batch."""
    by_day: dict[date, list[ChangeBilling]] = defaultdict(list)
    for item in items:
        by_day[item.move.effective_date].append(item)
    billed: dict[int, list[ChargeLine]] = defaultdict(list)
    for day, group in sorted(by_day.items()):
        package_accounts = {i.account_id for i in group if bills_packages(i.move.from_backend)}
        usage_accounts = {i.account_id for i in group if bills_usage(i.move.from_backend)}
        if not (package_accounts or usage_accounts):
            continue
        _invoices, lines = bill_locked_accounts(
            {i.account_id: i.bill_day for i in group if i.account_id in package_accounts | usage_accounts},
            package_accounts=package_accounts, usage_accounts=usage_accounts, as_of=day - timedelta(days=1),
        )
        for line in lines:
            billed[line.account_id].append(line)
    return billed


def bill_status_changes(items: Sequence[ChangeBilling]) -> dict[int, tuple[list[PackagePlan], list[ChargeLine]]]:
    """Write the money of changes being applied, at most one per account: what was due before each date,
    then each change's lines (naming the change) in one invoice per account and date, and the packages' new
    next bill dates. Returns {account id: (plans, lines billed before)}."""
    if not items:
        return {}
    billed = _bill_before(items)
    packages = active_packages_of([item.account_id for item in items], lock=True)
    result, lines_by_invoice, moved = {}, {}, []
    for item in items:
        plans = _plan(packages.get(item.account_id, []), item.bill_day, item.move)
        result[item.account_id] = (plans, billed.get(item.account_id, []))
        lines = [line for plan in plans for line in plan.lines]
        for line in lines:
            line.status_change_id = item.change_id
        if lines:
            lines_by_invoice[item.account_id, item.move.effective_date] = lines
        moved += [plan for plan in plans if plan.moves]
    write_invoices(lines_by_invoice)
    for plan in moved:
        plan.user_package.next_bill_date = plan.next_bill_date
    set_next_bill_dates([plan.user_package for plan in moved])
    return result


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
