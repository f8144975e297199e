from django.db.models import F, Value
from django.db.models.functions import Coalesce

from .models import AccountStatusType, StatusReason


def status_type_list():
    """Every type with `account_count` from the per-type counter (no COUNT over the accounts table)."""
    return AccountStatusType.objects.annotate(account_count=Coalesce(F("counter__count"), Value(0))).order_by(
        "name", "pk"
    )


def status_reason_list():
    return StatusReason.objects.order_by("-is_active", "name", "pk")


def default_status_type() -> AccountStatusType:
    return AccountStatusType.objects.get(is_default=True)


def status_type_account_count(status_type: AccountStatusType) -> int:
    """Accounts of this type, from the counter kept with every change (no COUNT over accounts)."""
    counter = getattr(status_type, "counter", None) if status_type.pk else None
    return counter.count if counter else 0


def reasons_for(backend_status: str):
    """Reasons a support agent may pick for a change to this back-end status (not retired)."""
    return [r for r in StatusReason.objects.filter(is_active=True) if r.applies_to(backend_status)]
