"""`__any`: membership in a list of ids sent as one parameter on PostgreSQL (`= ANY(%s)`), `IN (…)` elsewhere;
the same rows as `__in` either way, empty lists included."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from tests.accounts.factories import make_account

pytestmark = pytest.mark.django_db


def test_any_selects_what_in_selects_with_one_parameter_on_postgresql():
    accounts = [make_account(name=f"Any {i}", email=f"any{i}@example.com") for i in range(4)]
    wanted = [accounts[2].pk, accounts[0].pk, 10_000_000]
    with CaptureQueriesContext(connection) as queries:
        found = sorted(Account.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert found == sorted(Account.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    assert found == sorted([accounts[0].pk, accounts[2].pk])
    sql = queries.captured_queries[0]["sql"]
    assert ("= ANY(" in sql) if connection.vendor == "postgresql" else (" IN (" in sql)
    others = set(Account.objects.exclude(pk__any=wanted).values_list("pk", flat=True))
    assert others == {accounts[1].pk, accounts[3].pk}
    assert Account.objects.filter(pk__any=set(wanted)).count() == 2  # any iterable of ids


def test_an_empty_list_matches_nothing_and_excludes_nothing():
    make_account(name="Any empty", email="any-empty@example.com")
    assert not Account.objects.filter(pk__any=[]).exists()
    assert Account.objects.exclude(pk__any=[]).count() == Account.objects.count() == 1
    assert Account.objects.filter(pk__any=[]).update(name="changed") == 0
