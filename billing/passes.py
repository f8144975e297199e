"""The billing pass (SPEC §6): every account with something due, in pk-ordered chunks claimed with
SKIP LOCKED, each chunk billed by the code Bill Account and status changes share (billing/lines.py), on rows:
values read, lines decided by the same rules, invoices and lines written with COPY. As the
scheduler runs it: the passes before it in the business day's order first (the due status changes), then
the billing, split over account-id ranges that any number of workers share (SPEC §10)."""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from engage.account_model import get_account_model, get_status_type_model
from engage.business_day import run_pass_for, scheduled_run
from engage.limits import DETAIL_MAX_CHARS, ERROR_MAX_CHARS
from engage.models import PassRun
from engage.pass_runs import PassSummary, finish_part, recorded_pass, report, start_parts
from statuses.rules import package_billing_statuses, usage_billing_statuses

from .lines import InvoiceRow, LineRow, bill_locked_accounts
from .models import BillingFailure, UsageRecord, UserPackage, UserPackageStatus
from .proration import ZERO

logger = logging.getLogger(__name__)

PASS_NAME = "billing"
CHUNK_SIZE = 1000  # account ids per claim (one transaction)


@dataclass
class BillingSummary(PassSummary):
    as_of: date
    accounts: int = 0
    lines: int = 0
    invoices: int = 0
    total: Decimal = ZERO
    failed: int = 0

    def add(self, invoices: list[InvoiceRow], lines: list[LineRow]) -> None:
        self.accounts += len({invoice.account_id for invoice in invoices})
        self.invoices += len(invoices)
        self.lines += len(lines)
        self.total += sum((invoice.total for invoice in invoices), ZERO)

    def words(self) -> str:
        text = (
            f"Billed {self.accounts} accounts as of {self.as_of}: {self.lines} lines, "
            f"{self.invoices} invoices, total {self.total}."
        )
        if self.failed:
            text += f" {self.failed} accounts failed: " + "; ".join(self.errors[:20])
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


def _due_accounts(*, as_of: date, package_types, usage_types, exclude=(), id_range=None, only=None):
    """The accounts of an id range (lo, hi] (or the ids `only`) that have something due. The packages and usage
    looked at are those of the range's accounts (the same bounds on account_id), so each claim reads at most
    CHUNK_SIZE accounts' rows whatever the size: no scan of every due package per range.

    The WHERE is on the account row itself (status type), so PostgreSQL re-checks it on the locked,
    latest row version."""
    accounts = Q(pk__any=only) if only is not None else Q(pk__gt=id_range[0], pk__lte=id_range[1])
    of_them = Q(account_id__any=only) if only is not None else Q(account_id__gt=id_range[0],
                                                                  account_id__lte=id_range[1])
    due_packages = UserPackage.objects.filter(
        of_them, account_id=OuterRef("pk"), status=UserPackageStatus.ACTIVE, next_bill_date__lte=as_of
    )
    due_usage = UsageRecord.objects.filter(of_them, account_id=OuterRef("pk"), billed=False, occurred_on__lte=as_of)
    qs = get_account_model().objects.filter(
        accounts,
        (Q(status_type_id__in=package_types) & Exists(due_packages))
        | (Q(status_type_id__in=usage_types) & Exists(due_usage)),
    )
    if exclude:
        qs = qs.exclude(pk__any=sorted(exclude))
    return qs


def _claim(due) -> list[tuple[int, int, int]]:
    """Lock the due accounts (_due_accounts), skipping rows another run holds: (id, bill day, status type)."""
    return list(due.select_for_update(skip_locked=True).order_by("pk").values_list("pk", "bill_day", "status_type_id"))


def _skipped_any(claimed: list, due, id_range: tuple[int, int]) -> bool:
    """Whether the claim left a due account of its range to another transaction that holds it: the due accounts
    read without locking outnumber those it claimed (a range claimed whole has none left)."""
    return len(claimed) < id_range[1] - id_range[0] and due.count() > len(claimed)


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
# before a change of its status that is due but not applied yet); accounts/ registers it (register_horizon).
Horizon = Callable[[list[int], date], dict[int, date]]
_horizons: list[Horizon] = []


def register_horizon(horizon: Horizon) -> None:
    """Called from an app's AppConfig.ready(): what holds back the scheduled billing of an account."""
    if horizon not in _horizons:
        _horizons.append(horizon)


def registered_horizon(account_ids: list[int], as_of: date) -> dict[int, date]:
    """The earliest day any registered horizon allows, per account held back."""
    held: dict[int, date] = {}
    for horizon in _horizons:
        for account_id, day in horizon(account_ids, as_of).items():
            held[account_id] = min(day, held.get(account_id, day))
    return held


def _bill_rows(rows, *, as_of, package_types, usage_types, horizon: Horizon | None):
    package_types, usage_types = set(package_types), set(usage_types)
    return bill_locked_accounts(
        {pk: bill_day for pk, bill_day, _ in rows},
        package_accounts={pk for pk, _, type_id in rows if type_id in package_types},
        usage_accounts={pk for pk, _, type_id in rows if type_id in usage_types},
        as_of=as_of,
        until=horizon([pk for pk, _, _ in rows], as_of) if horizon else None,
        as_rows=True,
    )


def _bill_chunk_one_by_one(
    account_ids, *, as_of, package_types, usage_types, horizon, summary: BillingSummary
) -> set[int]:
    """The slow path after a chunk failed: each account in its own savepoint; a failing one is
    recorded and skipped. Returns the ids that failed."""
    failed = set()
    with transaction.atomic():
        rows = _claim(_due_accounts(as_of=as_of, package_types=package_types, usage_types=usage_types,
                                    only=account_ids))
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
                summary.errors.append(f"{row[0]}: {error}")
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
    with recorded_pass(PASS_NAME, as_of) as own_run:
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
    # Two sweeps: the second picks up accounts that another transaction held during the first, in the ranges
    # where the first found some (only those are visited again).
    for sweep in range(2):
        held = []
        for chunk in ranges:
            rows, before = [], summary.accounts
            try:
                with transaction.atomic():
                    due = _due_accounts(as_of=as_of, package_types=package_types, usage_types=usage_types,
                                        exclude=failed, id_range=chunk)
                    rows = _claim(due)
                    if sweep == 0 and _skipped_any(rows, due, chunk):
                        held.append(chunk)
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
        ranges = held
    return summary


def bill_day(*, as_of: date) -> dict:
    """The billing pass's part of a business day (engage.schedule: its place after the due changes)."""
    return billing_pass(as_of=as_of, horizon=registered_horizon).as_dict()


def run_billing(*, as_of: date) -> dict:
    """The billing pass in one process (the command), in the business day's order (engage/business_day.py):
    every missed day first, then the due changes of the day (each bills what was due before its date), then
    the billing; an account whose due change is not applied yet (it failed to apply, another worker holds it)
    is billed only up to it."""
    return run_pass_for(PASS_NAME, as_of)


# dispatch(run id, as-of date as ISO text, lo, hi) hands a part to a worker; False when the broker is down.
Dispatch = Callable[[int, str, int, int], bool]


def bill_in_parts(*, as_of: date, dispatch: Dispatch, parts: int | None = None) -> dict:
    """The billing of one day as one pass run whose work is cut into `parts` account-id ranges
    (ENGAGE_PASS_PARTS), each handed to a worker; a part the broker does not take is billed here. The database
    keeps parts apart and never bills twice (row locks, unique keys), so a part that is redelivered or run
    alongside another run changes nothing more."""
    lo, hi = account_id_bounds()
    count = max(1, parts or settings.ENGAGE_PASS_PARTS)
    ranges = split_range((lo, hi), max(1, math.ceil((hi - lo) / count))) or [(lo, hi)]
    run = start_parts(PASS_NAME, as_of, len(ranges))
    here = [r for r in ranges if not dispatch(run.pk, as_of.isoformat(), *r)]
    for id_range in here:
        bill_part(run.pk, as_of, id_range)
    return {"run": run.pk, "parts": len(ranges), "billed_here": len(here)}


def start_billing(*, as_of: date, dispatch: Dispatch, parts: int | None = None) -> dict:
    """The billing pass split over workers, as beat runs it (billing_pass_task), in the business day's order:
    every missed day first (each billed here, in one process), then the due changes of the day, then the day's
    billing in parts. A day before its last success is answered, not raised (scheduled_run)."""
    return scheduled_run(PASS_NAME, as_of, run=partial(bill_in_parts, dispatch=dispatch, parts=parts))


def bill_part(run_id: int, as_of: date, id_range: tuple[int, int]) -> dict:
    """One part of a split billing pass; the last part to finish finishes the run."""
    run = PassRun.objects.get(pk=run_id)
    summary = billing_pass(as_of=as_of, horizon=registered_horizon, id_range=id_range, run=run)
    text = f"Accounts {id_range[0] + 1}–{id_range[1]}: {summary}" if summary.accounts or summary.failed else ""
    finish_part(run_id, failed=summary.failed, detail=text)
    return summary.as_dict()
