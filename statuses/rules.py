"""SPEC §2: the truth table everything reads. It lives here, once, as data.

Billing, provisioning and statistics ask BACKEND_RULES (or the helpers below); nobody writes
`if status == "suspended"` elsewhere.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import models


class BackendStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"
    PROSPECT = "prospect", "Prospect"


class SwitchState(models.TextChoices):
    """What the switch should hold for an account (SPEC §7)."""

    ENABLED = "enabled", "Provisioned, enabled"
    SUSPENDED = "suspended", "Provisioned, suspended"
    ABSENT = "absent", "Absent"


class ChangeOption(models.TextChoices):
    """The five options of a status change (EngageIP's UpdateUserStatusWithOption), SPEC §5."""

    PRORATED = "immediately_with_prorated_transaction", "Immediately with prorated transaction"
    FULL = "immediately_with_full_transaction", "Immediately with full transaction"
    NO_TRANSACTION = "immediately_with_no_transaction", "Immediately with no transaction"
    PERIOD_END = "period_end", "Period end"
    SPECIFIC_DATE = "specific_date", "Specific date"


class StatusChangeState(models.TextChoices):
    """A status change is pending until its date, then applied, or failed when a rule refused it; or
    removed by a person before its date."""

    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    REMOVED = "removed", "Removed"  # by a person before its date; kept in the history


class ReasonKey(models.TextChoices):
    """Reasons the product gives itself (StatusReason.key): found by key, so renaming one changes nothing."""

    PAYMENT_RECEIVED = "payment_received", "Payment received"  # an account collections restores once paid
    CREDIT_ISSUED = "credit_issued", "Credit issued"  # … once a credit a person issued cleared what was overdue


class ChangeOutcome(models.TextChoices):
    """What a request for many accounts (a bulk change, a collection step) did with one of them: applied it
    now, scheduled it (a pending change), or skipped the account with the reason."""

    APPLIED = StatusChangeState.APPLIED.value, "Changed"
    PENDING = StatusChangeState.PENDING.value, "Scheduled"
    SKIPPED = "skipped", "Skipped"


@dataclass(frozen=True)
class BackendRule:
    bills_packages: bool
    bills_usage: bool
    switch_state: str
    can_reenter: bool  # False: only an initial status; once left, never given again
    needs_reason: bool  # a change to it must say why
    can_start_in: bool  # a new account may be created in it


BACKEND_RULES: dict[str, BackendRule] = {
    BackendStatus.ACTIVE: BackendRule(
        bills_packages=True,
        bills_usage=True,
        switch_state=SwitchState.ENABLED,
        can_reenter=True,
        needs_reason=False,
        can_start_in=True,
    ),
    BackendStatus.SUSPENDED: BackendRule(
        bills_packages=False,
        bills_usage=False,
        switch_state=SwitchState.SUSPENDED,
        can_reenter=True,
        needs_reason=True,
        can_start_in=False,
    ),
    BackendStatus.CANCELLED: BackendRule(
        bills_packages=False,
        bills_usage=False,
        switch_state=SwitchState.ABSENT,
        can_reenter=True,
        needs_reason=True,
        can_start_in=False,
    ),
    BackendStatus.PROSPECT: BackendRule(
        bills_packages=False,
        bills_usage=False,
        switch_state=SwitchState.ABSENT,
        can_reenter=False,
        needs_reason=False,
        can_start_in=True,
    ),
}

# Account Statistics order (SPEC §8): Active, Cancelled, Prospect, Suspended.
STATISTICS_ORDER = [
    BackendStatus.ACTIVE,
    BackendStatus.CANCELLED,
    BackendStatus.PROSPECT,
    BackendStatus.SUSPENDED,
]


def bills_packages(backend_status: str) -> bool:
    return BACKEND_RULES[backend_status].bills_packages


def bills_usage(backend_status: str) -> bool:
    """Usage billing; ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING restores the 9.3.6-and-prior behaviour."""
    if backend_status == BackendStatus.SUSPENDED and settings.ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING:
        return True
    return BACKEND_RULES[backend_status].bills_usage


def package_billing_statuses() -> list[str]:
    return [s for s in BackendStatus.values if bills_packages(s)]


def usage_billing_statuses() -> list[str]:
    return [s for s in BackendStatus.values if bills_usage(s)]


def switch_state(backend_status: str) -> str:
    return BACKEND_RULES[backend_status].switch_state


def switch_state_statuses(state: str) -> list[str]:
    return [s for s in BackendStatus.values if BACKEND_RULES[s].switch_state == state]


def can_reenter(backend_status: str) -> bool:
    return BACKEND_RULES[backend_status].can_reenter


def needs_reason(backend_status: str) -> bool:
    """A reason is required when the target is cancelled or suspended (SPEC §5)."""
    return BACKEND_RULES[backend_status].needs_reason


def can_start_in(backend_status: str) -> bool:
    """A new account starts in an active- or prospect-type status (SPEC §9 accounts POST)."""
    return BACKEND_RULES[backend_status].can_start_in


def is_billing_inert(from_status: str, to_status: str) -> bool:
    """No transactions between two statuses that bill alike (suspended → cancelled, active → active)."""
    return bills_packages(from_status) == bills_packages(to_status)
