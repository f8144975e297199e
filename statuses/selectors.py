from .models import AccountStatusType, StatusReason
from .rules import BackendStatus


def status_type_list():
    return AccountStatusType.objects.all()


def default_status_type() -> AccountStatusType:
    return AccountStatusType.objects.get(is_default=True)


def status_type_account_count(status_type: AccountStatusType) -> int:
    """Accounts of this type, from the counter kept with every change (no COUNT over accounts)."""
    counter = getattr(status_type, "counter", None) if status_type.pk else None
    return counter.count if counter else 0


def reasons_for(backend_status: str):
    """Reasons a support agent may pick for a change to this back-end status (not retired)."""
    return [r for r in StatusReason.objects.filter(is_active=True) if r.applies_to(backend_status)]


def reason_requirement(backend_status: str) -> bool:
    return backend_status in (BackendStatus.CANCELLED, BackendStatus.SUSPENDED)
