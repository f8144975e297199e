"""What is overdue (SPEC §11), for many accounts in one statement: the collections pass reads it a range of
accounts at a time, the API and the Overview for one.

The same allocation as billing.payments.allocate, in SQL: the money in (payments and credit notes) pays the
invoices oldest first, so an invoice's unpaid part is what its running total (the invoices up to it, in
issue order) exceeds the money in, at most its own total. What is unpaid on an invoice past its due date is
overdue; the overdue age is the days since the due date of the oldest such invoice. As of a day: invoices
issued and payments made by then (a replayed day sees what it would have seen then)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection

from .proration import money

# Sums over SQLite's numeric columns can come back as floats: anything under half a cent is nothing.
NOTHING = "0.005"


@dataclass(frozen=True)
class Overdue:
    amount: Decimal
    oldest_due_on: date
    as_of: date

    @property
    def days(self) -> int:
        return (self.as_of - self.oldest_due_on).days


def _where(account_ids, id_range) -> tuple[str, list]:
    if account_ids is not None:
        ids = sorted({int(pk) for pk in account_ids})
        if connection.vendor == "postgresql":
            return "account_id = ANY(%s::bigint[])", [ids]
        return f"account_id IN ({', '.join(['%s'] * len(ids)) or 'NULL'})", ids
    lo, hi = id_range
    return "account_id > %s AND account_id <= %s", [lo, hi]


def _not_in(ids) -> tuple[str, list]:
    if not ids:
        return "", []
    ids = sorted(ids)
    if connection.vendor == "postgresql":
        return " AND id <> ALL(%s::bigint[])", [ids]
    return f" AND id NOT IN ({', '.join(['%s'] * len(ids))})", ids


def overdue_by_account(as_of: date, *, account_ids=None, id_range: tuple[int, int] | None = None,
                       uncounted_credits=(), recorded_before: datetime | None = None) -> dict[int, Overdue]:
    """{account id: Overdue} for the accounts (ids, or an id range (lo, hi]) with something overdue on as_of.
    `uncounted_credits`: credit notes (invoice ids) that pay nothing here — collections does not let the credit
    its own suspension gave end the episode it is part of (SPEC §11: credits are not payments).
    `recorded_before`: only the payments recorded before that moment count (a replayed day sees the money
    that had arrived when its pass would have run)."""
    if account_ids is not None and not account_ids:
        return {}
    where, params = _where(account_ids, id_range)
    skip, skipped = _not_in(uncounted_credits)
    recorded, until = (" AND created_at < %s", [recorded_before]) if recorded_before is not None else ("", [])
    sql = f"""
        WITH paid AS (
            SELECT account_id, SUM(amount) AS amount FROM billing_payment
            WHERE paid_on <= %s AND {where}{recorded} GROUP BY account_id
        ), credited AS (
            SELECT account_id, -SUM(total) AS amount FROM billing_invoice
            WHERE total < 0 AND issued_on <= %s AND {where}{skip} GROUP BY account_id
        ), charged AS (
            SELECT account_id, total, due_on,
                   SUM(total) OVER (PARTITION BY account_id ORDER BY issued_on, id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM billing_invoice WHERE total > 0 AND issued_on <= %s AND {where}
        ), unpaid AS (
            SELECT c.account_id, c.due_on, c.total,
                   c.upto - COALESCE(p.amount, 0) - COALESCE(k.amount, 0) AS beyond
            FROM charged c
            LEFT JOIN paid p ON p.account_id = c.account_id
            LEFT JOIN credited k ON k.account_id = c.account_id
        )
        SELECT account_id, SUM(CASE WHEN beyond >= total THEN total ELSE beyond END), MIN(due_on)
        FROM unpaid WHERE beyond > {NOTHING} AND due_on < %s
        GROUP BY account_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, *params, *until, as_of, *params, *skipped, as_of, *params, as_of])
        rows = cursor.fetchall()
    result = {}
    for account_id, amount, oldest in rows:
        if isinstance(oldest, str):  # SQLite
            oldest = date.fromisoformat(oldest)
        result[account_id] = Overdue(money(Decimal(str(amount))), oldest, as_of)
    return result


def overdue_of(account_id: int, as_of: date) -> Overdue | None:
    return overdue_by_account(as_of, account_ids=[account_id]).get(account_id)
