"""SPEC §5: many people changing statuses at once, for real against PostgreSQL. 50 threads (each with
its own connection) call the engine `account_change_status` at once, toggling Active ↔ Suspended with
the prorated option: on ONE account, then on 50 accounts (each thread four changes over four accounts
that other threads change too). Refused requests raise the engine's DomainError/ConflictError, never
anything else (no deadlock, no crash); the history of every account is one consistent chain; the lines
match the applied changes; the counters equal a recount; the switch follows.
"""

import time
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from accounts.engine import account_change_status
from accounts.models import Account, StatusChange
from billing.models import ChargeLine, UserPackage
from engage.errors import ConflictError, DomainError
from provisioning.models import ProvisioningJob, SwitchEntry
from provisioning.passes import drifted_accounts, provisioning_pass
from tests.accounts.factories import give_package, make_account, reason, status_type
from tests.concurrency import run_at_once

from .conftest import assert_counters_match_a_recount

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 50
ON = date(2031, 3, 16)  # bill day 1: period [1 March, 1 April), 31 days; 16 of them from the 16th
PRICE = Decimal("31.00")
PRORATED = Decimal("16.00")  # 31.00 × 16 ÷ 31
OPPOSITE = {"Active": "Suspended", "Suspended": "Active"}


def change(account_id: int, to: str, *, version: int | None = None):
    return account_change_status(
        account_id=account_id,
        to_type=status_type(to),
        option="immediately_with_prorated_transaction",
        reason=reason("Non-payment" if to == "Suspended" else "Payment received"),
        expected_version=version,
        on=ON,
    )


def attempt(account_id: int, *, toggle: bool, fixed: str) -> tuple:
    """One request as a person makes it: read the account, then ask for the opposite status with the
    version read (toggle), or ask for a fixed status without a version. Only DomainError is a refusal."""
    if toggle:
        version, current = Account.objects.filter(pk=account_id).values_list("version", "status_type__name").get()
        to = OPPOSITE[current]
    else:
        version, to = None, fixed
    try:
        outcome = change(account_id, to, version=version)
    except ConflictError as err:
        return account_id, to, "conflict", err.message
    except DomainError as err:
        return account_id, to, "refused", err.message
    assert outcome.state == "applied"
    return account_id, to, "applied", outcome.change.pk


def setup_accounts(n: int) -> list[int]:
    ids = []
    for i in range(n):
        account = make_account(bill_day=1, name=f"Busy {i}", email=f"busy{i}@example.com")
        give_package(account, price=str(PRICE), start=date(2031, 1, 1), next_bill=date(2031, 4, 1))
        ids.append(account.pk)
    provisioning_pass(as_of=ON)  # each new account is on the switch before the rush
    return ids


def check(account_ids: list[int], results: list) -> dict:
    crashes = [r for r in results if isinstance(r, BaseException)]
    assert not crashes, f"{len(crashes)} threads crashed: {crashes[:3]!r}"
    outcomes = [o for r in results for o in (r if isinstance(r, list) else [r])]
    applied = defaultdict(list)
    for account_id, _to, what, detail in outcomes:
        if what == "applied":
            applied[account_id].append(detail)
    figures = Counter(what for _a, _to, what, _d in outcomes)
    messages = Counter(detail for _a, _to, what, detail in outcomes if what != "applied")

    for account_id in account_ids:
        history = list(StatusChange.objects.filter(account_id=account_id).order_by("id").values_list(
            "id", "state", "from_type__name", "to_type__name", "option", "effective_date"))
        # Every change in the history is one a caller was told was applied, and the other way round.
        assert sorted(h[0] for h in history) == sorted(applied[account_id])
        previous = "Active"
        for _id, state, from_name, to_name, option, effective in history:
            assert state == "applied" and option == "immediately_with_prorated_transaction" and effective == ON
            assert from_name == previous, f"account {account_id}: broken chain {history}"
            previous = to_name
        account = Account.objects.select_related("status_type").get(pk=account_id)
        assert account.status_type.name == previous
        assert account.version == 1 + len(history)
        # One line per applied change: −16.00 on a suspension (the unused, billed part of March), +16.00
        # on an enable (the rest of March, not billed since the suspension).
        lines = list(ChargeLine.objects.filter(account_id=account_id).order_by("id").values_list(
            "status_change_id", "kind", "amount"))
        assert lines == [
            (change_id, "prorated_credit", -PRORATED) if to == "Suspended" else
            (change_id, "prorated_charge", PRORATED)
            for change_id, _s, _f, to, _o, _e in history
        ]
        up = UserPackage.objects.get(account_id=account_id)
        assert up.next_bill_date == (date(2031, 4, 1) if previous == "Active" else ON)
        jobs = ProvisioningJob.objects.filter(account_id=account_id).count()
        assert jobs == 1 + len(history)  # the creation's job and one per applied change

    assert_counters_match_a_recount()
    summary = provisioning_pass(as_of=ON)
    assert summary.failed == 0
    assert not drifted_accounts().exists()
    assert not ProvisioningJob.objects.filter(state__in=["pending", "failed"]).exists()
    final = dict(Account.objects.filter(pk__in=account_ids).values_list("id", "status_type__name"))
    entries = dict(SwitchEntry.objects.filter(account_id__in=account_ids).values_list("account_id", "state"))
    assert entries == {a: "enabled" if t == "Active" else "suspended" for a, t in final.items()}
    return {"outcomes": dict(figures), "messages": dict(messages), "final": dict(Counter(final.values())),
            "applied": sum(len(v) for v in applied.values()), "provisioning afterwards": str(summary)}


def test_fifty_concurrent_changes_on_one_account():
    t0 = time.monotonic()
    (account_id,) = setup_accounts(1)

    def one(i):
        return lambda: attempt(account_id, toggle=i % 2 == 0, fixed="Suspended" if i % 4 == 1 else "Active")

    started = time.monotonic()
    results = run_at_once(*[one(i) for i in range(THREADS)], timeout=120)
    took = time.monotonic() - started
    figures = check([account_id], results)
    print(f"\none account, {THREADS} threads in {took:.1f}s: {figures}; test took {time.monotonic() - t0:.1f}s")
    assert figures["applied"] >= 1
    assert connection.vendor == "postgresql"


def test_fifty_threads_changing_fifty_accounts():
    t0 = time.monotonic()
    account_ids = setup_accounts(THREADS)

    def worker(i):
        def run():
            return [
                attempt(account_ids[(i + k) % THREADS], toggle=(i + k) % 2 == 0,
                        fixed="Suspended" if (i + k) % 4 == 1 else "Active")
                for k in range(4)
            ]
        return run

    started = time.monotonic()
    results = run_at_once(*[worker(i) for i in range(THREADS)], timeout=180)
    took = time.monotonic() - started
    figures = check(account_ids, results)
    print(f"\n{THREADS} accounts, {THREADS} threads × 4 changes in {took:.1f}s: {figures}; "
          f"test took {time.monotonic() - t0:.1f}s")
    assert figures["applied"] >= THREADS
