"""The database itself refuses what the rules forbid, whatever code path writes."""

import pytest
from django.db import IntegrityError, transaction

from statuses.models import AccountStatusType, StatusReason

from .factories import StatusTypeFactory

pytestmark = pytest.mark.django_db


def test_new_installation_has_the_four_default_types_and_some_reasons():
    rows = {t.name: (t.backend_status, t.is_default, t.show_in_statistics) for t in AccountStatusType.objects.all()}
    assert rows == {
        "Active": ("active", True, True),
        "Cancelled": ("cancelled", False, True),
        "Suspended": ("suspended", False, True),
        "Prospect": ("prospect", False, True),
    }
    names = set(StatusReason.objects.values_list("name", flat=True))
    assert {"Non-payment", "Customer request", "Fraud"} <= names


def test_name_unique_ignoring_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountStatusType.objects.create(name="ACTIVE", backend_status="active")
    assert AccountStatusType.objects.filter(name__iexact="active").count() == 1


def test_reason_name_unique_ignoring_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusReason.objects.create(name="fraud", backend_statuses=["cancelled"])


def test_second_default_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountStatusType.objects.create(name="Trial", backend_status="active", is_default=True)
    assert list(AccountStatusType.objects.filter(is_default=True).values_list("name", flat=True)) == ["Active"]


def test_cancelled_default_refused():
    AccountStatusType.objects.filter(is_default=True).update(is_default=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountStatusType.objects.filter(name="Cancelled").update(is_default=True)
    assert not AccountStatusType.objects.filter(is_default=True).exists()


def test_unknown_backend_status_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusTypeFactory(backend_status="deleted")
