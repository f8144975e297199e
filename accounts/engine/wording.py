"""How step 2 words a change's options for the direction at hand (the seed's Cancel / Enable / Suspend
options): what each option does for *this* change, not for both directions at once."""

from datetime import date

from statuses.rules import BackendStatus, ChangeOption, bills_packages, is_billing_inert

Option = ChangeOption

# The bulk change has no one direction (its accounts start from any status): both are described.
OPTION_DEFINITIONS = {
    Option.PRORATED: "Takes effect today. Cancel/suspend credits the unused part of an already billed period; "
    "enable charges the rest of the current period, prorated.",
    Option.FULL: "Takes effect today. Cancel/suspend gives no credit and charges the current period in full "
    "if it was not billed yet; enable charges the current period in full.",
    Option.NO_TRANSACTION: "Takes effect today. No credit and no charge; after an enable, billing resumes at "
    "the next bill date.",
    Option.PERIOD_END: "Takes effect on the next bill date. No transaction: the current period is used up; "
    "after an enable, billing starts with that period.",
    Option.SPECIFIC_DATE: "Takes effect on the date you give (today or later), prorated as of that date.",
}

# Between statuses that bill alike only the timing is offered, named so.
TIMING_LABELS = {
    Option.NO_TRANSACTION: "Now",
    Option.PERIOD_END: "Period end",
    Option.SPECIFIC_DATE: "Specific date",
}

# (heading verb, verb of a sentence)
VERBS = {
    "cancel": ("Cancel", "Cancels"),
    "suspend": ("Suspend", "Suspends"),
    "enable": ("Enable", "Enables"),
    "change": ("Change", "Changes the status"),
}

_STOPPING = {
    Option.PRORATED: "{v} today and credits the unused part of the current period, if it was already billed.",
    Option.FULL: "{v} today with no credit; the current period is charged in full if it was not billed yet.",
    Option.NO_TRANSACTION: "{v} today. No credit and no charge.",
    Option.PERIOD_END: "{v} on the next bill date, {next}. No transaction: the current period is used up.",
    Option.SPECIFIC_DATE: "{v} on the date you give (today or later) and credits the unused part of that "
    "period, if it was already billed.",
}
_ENABLING = {
    Option.PRORATED: "{v} today and charges the rest of the current period, prorated.",
    Option.FULL: "{v} today and charges the current period in full.",
    Option.NO_TRANSACTION: "{v} today with no charge now; billing resumes at the next bill date, {next}.",
    Option.PERIOD_END: "{v} on the next bill date, {next}; billing starts with that period.",
    Option.SPECIFIC_DATE: "{v} on the date you give (today or later) and charges the rest of that period, "
    "prorated.",
}
_TIMING_ONLY = {
    Option.NO_TRANSACTION: "{v} today. No transaction: {alike}.",
    Option.PERIOD_END: "{v} on the next bill date, {next}. No transaction.",
    Option.SPECIFIC_DATE: "{v} on the date you give (today or later). No transaction.",
}


def change_kind(from_backend: str, to_backend: str) -> str:
    """cancel, suspend or enable as the seed names them; change between two types of one back-end status
    (or between prospect types)."""
    if from_backend == to_backend or to_backend == BackendStatus.PROSPECT:
        return "change"
    return {BackendStatus.CANCELLED: "cancel", BackendStatus.SUSPENDED: "suspend", BackendStatus.ACTIVE: "enable"}[
        to_backend
    ]


def option_heading(from_backend: str, to_backend: str) -> str:
    return f"{VERBS[change_kind(from_backend, to_backend)][0]} options"


def option_definitions(from_backend: str, to_backend: str, *, next_bill: date) -> dict[str, str]:
    """Each option's definition for this change; `next_bill` is the date Period end takes effect."""
    verb = VERBS[change_kind(from_backend, to_backend)][1]
    if is_billing_inert(from_backend, to_backend):
        texts = _TIMING_ONLY
    elif bills_packages(to_backend):
        texts = _ENABLING
    else:
        texts = _STOPPING
    alike = "both statuses bill the same" if bills_packages(from_backend) else "neither status bills"
    return {option: text.format(v=verb, next=f"{next_bill:%Y-%m-%d}", alike=alike) for option, text in texts.items()}


# Components → Add picks the status on the same form, so its two options are worded for every direction.
_COMPONENT = {
    Option.SPECIFIC_DATE: "On the date below, prorated as of that date: a cancel or suspend credits the unused "
    "part of an already billed period, an enable charges the rest of it. No transaction between two statuses "
    "that bill alike.",
    Option.PERIOD_END: "On the account's next bill date, {next}. No transaction: a cancel or suspend uses the "
    "period up, an enable starts billing with the next period.",
}


def component_definitions(*, next_bill: date) -> dict[str, str]:
    return {option: text.format(next=f"{next_bill:%Y-%m-%d}") for option, text in _COMPONENT.items()}


def _when_and_why(change) -> str:
    reason = f" ({change.reason.name})" if change.reason_id else ""
    return f" on {change.effective_date:%Y-%m-%d}{reason}"


def describe_change(change) -> str:
    """“Cancelled” on 2026-12-10 (Customer request): a pending change named by its target (Remove)."""
    return f"“{change.to_type.name}”{_when_and_why(change)}"


def pending_summary(change, before_backend: str) -> str:
    """A pending change in a sentence for the Overview, beside the status: “Cancels on 2026-12-10 (Customer
    request)”, naming the type when its name is not the back-end status's own."""
    verb = VERBS[change_kind(before_backend, change.to_type.backend_status)][1]
    to_type = change.to_type
    target = "" if to_type.name == to_type.get_backend_status_display() else f" to “{to_type.name}”"
    if verb.startswith("Changes"):
        verb, target = "Changes", f" to “{to_type.name}”"
    return f"{verb}{target}{_when_and_why(change)}"
