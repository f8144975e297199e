"""Aging (SPEC §11): overdue accounts and amounts per bucket of days overdue and back-end status, as the
latest collections pass counted them (dunning.passes writes a day's rows at its end). Reading it costs two
small queries whatever the number of accounts or invoices."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Max

from billing.proration import ZERO
from statuses.rules import BackendStatus

from .models import AgingBucket


@dataclass
class AgingRow:
    bucket: int
    label: str
    cells: dict = field(default_factory=dict)  # backend status → (accounts, amount)
    accounts: int = 0
    amount: Decimal = ZERO


@dataclass
class Aging:
    as_of: date | None
    rows: list[AgingRow]
    statuses: list[tuple[str, str]]
    accounts: int = 0
    amount: Decimal = ZERO


def latest_aging() -> Aging:
    as_of = AgingBucket.objects.aggregate(last=Max("as_of"))["last"]
    rows = [AgingRow(value, label, {s: (0, ZERO) for s in BackendStatus.values})
            for value, label in AgingBucket.Bucket.choices]
    aging = Aging(as_of, rows, list(BackendStatus.choices))
    if as_of is None:
        return aging
    by_bucket = {row.bucket: row for row in rows}
    for cell in AgingBucket.objects.filter(as_of=as_of):
        row = by_bucket[cell.bucket]
        row.cells[cell.backend_status] = (cell.accounts, cell.amount)
        row.accounts += cell.accounts
        row.amount += cell.amount
        aging.accounts += cell.accounts
        aging.amount += cell.amount
    return aging
