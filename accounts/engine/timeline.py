"""An account's pending changes as a timeline (SPEC §5): each is checked against the status the account
will have just before its date (the previous pending change, or today's status), so "suspend on the 8th,
enable on the 9th" can be scheduled in one sitting, and removing or inserting a change that a later one
depends on is refused with the later one's name.

Pure rules over objects in memory: the rest of the engine loads the rows and holds the locks.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Min

from engage.errors import DomainError
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus, StatusChangeState, can_reenter, needs_reason

from ..models import Account, StatusChange

# The codes of the refusals that depend on the account rather than on the request (DomainError.code).
SAME_STATUS = "same_status"
PROSPECT_RULE = "prospect_rule"
LATER_CHANGE = "later_change"


@dataclass(frozen=True)
class Position:
    """Where the account stands at a point of its timeline: its status type, and whether it has left
    prospect by then (a prospect status can never be re-entered)."""

    status_type: AccountStatusType
    left_prospect: bool

    @classmethod
    def now(cls, account: Account) -> "Position":
        return cls(account.status_type, account.left_prospect_on is not None)

    @property
    def backend_status(self) -> str:
        return self.status_type.backend_status

    def after(self, to_type: AccountStatusType) -> "Position":
        left = self.left_prospect or (
            self.backend_status == BackendStatus.PROSPECT and to_type.backend_status != BackendStatus.PROSPECT
        )
        return Position(to_type, left)


def check_transition(
    at: Position, to_type: AccountStatusType, reason: StatusReason | None, *, check_reason: bool = True
) -> None:
    """The rules that hold whenever a change is requested or applied (raises DomainError). The reason is
    checked when the change is requested or applied, not when a neighbour on the timeline moves."""
    current = at.status_type
    if to_type.pk == current.pk:
        raise DomainError(
            f"The account already has the status “{current.name}”.", field="status_type", code=SAME_STATUS
        )
    # Prospect can be only an initial status: moving between two prospect types is fine, re-entering is not.
    reentering = current.backend_status != to_type.backend_status or at.left_prospect
    if not can_reenter(to_type.backend_status) and reentering:
        raise DomainError(
            f"“{to_type.name}” is a prospect status: an account that has left prospect can never return to it.",
            field="status_type",
            code=PROSPECT_RULE,
        )
    if check_reason:
        check_reason_for(to_type, reason)


def check_reason_for(to_type: AccountStatusType, reason: StatusReason | None) -> None:
    """A reason is required for a cancelled or suspended target, must apply to it, and must not be retired."""
    if reason is not None:
        if not reason.is_active:
            raise DomainError(f"The reason “{reason.name}” is retired.", field="reason")
        if not reason.applies_to(to_type.backend_status):
            raise DomainError(
                f"The reason “{reason.name}” does not apply to {to_type.get_backend_status_display().lower()}.",
                field="reason",
            )
    elif needs_reason(to_type.backend_status):
        raise DomainError(
            f"A reason is required to change to a {to_type.get_backend_status_display().lower()} status.",
            field="reason",
        )


def pending_changes_of(account_id: int) -> list[StatusChange]:
    """The account's pending changes in the order they will be applied."""
    return list(
        StatusChange.objects.filter(account_id=account_id, state=StatusChangeState.PENDING)
        .select_related("to_type", "reason", "created_by")
        .order_by("effective_date", "id")
    )


def pending_changes_of_many(account_ids) -> dict[int, list[StatusChange]]:
    """pending_changes_of for many accounts in one query."""
    pending: dict[int, list[StatusChange]] = {}
    for change in (
        StatusChange.objects.filter(account_id__any=sorted(account_ids), state=StatusChangeState.PENDING)
        .select_related("to_type", "reason", "created_by")
        .order_by("account_id", "effective_date", "id")
    ):
        pending.setdefault(change.account_id, []).append(change)
    return pending


Step = tuple[StatusChange, Position, DomainError | None]


def walk(start: Position, changes: Iterable[StatusChange]) -> Iterator[Step]:
    """Each change in date order with the position just before it and what refuses it (None: valid). A
    refused change is not applied on its date (it is marked failed), so it moves nothing."""
    at = start
    for change in sorted(changes, key=lambda c: c.effective_date):
        try:
            check_transition(at, change.to_type, change.reason, check_reason=False)
        except DomainError as err:
            yield change, at, err
            continue
        yield change, at, None
        at = at.after(change.to_type)


def after_step(step: Step) -> Position:
    """Where the account stands after a step of the walk: moved by a valid change, not by a refused one."""
    change, before, error = step
    return before if error else before.after(change.to_type)


def position_before(start: Position, pending: Iterable[StatusChange], day: date) -> Position:
    """Where the account will stand just before `day`, after the pending changes dated earlier."""
    at = start
    for step in walk(start, [c for c in pending if c.effective_date < day]):
        at = after_step(step)
    return at


def check_later_changes(start: Position, later: Iterable[StatusChange], *, because: str) -> None:
    """Refuse (DomainError) when a later pending change would become invalid; names it."""
    for change, _before, error in walk(start, later):
        if error is not None:
            raise DomainError(
                f"The pending change to “{change.to_type.name}” on {change.effective_date:%Y-%m-%d} would then "
                f"be refused ({error.message.rstrip('.')}): {because}.",
                code=LATER_CHANGE,
            )


def billing_horizon(account_ids: list[int], as_of: date) -> dict[int, date]:
    """For the billing pass: the last day each account may be billed through, the day before its earliest
    pending change dated on or before `as_of` (what follows depends on the status that change brings)."""
    rows = (
        StatusChange.objects.filter(
            account_id__any=account_ids, state=StatusChangeState.PENDING, effective_date__lte=as_of
        )
        .values("account_id")
        .annotate(first=Min("effective_date"))
        .order_by()
    )
    return {row["account_id"]: row["first"] - timedelta(days=1) for row in rows}

def allowed_targets(start: Position, pending: Iterable[StatusChange], types: Iterable[AccountStatusType]) -> list:
    """The status types a change may go to at some point of the timeline (now, or after one of the pending
    changes): what step 1 and Components → Add offer. The engine still checks the one chosen on its date."""
    positions = [start]
    for step in walk(start, pending):
        positions.append(after_step(step))
    allowed = []
    for to_type in types:
        for at in positions:
            try:
                check_transition(at, to_type, None, check_reason=False)
            except DomainError:
                continue
            allowed.append(to_type)
            break
    return allowed
