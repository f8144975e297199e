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
from decimal import Decimal

from django.db.models import F, OuterRef, Subquery

from statuses.rules import ChangeOption, bills_packages, bills_usage, is_billing_inert

from .lines import (
    bill_locked_accounts,
    package_label,
    package_line,
    package_lines,
    period_line,
    set_next_bill_dates,
    write_invoices,
)
from .models import ChargeKind, ChargeLine, UserPackage, UserPackageStatus
from .proration import ZERO, add_months, money, months_from, period_containing, prorate


@dataclass
class PackagePlan:
    """One package's part of a change: unsaved lines and its new next bill date (None: unchanged)."""

    user_package: UserPackage
    lines: list[ChargeLine] = field(default_factory=list)
    next_bill_date: date | None = None

    @property
    def moves(self) -> bool:
        return self.next_bill_date is not None and self.next_bill_date != self.user_package.next_bill_date


def _billed_through():
    """The end of the last period the billing pass billed of the package (its line of the unique key)."""
    return Subquery(ChargeLine.objects.filter(
        user_package=OuterRef("pk"), status_change__isnull=True,
        kind__in=[ChargeKind.RECURRING, ChargeKind.PRORATED_CHARGE],
    ).order_by("-period_start").values("period_end")[:1])


def active_packages(account_id: int, *, lock: bool = False) -> list[UserPackage]:
    """The account's active user packages (locked for a change that is being written)."""
    packages = (
        UserPackage.objects.filter(account_id=account_id, status=UserPackageStatus.ACTIVE)
        .select_related("package")
        .annotate(billed_through=_billed_through())
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
        .annotate(package_name=F("package__name"),  # the line's description, without a row per package
                  billed_through=_billed_through())
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


@dataclass
class BilledBefore:
    """What the billing pass bills of one package before a forecast change, summed (SPEC §5: a preview's cost
    grows with the packages, not with the periods to its date): how many periods, from when to when, and the
    amount. `lines` holds each period's line only when the forecast was asked for them."""

    user_package_id: int | None  # None: a usage record's line
    description: str
    periods: int = 0
    amount: Decimal = ZERO
    period_start: date | None = None
    period_end: date | None = None
    lines: list[ChargeLine] = field(default_factory=list)

    def add(self, periods: int, amount: Decimal, start: date, end: date) -> None:
        self.periods += periods
        self.amount += amount
        self.period_start = start if self.period_start is None else min(self.period_start, start)
        self.period_end = end if self.period_end is None else max(self.period_end, end)


def _bill_in_memory(packages: list[UserPackage], bill_day: int, through: date,
                    billed: dict[int, BilledBefore], *, lines: bool) -> None:
    """What the billing pass will bill of these packages through `through`, summed into `billed` per package;
    advances their next bill dates in memory only (a forecast: nothing is saved). The first period (which may
    be prorated) is a real line; the full periods after it are counted, not built, unless `lines` asks."""
    for up in packages:
        n = up.next_bill_date
        if n > through:
            continue
        entry = billed.setdefault(up.pk, BilledBefore(up.pk, package_label(up)))
        if lines:
            found = package_lines(up, bill_day, through)
            entry.lines += found
            entry.add(len(found), sum((line.amount for line in found), ZERO), found[0].period_start,
                      found[-1].period_end)
            continue
        first = period_line(up, n, bill_day)
        full = months_from(first.period_end, through)
        end = add_months(first.period_end, full)
        entry.add(1 + full, first.amount + full * money(up.amount), n, end)
        up.next_bill_date = end


def _plan(packages, bill_day: int, move: Move) -> list[PackagePlan]:
    return plan_status_transactions(packages=packages, bill_day=bill_day, from_backend=move.from_backend,
                                    to_backend=move.to_backend, option=move.option,
                                    effective_date=move.effective_date)


def summarise(lines: Sequence[ChargeLine]) -> list[BilledBefore]:
    """Lines billed for real (what a change now bills first), summed the way a forecast is: per package, and
    each usage line on its own; the lines kept."""
    billed: dict = {}
    for line in lines:
        key = line.user_package_id if line.user_package_id is not None else ("usage", id(line))
        entry = billed.setdefault(key, BilledBefore(line.user_package_id, line.description))
        entry.lines.append(line)
        entry.add(1, line.amount, line.period_start, line.period_end)
    return list(billed.values())


def forecast_status_transactions(
    *, account_id: int, bill_day: int, earlier: Sequence[Move], change: Move,
    packages: list[UserPackage] | None = None, lines: bool = False,
) -> tuple[list[PackagePlan], list[BilledBefore]]:
    """What `change` will bill on its date, in memory: first what happens before it (the billing pass's
    periods through the day before each earlier move, with the status then in effect; the earlier moves'
    own plans), then the change. Returns (its plans, what is billed before it, summed per package; with
    `lines`, each period's line too). Its cost grows with the packages and the moves, not with the periods.
    `packages`, the account's active user packages when the caller has read them, are moved in memory only."""
    packages = active_packages(account_id) if packages is None else packages
    billed: dict[int, BilledBefore] = {}
    for move in earlier:  # each move's from_backend is the status in effect just before it
        if bills_packages(move.from_backend):
            _bill_in_memory(packages, bill_day, move.effective_date - timedelta(days=1), billed, lines=lines)
        if move.applies:
            for plan in _plan(packages, bill_day, move):
                if plan.moves:
                    plan.user_package.next_bill_date = plan.next_bill_date
    if bills_packages(change.from_backend):
        _bill_in_memory(packages, bill_day, change.effective_date - timedelta(days=1), billed, lines=lines)
    return _plan(packages, bill_day, change), list(billed.values())


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
        billing = package_accounts | usage_accounts
        _invoices, lines = bill_locked_accounts(
            {i.account_id: i.bill_day for i in group if i.account_id in billing},
            package_accounts=package_accounts, usage_accounts=usage_accounts, as_of=day - timedelta(days=1),
        )
        for line in lines:
            billed[line.account_id].append(line)
    return billed


def bill_status_changes(items: Sequence[ChangeBilling]) -> dict[int, tuple[list[PackagePlan], list[BilledBefore]]]:
    """Write the money of changes being applied, at most one per account: what was due before each date,
    then each change's lines (naming the change) in one invoice per account and date, and the packages' new
    next bill dates. Returns {account id: (plans, what was billed before, summed per package)}."""
    if not items:
        return {}
    billed = _bill_before(items)
    packages = active_packages_of([item.account_id for item in items], lock=True)
    result, lines_by_invoice, moved = {}, {}, []
    for item in items:
        plans = _plan(packages.get(item.account_id, []), item.bill_day, item.move)
        result[item.account_id] = (plans, summarise(billed.get(item.account_id, [])))
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

    Leaving billing (cancel, suspend): prorated credits every part already billed from d on — the unused
    part [d, e) of the current period and any later period billed, [e, n) — and sets n = d; full charges
    [s, e) when it is not billed yet and sets n = e; no transaction and period end do nothing. Entering
    billing (enable): prorated bills the not yet billed part from d; full charges [s, e) in full; either way,
    and with no transaction, n becomes e; period end moves n up to the bill day. Between two statuses that bill
    alike nothing happens.

    A next bill date never ends up behind a period the billing pass billed (`billed_through`, the end of its
    last such line): an enable after a credit that went beyond the current period charges up to there (or,
    with no transaction, leaves those periods uncharged), so the pass never bills a period twice. With the
    passes run one day at a time no change meets a period billed beyond its own; this keeps it true anyway.
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
        # Periods from e the billing pass billed and a credit took back: the pass never bills them again.
        w = max(e, getattr(up, "billed_through", None) or e)
        later = months_from(e, w - timedelta(days=1))  # full periods in [e, w)
        if option == ChangeOption.FULL and n < e:  # enable, or a cancel of a period not billed yet
            plan.lines.append(package_line(up, ChargeKind.RECURRING, money(up.amount) * (1 + later), s, w))
            plan.next_bill_date = w
        elif enabling and prorated and n < e:
            # Only what is not billed yet: from d, or from n where n is later.
            line = period_line(up, max(d, n), bill_day)
            if later:
                line.amount += later * money(up.amount)
                line.period_end = w
            plan.lines.append(line)
            plan.next_bill_date = w
        elif enabling and option == ChangeOption.NO_TRANSACTION:
            plan.next_bill_date = max(n, w)
        elif enabling and option == ChangeOption.PERIOD_END:  # d is a bill day: billing starts with its period
            plan.next_bill_date = max(n, d, getattr(up, "billed_through", None) or d)
        elif not enabling and prorated and n >= e and up.start_date <= d:
            # Every part already billed from d on: the rest of the current period, and each later period.
            credit = -(prorate(up.amount, d, s, e) + months_from(e, n - timedelta(days=1)) * money(up.amount))
            plan.lines.append(package_line(up, ChargeKind.PRORATED_CREDIT, credit, d, n))
            plan.next_bill_date = d
    return plans
