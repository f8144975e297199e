"""The engine's batch path (SPEC §5, bulk status change; issue 14): one request for many accounts, and the
scheduler's pass applying due changes in chunks. Both write through the one writer of the single path, and
a property compares them with the single path on random accounts and timelines."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.engine import SkipCode, account_change_status, apply_due_change, change_status_batch, counted_types
from accounts.models import Account, StatusChange
from accounts.passes import apply_due_status_changes
from billing.models import ChargeLine, Invoice, UserPackage
from engage.errors import DomainError
from engage.models import AuditEntry, OutboxMessage
from provisioning.models import ProvisioningJob
from statuses.rules import StatusChangeState

from ..concurrency import all_succeed
from .factories import give_package, make_account, reason, status_type
from .test_time_replay_property import REASONS, START, account_plans, setup

pytestmark = pytest.mark.django_db

TODAY = date(2031, 2, 20)


def _account(i, *, type_name="Active", bill_day=15, price="30.00"):
    account = make_account(type_name=type_name, bill_day=bill_day, email=f"b{i}@example.com", name=f"Batch {i}")
    give_package(account, price=price, start=date(2031, 1, 15), next_bill=date(2031, 3, 15), name=f"P{price}")
    return account


def test_a_batch_applies_each_account_and_skips_with_the_reason():
    active = [_account(i) for i in range(3)]
    suspended = _account(3, type_name="Suspended")
    prospect_left = _account(4, type_name="Cancelled")  # left prospect: can never go back
    results = change_status_batch(
        account_ids=[a.pk for a in [*active, suspended, prospect_left]] + [999999],
        to_type=status_type("Suspended"), option="immediately_with_prorated_transaction",
        reason=reason("Non-payment"), note="wave", on=TODAY,
    )
    by_id = {r.account_id: r for r in results}
    assert [r.account_id for r in results][-1] == 999999  # the request's order
    for account in active:
        result = by_id[account.pk]
        assert result.state == StatusChangeState.APPLIED
        # 30.00 × 23 days (20 Feb – 15 Mar) ÷ 28 days = 24.64, credited
        assert [(x.kind, x.amount, x.period_start, x.period_end) for x in result.transactions] == [
            ("prorated_credit", Decimal("-24.64"), TODAY, date(2031, 3, 15))
        ]
        assert Account.objects.get(pk=account.pk).status_type.name == "Suspended"
    assert (by_id[suspended.pk].state, by_id[suspended.pk].skip_code) == ("skipped", SkipCode.SAME_STATUS)
    assert by_id[prospect_left.pk].skip_code == SkipCode.OPTION_NOT_ALLOWED  # cancelled → suspended: timing only
    assert by_id[999999].skip_code == SkipCode.UNKNOWN_ACCOUNT
    assert SkipCode(SkipCode.SAME_STATUS).label == "Already in that status"
    # Everything a single change writes: history, lines on one invoice each, jobs, e-mails, audit.
    changes = StatusChange.objects.filter(account__in=active, to_type__name="Suspended")
    assert changes.count() == 3 and set(changes.values_list("note", flat=True)) == {"wave"}
    assert Invoice.objects.filter(account__in=active, issued_on=TODAY).count() == 3
    assert set(UserPackage.objects.filter(account__in=active).values_list("next_bill_date", flat=True)) == {TODAY}
    assert ProvisioningJob.objects.filter(account__in=active, target="suspended").count() == 3
    assert OutboxMessage.objects.filter(kind="accounts.status_email").count() >= 3
    assert AuditEntry.objects.filter(object_type="status change", object_id__in=changes.values("pk")).count() == 3
    assert dict(counted_types().values_list("name", "account_count"))["Suspended"] == 4


def test_the_prospect_rule_and_a_taken_day_are_skip_reasons():
    left = _account(0, type_name="Active")  # made active: never a prospect, so it may not become one
    taken = _account(1)
    day = TODAY + timedelta(days=5)
    account_change_status(account_id=taken.pk, to_type=status_type("Cancelled"), option="specific_date",
                          effective_date=day, reason=reason("Fraud"), on=TODAY)
    prospect = status_type("Prospect")
    assert change_status_batch(account_ids=[left.pk], to_type=prospect, option="immediately_with_no_transaction",
                               on=TODAY)[0].skip_code == SkipCode.PROSPECT_RULE
    result = change_status_batch(account_ids=[taken.pk, left.pk], to_type=status_type("Suspended"),
                                 option="specific_date", effective_date=day, reason=reason("Non-payment"), on=TODAY)
    assert result[0].skip_code == SkipCode.DAY_TAKEN and "2031-02-25" in result[0].message
    assert result[1].state == StatusChangeState.PENDING and result[1].change_id is not None


@pytest.mark.parametrize(
    "request_fields, field",
    [
        ({"to_type": "Suspended", "option": "immediately_with_prorated_transaction"}, "reason"),
        ({"to_type": "Active", "option": "specific_date", "effective_date": date(2031, 2, 1)}, "effective_date"),
        ({"to_type": "Active", "option": "specific_date"}, "effective_date"),
        ({"to_type": "Active", "option": "whenever"}, "option"),
        ({"to_type": "Active", "option": "period_end", "note": "a\u202eb"}, "note"),
    ],
)
def test_a_request_invalid_for_every_account_is_refused_whole(request_fields, field):
    account = _account(0, type_name="Suspended")
    fields = {**request_fields, "to_type": status_type(request_fields["to_type"])}
    with pytest.raises(DomainError) as err:
        change_status_batch(account_ids=[account.pk], on=TODAY, **fields)
    assert err.value.field == field
    assert StatusChange.objects.filter(account=account).count() == 1  # only the one that made it suspended


def test_a_dry_run_shows_what_a_batch_would_do_and_saves_nothing():
    accounts = [_account(i) for i in range(2)]
    before = (StatusChange.objects.count(), ChargeLine.objects.count(), AuditEntry.objects.count())
    dry = change_status_batch(account_ids=[a.pk for a in accounts], to_type=status_type("Cancelled"),
                              option="immediately_with_prorated_transaction", reason=reason("Fraud"),
                              on=TODAY, dry_run=True)
    assert (StatusChange.objects.count(), ChargeLine.objects.count(), AuditEntry.objects.count()) == before
    real = change_status_batch(account_ids=[a.pk for a in accounts], to_type=status_type("Cancelled"),
                               option="immediately_with_prorated_transaction", reason=reason("Fraud"), on=TODAY)
    assert [(r.state, [(x.kind, x.amount) for x in r.transactions]) for r in dry] == [
        (r.state, [(x.kind, x.amount) for x in r.transactions]) for r in real
    ]


def _wave(n, first=0):
    return [_account(first + i).pk for i in range(n)]


def test_a_batch_and_the_due_pass_use_the_same_number_of_queries_for_5_and_40_accounts():
    suspended, non_payment = status_type("Suspended"), reason("Non-payment")
    _account(99, type_name="Suspended")  # its counter row exists: the first suspension of all creates it
    few, many = _wave(5), _wave(40, first=5)
    counts = []
    for ids in (few, many):
        with CaptureQueriesContext(connection) as queries:
            change_status_batch(account_ids=ids, to_type=suspended, option="immediately_with_prorated_transaction",
                                reason=non_payment, on=TODAY)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts

    active = status_type("Active")
    day = TODAY + timedelta(days=3)
    for ids in (few, many):
        change_status_batch(account_ids=ids, to_type=active, option="specific_date", effective_date=day + timedelta(
            days=ids is many), on=TODAY)
    counts = []
    for as_of in (day, day + timedelta(days=1)):
        with CaptureQueriesContext(connection) as queries:
            result = apply_due_status_changes(as_of=as_of)
        counts.append(len(queries))
        assert result["applied"] in (5, 40)
    assert counts[0] == counts[1], counts
    assert Account.objects.filter(pk__in=few + many, status_type=active).count() == 45


def test_the_due_pass_applies_an_accounts_changes_in_date_order_in_one_run():
    account = _account(0)
    for offset, to in ((2, "Suspended"), (4, "Active"), (6, "Cancelled")):
        account_change_status(account_id=account.pk, to_type=status_type(to), option="specific_date",
                              effective_date=TODAY + timedelta(days=offset), reason=reason(REASONS[to])
                              if to in REASONS else None, on=TODAY)
    result = apply_due_status_changes(as_of=TODAY + timedelta(days=10))
    assert result["applied"] == 3 and result["errors"] == 0
    history = StatusChange.objects.filter(account=account, state=StatusChangeState.APPLIED).order_by("executed_at",
                                                                                                     "pk")
    assert [(c.from_type.name, c.to_type.name) for c in history][-3:] == [
        ("Active", "Suspended"), ("Suspended", "Active"), ("Active", "Cancelled")
    ]
    assert Account.objects.get(pk=account.pk).cancelled_on == TODAY + timedelta(days=6)


# --- The batch path and the single path agree, on random data ------------------------------------------------

requests = st.fixed_dictionaries(
    {
        "to": st.sampled_from(["Active", "Suspended", "Cancelled", "Prospect"]),
        "option": st.sampled_from(["immediately_with_prorated_transaction", "immediately_with_full_transaction",
                                   "immediately_with_no_transaction", "period_end", "specific_date"]),
        "offset": st.integers(min_value=0, max_value=40),
    }
)


def _request(req):
    to = req["to"]
    return {
        "to_type": status_type(to), "option": req["option"],
        "effective_date": START + timedelta(days=req["offset"]) if req["option"] == "specific_date" else None,
        "reason": reason(REASONS[to]) if to in REASONS else None, "note": "same", "on": START,
    }


def _state(ids):
    """What both paths must write alike (ids of rows written during a play differ; their content not)."""
    changes = StatusChange.objects.filter(account_id__in=ids)
    change_key = {c.pk: (c.account_id, c.effective_date, c.state) for c in changes}
    return {
        "accounts": list(Account.objects.filter(pk__in=ids).order_by("pk").values_list(
            "pk", "status_type__name", "cancelled_on", "left_prospect_on", "version")),
        "changes": sorted(StatusChange.objects.filter(account_id__in=ids).values_list(
            "account_id", "effective_date", "state", "from_type__name", "to_type__name", "option", "note")),
        "lines": sorted(
            (x.account_id, x.kind, x.amount, x.period_start, x.period_end, x.user_package_id or 0,
             change_key.get(x.status_change_id, ()), x.invoice.issued_on)
            for x in ChargeLine.objects.filter(account_id__in=ids).select_related("invoice")
        ),
        "next_bill_dates": dict(UserPackage.objects.filter(account_id__in=ids).values_list("pk", "next_bill_date")),
        "counters": dict(counted_types().values_list("name", "account_count")),
        "jobs": sorted(ProvisioningJob.objects.filter(account_id__in=ids).values_list("account_id", "target")),
    }


def _played(fn, ids):
    with transaction.atomic():
        results = fn()
        state = _state(ids)
        transaction.set_rollback(True)
    return results, state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plans=st.lists(account_plans, min_size=1, max_size=4), req=requests)
def test_a_batch_does_what_the_single_changes_do(plans, req):
    with transaction.atomic():
        ids = setup(plans)
        fields = _request(req)

        def one_by_one():
            results = []
            for pk in ids:
                try:
                    outcome = account_change_status(account_id=pk, **fields)
                except DomainError as err:
                    results.append(("skipped", err.code or err.message, []))
                else:
                    results.append((outcome.state, "", [(x.kind, x.amount, x.period_start, x.period_end)
                                                        for x in outcome.transactions]))
            return results

        def batch():
            return [(r.state, r.skip_code, [(x.kind, x.amount, x.period_start, x.period_end) for x in r.transactions])
                    for r in change_status_batch(account_ids=ids, **fields)]

        try:
            single = _played(one_by_one, ids)
        except DomainError:
            single = "refused"
        try:
            together = _played(batch, ids)
        except DomainError:
            together = "refused"
        if single != "refused" and any(code and code not in SkipCode.values for _, code, _ in single[0]):
            single = "refused"  # a request-level rule refused each account: the batch refuses it whole
        assert together == single
        # The due pass, as one batch or change by change, agrees too.
        later = START + timedelta(days=45)
        by_pass = _played(lambda: apply_due_status_changes(as_of=later, chunk=3)["applied"], ids)

        def each():
            applied = 0
            while True:
                due = list(StatusChange.objects.filter(account_id__in=ids, state=StatusChangeState.PENDING,
                                                       effective_date__lte=later).order_by("effective_date", "pk")
                           .values_list("pk", flat=True))
                outcomes = [apply_due_change(pk, on=later) for pk in due]
                applied += outcomes.count("applied")
                if not any(o in ("applied", "failed") for o in outcomes):
                    return applied

        assert _played(each, ids) == by_pass
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_batches_over_the_same_accounts_at_once_change_each_account_once():
    ids = _wave(30)
    suspended, non_payment = status_type("Suspended"), reason("Non-payment")

    def wave(order):
        return change_status_batch(account_ids=order, to_type=suspended, option="immediately_with_prorated_transaction",
                                   reason=non_payment, on=TODAY)

    first, second = all_succeed(lambda: wave(ids), lambda: wave(list(reversed(ids))))
    states = [r.state for r in first] + [r.state for r in second]
    assert states.count("applied") == 30 and states.count("skipped") == 30
    assert StatusChange.objects.filter(account_id__in=ids, to_type=suspended).count() == 30
    assert ChargeLine.objects.filter(account_id__in=ids, kind="prorated_credit").count() == 30
