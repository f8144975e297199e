from .models import AccountStatusType, StatusReason
from .usage import account_counts


def status_type_list():
    return AccountStatusType.objects.order_by("name", "pk")


def with_account_counts(status_types) -> list[AccountStatusType]:
    """The types, each with `account_count` (statuses.usage: counters, no COUNT over the accounts table)."""
    status_types = list(status_types)
    counts = account_counts([t.pk for t in status_types])
    for status_type in status_types:
        status_type.account_count = counts[status_type.pk]
    return status_types


def status_reason_list():
    return StatusReason.objects.order_by("-is_active", "name", "pk")


def default_status_type() -> AccountStatusType:
    return AccountStatusType.objects.get(is_default=True)


def reasons_for(backend_status: str):
    """Reasons a support agent may pick for a change to this back-end status (not retired)."""
    return [r for r in StatusReason.objects.filter(is_active=True) if r.applies_to(backend_status)]
