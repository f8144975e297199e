"""Two administrators at once: the database constraints decide, and the loser reads the same message."""

import pytest

from engage.errors import FieldErrors
from statuses import services
from statuses.models import AccountStatusType
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_same_name_twice_at_once_saves_one():
    results = run_at_once(*[lambda n=n: services.status_type_create(name=n, backend_status="active")
                      for n in ("Trial", "TRIAL")])
    assert sum(isinstance(r, AccountStatusType) for r in results) == 1
    (error,) = [r for r in results if isinstance(r, FieldErrors)]
    assert list(error.errors) == ["name"]
    assert "already exists" in error.errors["name"][0]
    assert AccountStatusType.objects.filter(name__iexact="trial").count() == 1


def test_two_default_moves_at_once_leave_exactly_one_default():
    # serialized_rollback restores the data migration's types (Active is the default).
    results = run_at_once(*[lambda n=n: services.status_type_update(AccountStatusType.objects.get(name=n),
                                                              is_default=True, replace_default=True)
                      for n in ("Suspended", "Prospect")])
    assert all(isinstance(r, AccountStatusType) for r in results), results
    assert AccountStatusType.objects.filter(is_default=True).count() == 1
    assert AccountStatusType.objects.get(is_default=True).name in ("Suspended", "Prospect")
