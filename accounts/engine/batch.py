"""One request for many accounts (the bulk change, a collection step, a restore on payment): each account
checked by the rules of a single change and applied by the same writer, in one transaction; an account the
rules refuse is skipped with the reason."""

from dataclasses import dataclass, field
from datetime import date

from django.db import models, transaction

from billing.models import ChargeLine
from billing.status_transactions import active_packages_of
from engage.clock import today
from engage.errors import DomainError
from engage.locks import lock_accounts
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import ChangeOutcome

from ..models import Account, StatusChange
from .forecast import forecast
from .rules import DAY_TAKEN, IMMEDIATE_OPTIONS, OPTION_NOT_ALLOWED, change_request, check_request
from .timeline import LATER_CHANGE, PROSPECT_RULE, SAME_STATUS, pending_changes_of_many
from .writer import apply_changes, audit_changes, bump_versions, mark_applied, new_change, restamp_timeline

BATCH_MAX = 2000


class SkipCode(models.TextChoices):
    """Why a batch left an account alone: the account's own refusals of the request (DomainError.code)."""

    SAME_STATUS = SAME_STATUS, "Already in that status"
    PROSPECT_RULE = PROSPECT_RULE, "The prospect rule (it has left prospect)"
    DAY_TAKEN = DAY_TAKEN, "A pending change on that date"
    OPTION_NOT_ALLOWED = OPTION_NOT_ALLOWED, "Only the timing can be chosen between its status and this one"
    LATER_CHANGE = LATER_CHANGE, "A later pending change would become invalid"
    CHANGED = "changed", "Changed since the dry run"
    UNKNOWN_ACCOUNT = "unknown_account", "Unknown account number"
    ERROR = "error", "An error: nothing was changed (see the message)"


@dataclass
class BatchResult:
    account_id: int
    state: ChangeOutcome
    skip_code: str = ""
    message: str = ""
    transactions: list[ChargeLine] = field(default_factory=list)
    change_id: int | None = None
    version: int | None = None  # the account's version the batch read (a dry run's, for its run to compare)


@transaction.atomic
def change_status_batch(
    *,
    account_ids,
    to_type: AccountStatusType,
    option: str,
    effective_date: date | None = None,
    reason: StatusReason | None = None,
    note: str = "",
    actor=None,
    on: date | None = None,
    dry_run: bool = False,
    source: str = "",
    expected_versions: dict[int, int | None] | None = None,
) -> list[BatchResult]:
    """One request for many accounts, each checked by the rules of a single change and applied by the same
    writer (`apply_changes`) in one transaction; an account the rules refuse is skipped with the reason.
    Raises DomainError when the request is invalid whatever the account (option, reason, date, note).
    A dry run locks nothing and saves nothing: it is what the same call would do now. `source` names who
    asked when no person did (a collection step), for the history. `expected_versions` ({account id: the
    version its dry run read}) leaves an account that changed since alone (SkipCode.CHANGED): a bulk change
    never overrides a later decision."""
    on = on or today()
    if len(account_ids) > BATCH_MAX:
        raise DomainError(f"At most {BATCH_MAX} accounts per batch.")
    request = change_request(to_type=to_type, option=option, effective_date=effective_date, reason=reason,
                             note=note, on=on)
    ids = sorted(set(account_ids))
    if dry_run:
        accounts = {a.pk: a for a in Account.objects.filter(pk__any=ids).select_related("status_type")}
    else:
        accounts = lock_accounts(ids)
    pending = pending_changes_of_many(ids)
    # Read for the forecasts (a dry run, a dated change); a change now reads them locked when it is applied.
    packages = active_packages_of(ids) if dry_run or option not in IMMEDIATE_OPTIONS else {}
    results: dict[int, BatchResult] = {}
    now_pairs, later = [], []
    for pk in ids:
        account = accounts.get(pk)
        if account is None:
            results[pk] = BatchResult(pk, ChangeOutcome.SKIPPED, SkipCode.UNKNOWN_ACCOUNT, f"No account with id {pk}.")
            continue
        expected = (expected_versions or {}).get(pk)
        if expected is not None and account.version != expected:
            results[pk] = BatchResult(
                pk, ChangeOutcome.SKIPPED, SkipCode.CHANGED, "This account changed after the dry run (its status or "
                "a pending change): it was left as it is.", version=account.version)
            continue
        account_pending = pending.get(pk, [])
        try:
            effective = check_request(account, account_pending, request, on)
        except DomainError as err:
            if not err.code:
                raise
            results[pk] = BatchResult(pk, ChangeOutcome.SKIPPED, err.code, err.message, version=account.version)
            continue
        state = ChangeOutcome.PENDING if effective > on else ChangeOutcome.APPLIED
        if dry_run or state == ChangeOutcome.PENDING:
            plans, _billed = forecast(account, account_pending, request, effective, on, packages.get(pk, []))
            results[pk] = BatchResult(pk, state, transactions=[line for plan in plans for line in plan.lines],
                                      version=account.version)
        if dry_run:
            continue
        change = new_change(account, request, effective, actor, source)
        if state == ChangeOutcome.PENDING:
            later.append((account, change, account_pending))
        else:
            mark_applied(change, actor)
            now_pairs.append((account, change))
    if not dry_run:
        _write(later, now_pairs, pending, results, actor=actor)
    return [results[pk] for pk in _in_request_order(account_ids)]


def _write(later, now_pairs, pending, results: dict[int, BatchResult], *, actor) -> None:
    """Save the batch's changes: the dated ones as pending (each account's timeline restamped), the ones of
    today applied by the one writer; fills in the results' change ids and transactions."""
    changes = [change for _, change, _ in later] + [change for _, change in now_pairs]
    StatusChange.objects.bulk_create(changes)
    bump_versions([change.account_id for _, change, _ in later])  # apply_changes moves the others' on
    for account, change, account_pending in later:
        restamp_timeline(account, [*account_pending, change])
        results[account.pk].change_id = change.pk
    audit_changes([(change, change.from_type, None) for _, change, _ in later])
    applied = apply_changes(now_pairs, actor=actor, saved_applied=True)
    for account, change in now_pairs:
        restamp_timeline(account, pending.get(account.pk, []))
        plans, _billed = applied[account.pk]
        results[account.pk] = BatchResult(
            account.pk, ChangeOutcome.APPLIED, transactions=[line for plan in plans for line in plan.lines],
            change_id=change.pk,
        )


def _in_request_order(account_ids) -> list[int]:
    return list(dict.fromkeys(account_ids))
