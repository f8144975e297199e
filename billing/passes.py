"""The billing pass (SPEC §6): every account with something due, in pk-ordered chunks claimed with
SKIP LOCKED, each chunk billed by the code Bill Account and status changes share (billing/lines.py)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from engage.account_model import get_account_model, get_status_type_model
from engage.limits import DETAIL_MAX_CHARS, ERROR_MAX_CHARS
from engage.models import PassRun
from engage.pass_runs import recorded_pass, report
from statuses.rules import package_billing_statuses, usage_billing_statuses

from .lines import bill_locked_accounts
from .models import BillingFailure, ChargeLine, Invoice, UsageRecord, UserPackage, UserPackageStatus

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000  # account ids per claim (one transaction)


@dataclass
class BillingSummary:
    as_of: date
    accounts: int = 0
    lines: int = 0
    invoices: int = 0
    total: Decimal = Decimal("0.00")
    failed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    def add(self, invoices: list[Invoice], lines: list[ChargeLine]) -> None:
        self.accounts += len({invoice.account_id for invoice in invoices})
        self.invoices += len(invoices)
        self.lines += len(lines)
        self.total += sum((invoice.total for invoice in invoices), Decimal(0))

    def as_dict(self) -> dict:
        """JSON-safe (a Celery result, an API answer)."""
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "lines": self.lines,
            "invoices": self.invoices,
            "total": str(self.total),
            "failed": self.failed,
        }

    def __str__(self):
        text = (
            f"Billed {self.accounts} accounts as of {self.as_of}: {self.lines} lines, "
            f"{self.invoices} invoices, total {self.total}."
        )
        if self.failed:
            text += f" {self.failed} accounts failed: " + "; ".join(f"{a}: {e}" for a, e in self.failures[:20])
        return text


def _billing_type_ids() -> tuple[list[int], list[int]]:
    """Status types whose back-end status bills packages, and usage (the truth table, one small query)."""
    package_statuses, usage_statuses = set(package_billing_statuses()), set(usage_billing_statuses())
    package_types, usage_types = [], []
    for pk, backend_status in get_status_type_model().objects.values_list("pk", "backend_status"):
        if backend_status in package_statuses:
            package_types.append(pk)
        if backend_status in usage_statuses:
            usage_types.append(pk)
    return package_types, usage_types


def _claim(*, as_of: date, package_types, usage_types, exclude=(), id_range=None, only=None):
    """Lock the accounts of an id range (lo, hi] (or the ids `only`) that have something due, skipping rows
    another run holds. A range holds at most CHUNK_SIZE ids, so each claim probes the due-package index for
    that many accounts: claiming costs the same at every size (no rescan of every due package).

    The WHERE is on the account row itself (status type), so PostgreSQL re-checks it on the locked,
    latest row version."""
    due_packages = UserPackage.objects.filter(
        account_id=OuterRef("pk"), status=UserPackageStatus.ACTIVE, next_bill_date__lte=as_of
    )
    due_usage = UsageRecord.objects.filter(account_id=OuterRef("pk"), billed=False, occurred_on__lte=as_of)
    qs = get_account_model().objects.filter(
        (Q(status_type_id__in=package_types) & Exists(due_packages))
        | (Q(status_type_id__in=usage_types) & Exists(due_usage))
    )
    if only is not None:
        qs = qs.filter(pk__any=only)
    else:
        qs = qs.filter(pk__gt=id_range[0], pk__lte=id_range[1])
    if exclude:
        qs = qs.exclude(pk__any=sorted(exclude))
    return list(qs.select_for_update(skip_locked=True).order_by("pk").values_list("pk", "bill_day", "status_type_id"))


def account_id_bounds() -> tuple[int, int]:
    """(lo, hi]: every account id is in this range (the passes split it into parts and chunks)."""
    bounds = get_account_model().objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return 0, 0
    return bounds["lo"] - 1, bounds["hi"]


def split_range(id_range: tuple[int, int], size: int) -> list[tuple[int, int]]:
    """(lo, hi] cut into consecutive ranges of at most `size` ids."""
    lo, hi = id_range
    return [(start, min(start + size, hi)) for start in range(lo, hi, size)]


# Given the locked accounts' ids and the as-of date, the last day each may be billed through (the day
# before a change of its status that is due but not applied yet); accounts/ supplies it.
Horizon = Callable[[list[int], date], dict[int, date]]


def _bill_rows(rows, *, as_of, package_types, usage_types, horizon: Horizon | None):
    package_types, usage_types = set(package_types), set(usage_types)
    return bill_locked_accounts(
        {pk: bill_day for pk, bill_day, _ in rows},
        package_accounts={pk for pk, _, type_id in rows if type_id in package_types},
        usage_accounts={pk for pk, _, type_id in rows if type_id in usage_types},
        as_of=as_of,
        until=horizon([pk for pk, _, _ in rows], as_of) if horizon else None,
    )


def _bill_chunk_one_by_one(
    account_ids, *, as_of, package_types, usage_types, horizon, summary: BillingSummary
) -> set[int]:
    """The slow path after a chunk failed: each account in its own savepoint; a failing one is
    recorded and skipped. Returns the ids that failed."""
    failed = set()
    with transaction.atomic():
        rows = _claim(as_of=as_of, package_types=package_types, usage_types=usage_types, only=account_ids)
        failures = []
        for row in rows:
            try:
                with transaction.atomic():
                    invoices, lines = _bill_rows(
                        [row], as_of=as_of, package_types=package_types, usage_types=usage_types, horizon=horizon
                    )
            except Exception as exc:  # one bad account must not stop the pass
                logger.exception("Billing account %s as of %s failed", row[0], as_of)
                error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
                failures.append(BillingFailure(account_id=row[0], as_of=as_of, error=error))
                summary.failures.append((row[0], error))
                failed.add(row[0])
            else:
                summary.add(invoices, lines)
        BillingFailure.objects.bulk_create(failures)
    summary.failed += len(failed)
    return failed


def billing_pass(*, as_of: date, horizon: Horizon | None = None, id_range: tuple[int, int] | None = None,
                 run: PassRun | None = None) -> BillingSummary:
    """SPEC §6: bill every active user package whose next bill date ≤ as_of, period by period, for
    accounts whose back-end status bills packages, and unbilled usage of accounts whose back-end status
    bills usage; one invoice per account and day the lines fell due (one per run when run daily).
    `horizon` holds back an account whose status changes before as_of (see bill_locked_accounts).

    Accounts are claimed range by range of ids (CHUNK_SIZE ids each) with SKIP LOCKED, so two runs at once
    share the work and never bill the same account twice; each range is one transaction. A failing range
    is redone account by account, and an account that fails on its own is recorded (BillingFailure) and
    skipped. `id_range` (lo, hi] limits the pass to a part of the accounts (a worker's share when the pass
    is split, SPEC §10); `run` is the pass run the part reports to (else the pass records its own)."""
    if run is not None:
        return _bill_ranges(as_of=as_of, horizon=horizon, id_range=id_range, run=run)
    with recorded_pass(PassRun.Name.BILLING, as_of) as own_run:
        summary = _bill_ranges(as_of=as_of, horizon=horizon, id_range=id_range, run=own_run)
        own_run.processed = summary.accounts
        own_run.failed = summary.failed
        own_run.detail = str(summary)[:DETAIL_MAX_CHARS]
    return summary


def _bill_ranges(*, as_of: date, horizon: Horizon | None, id_range, run: PassRun) -> BillingSummary:
    summary = BillingSummary(as_of=as_of)
    package_types, usage_types = _billing_type_ids()
    ranges = split_range(id_range or account_id_bounds(), CHUNK_SIZE)
    failed: set[int] = set()
    # Two sweeps: the second picks up accounts that another transaction held during the first.
    for _sweep in range(2):
        for chunk in ranges:
            rows, before = [], summary.accounts
            try:
                with transaction.atomic():
                    rows = _claim(
                        as_of=as_of, package_types=package_types, usage_types=usage_types, exclude=failed,
                        id_range=chunk,
                    )
                    if not rows:
                        continue
                    invoices, lines = _bill_rows(
                        rows, as_of=as_of, package_types=package_types, usage_types=usage_types, horizon=horizon,
                    )
            except Exception:
                if not rows:
                    raise
                logger.warning("Billing accounts %s–%s failed together; billing them one by one", *chunk)
                failed |= _bill_chunk_one_by_one(
                    [row[0] for row in rows], as_of=as_of, package_types=package_types,
                    usage_types=usage_types, horizon=horizon, summary=summary,
                )
            else:
                summary.add(invoices, lines)
            if rows:
                report(run, processed=summary.accounts - before)
    return summary
