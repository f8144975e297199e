"""The rules of a requested status change (SPEC §5): first the request's own (an option it knows, a clean
note, a date for Specific date that is not in the past, a reason that applies to the target), then the
account's, on its timeline (the status just before the date, the changes after it). Raises DomainError; a
refusal that depends on the account carries a code, which the batch path turns into a skip reason."""

from dataclasses import dataclass
from datetime import date

from billing.proration import next_bill_day
from engage.errors import DomainError
from engage.limits import NOTE_MAX_CHARS, check_date, check_text
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import ChangeOption, is_billing_inert

from ..models import Account, StatusChange
from .timeline import Position, check_later_changes, check_reason_for, check_transition, position_before
from .wording import TIMING_LABELS

Option = ChangeOption
IMMEDIATE_OPTIONS = (Option.PRORATED, Option.FULL, Option.NO_TRANSACTION)
TIMING_OPTIONS = (Option.NO_TRANSACTION, Option.PERIOD_END, Option.SPECIFIC_DATE)

# The codes of the account's own refusals beside the timeline's (timeline.SAME_STATUS, …).
DAY_TAKEN = "day_taken"
OPTION_NOT_ALLOWED = "option_not_allowed"


def options_for(from_backend: str, to_backend: str) -> list[tuple[str, str]]:
    """All five options for cancel/suspend/enable; only the timing between statuses that bill alike."""
    if is_billing_inert(from_backend, to_backend):
        return [(o.value, TIMING_LABELS[o]) for o in TIMING_OPTIONS]
    return list(Option.choices)


def _specific_date(effective_date, on: date) -> date:
    if effective_date is None:
        raise DomainError("Specific date needs a date.", field="effective_date")
    effective_date = check_date(effective_date, field="effective_date", label="The date")
    if effective_date < on:
        raise DomainError(f"The date {effective_date:%Y-%m-%d} is in the past.", field="effective_date")
    return effective_date


def resolve_effective_date(account: Account, option: str, effective_date: date | None, on: date) -> date:
    """The day a change with this option takes effect when asked on `on`: today, the account's next bill day
    (Period end), or the date given (Specific date, not in the past)."""
    if option in IMMEDIATE_OPTIONS:
        return on
    if option == Option.PERIOD_END:
        return next_bill_day(account.bill_day, on)
    if option == Option.SPECIFIC_DATE:
        return _specific_date(effective_date, on)
    raise DomainError(f"Unknown option “{option}”.", field="option")


def clean_note(note) -> str:
    """A change's note: trimmed, its line breaks kept, no other control or format character."""
    return check_text(note, field="note", label="The note", max_chars=NOTE_MAX_CHARS, multiline=True)


@dataclass(frozen=True)
class ChangeRequest:
    """A requested change whose own rules hold (`change_request` made it): what the account's rules read."""

    to_type: AccountStatusType
    option: Option
    effective_date: date | None  # given for Specific date only
    reason: StatusReason | None
    note: str


def change_request(*, to_type, option, effective_date=None, reason=None, note="", on: date) -> ChangeRequest:
    """The rules of the request itself, whatever the account (raises DomainError). A batch refuses the whole
    request on these; each account's own refusals are `check_request`'s."""
    if option not in Option.values:
        raise DomainError(f"Unknown option “{option}”.", field="option")
    note = clean_note(note)
    effective_date = _specific_date(effective_date, on) if option == Option.SPECIFIC_DATE else None
    check_reason_for(to_type, reason)
    return ChangeRequest(to_type, Option(option), effective_date, reason, note)


def day_taken(effective: date) -> DomainError:
    return DomainError(
        f"There is already a pending change for this account on {effective:%Y-%m-%d}.", field="effective_date",
        code=DAY_TAKEN,
    )


def check_request(account: Account, pending: list[StatusChange], request: ChangeRequest, on: date) -> date:
    """The account's rules for the request, on its timeline (raises DomainError with a code): the status just
    before its date (today's, or the pending change before it) and the changes after it. Returns the
    effective date."""
    effective = resolve_effective_date(account, request.option, request.effective_date, on)
    now = Position.now(account)
    if effective > on:
        if any(c.effective_date == effective for c in pending):
            raise day_taken(effective)
        before = position_before(now, pending, effective)
        later = [c for c in pending if c.effective_date > effective]
    else:
        before, later = now, pending
    check_transition(before, request.to_type, request.reason, check_reason=False)
    if request.option not in dict(options_for(before.backend_status, request.to_type.backend_status)):
        raise DomainError(
            "Between these two statuses only the timing can be chosen.", field="option", code=OPTION_NOT_ALLOWED
        )
    check_later_changes(before.after(request.to_type), later, because="remove that one first, or choose another date")
    return effective
