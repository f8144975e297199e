"""Factories and helpers for the status type and reason tests."""

from datetime import timedelta

import factory

from engage.clock import today
from statuses.models import AccountStatusType, StatusReason


class StatusTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountStatusType

    name = factory.Sequence(lambda n: f"Type {n}")
    backend_status = "active"
    image_url = ""
    show_in_statistics = True
    is_default = False


class StatusReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusReason

    name = factory.Sequence(lambda n: f"Reason {n}")
    backend_statuses = factory.LazyFunction(lambda: ["cancelled", "suspended"])
    is_active = True


def account_of(status_type, name="A"):
    """An account that uses `status_type` (created through the accounts service, so its counter moves)."""
    from accounts.services import account_create

    return account_create(name=name, email=f"{name.lower()}@example.com", bill_day=1, status_type=status_type)


def pending_change_to(status_type, account=None, reason=None):
    """A pending dated change that targets `status_type`."""
    from accounts.models import StatusChange

    account = account or account_of(AccountStatusType.objects.get(name="Active"), name="Pending")
    return StatusChange.objects.create(
        account=account, from_type=account.status_type, to_type=status_type, option="specific_date",
        effective_date=today() + timedelta(days=30), state="pending", reason=reason,
    )


def snapshot():
    """Every type and reason as plain rows, to assert that bad input changed nothing."""
    return (
        list(AccountStatusType.objects.order_by("pk").values()),
        list(StatusReason.objects.order_by("pk").values()),
    )
