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


@dataclass(frozen=True)
class BackendRule:
    bills_packages: bool
    bills_usage: bool
    switch_state: str
    can_reenter: bool


BACKEND_RULES: dict[str, BackendRule] = {
    BackendStatus.ACTIVE: BackendRule(True, True, SwitchState.ENABLED, True),
    BackendStatus.SUSPENDED: BackendRule(False, False, SwitchState.SUSPENDED, True),
    BackendStatus.CANCELLED: BackendRule(False, False, SwitchState.ABSENT, True),
    BackendStatus.PROSPECT: BackendRule(False, False, SwitchState.ABSENT, False),
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


def is_billing_inert(from_status: str, to_status: str) -> bool:
    """No transactions between two statuses that bill alike (suspended → cancelled, active → active)."""
    return bills_packages(from_status) == bills_packages(to_status)
