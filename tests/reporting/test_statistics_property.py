"""After any sequence of account creations and status changes (now, or dated and applied by the
scheduler, and refused ones), the per-type counters equal a recount of the accounts table, and the
sidebar rows equal the SPEC §8 sum computed from the accounts themselves."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.engine import account_change_status, recount_status_types
from accounts.models import Account
from accounts.passes import apply_due_status_changes
from accounts.services import account_create
from engage.errors import DomainError
from reporting.selectors import account_statistics
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import STATISTICS_ORDER, BackendStatus

pytestmark = pytest.mark.django_db

DAY = date(2031, 6, 1)
EXTRA_TYPES = [("Trial", "active", True), ("Grace", "active", False), ("Lead", "prospect", True),
               ("Churned", "cancelled", True), ("Hold", "suspended", False)]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 20)),
        st.tuples(st.just("now"), st.integers(0, 20), st.integers(0, 20)),
        st.tuples(st.just("dated"), st.integers(0, 20), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=25,
)


def _reason_for(backend: str):
    # Any reason that applies to the target (required for cancelled and suspended, allowed otherwise).
    return next((r for r in StatusReason.objects.filter(is_active=True) if r.applies_to(backend)), None)


def _expected_rows():
    per_type = Counter(Account.objects.values_list("status_type_id", flat=True))
    totals: dict[str, int] = {}
    for t in AccountStatusType.objects.filter(show_in_statistics=True):
        totals[t.backend_status] = totals.get(t.backend_status, 0) + per_type[t.pk]
    return [
        {"backend_status": s.value, "label": BackendStatus(s).label, "count": totals[s]}
        for s in STATISTICS_ORDER
        if s in totals
    ]


@pytest.fixture
def extra_types():
    for name, backend, shown in EXTRA_TYPES:
        AccountStatusType.objects.create(name=name, backend_status=backend, show_in_statistics=shown)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_counters_equal_a_recount_after_any_sequence(extra_types, steps):
    with transaction.atomic():  # each example starts from the same database
        types = list(AccountStatusType.objects.order_by("pk"))
        creatable = [t for t in types if t.backend_status in ("active", "prospect")]
        accounts: list[int] = []
        day = DAY
        applied = refused = 0
        for step in steps:
            day += timedelta(days=1)
            if step[0] == "create" or not accounts:
                t = creatable[step[-1] % len(creatable)]
                accounts.append(account_create(name="P", email="p@example.com", bill_day=1, status_type=t).pk)
                continue
            kind, which, target = step
            account_id = accounts[which % len(accounts)]
            to_type = types[target % len(types)]
            reason = _reason_for(to_type.backend_status)
            try:
                if kind == "now":
                    account_change_status(account_id=account_id, to_type=to_type,
                                          option="immediately_with_no_transaction", reason=reason, on=day)
                else:
                    account_change_status(account_id=account_id, to_type=to_type, option="specific_date",
                                          effective_date=day + timedelta(days=1), reason=reason, on=day)
                    day += timedelta(days=1)
                    apply_due_status_changes(as_of=day)
                applied += 1
            except DomainError:  # same status, or back to prospect: refused, and nothing moves
                refused += 1
        assert recount_status_types(fix=False) == {}
        assert account_statistics() == _expected_rows()
        transaction.set_rollback(True)


def test_a_refused_change_and_a_failed_dated_change_move_no_counter():
    account = account_create(name="X", email="x@example.com", bill_day=1,
                             status_type=AccountStatusType.objects.get(name="Active"))
    with pytest.raises(DomainError):
        account_change_status(account_id=account.pk, to_type=AccountStatusType.objects.get(name="Prospect"),
                              option="immediately_with_no_transaction", on=DAY)
    # A dated change that becomes invalid before its date is marked failed when applied.
    account_change_status(account_id=account.pk, to_type=AccountStatusType.objects.get(name="Suspended"),
                          option="specific_date", effective_date=DAY + timedelta(days=3),
                          reason=_reason_for("suspended"), on=DAY)
    StatusReason.objects.update(is_active=False)
    assert apply_due_status_changes(as_of=DAY + timedelta(days=3))["failed"] == 1
    assert recount_status_types(fix=False) == {}
    assert [(r["backend_status"], r["count"]) for r in account_statistics()][:1] == [("active", 1)]
