"""The webhook backend against a real local receiver (tests/provisioning/conftest.py FakeSwitch) that
fails in every way the issue lists: each scenario ends with every account in its desired state on the
receiver, and no step applied twice. The figures are printed (pytest -s)."""

import socket
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.audit import switch_audit
from provisioning.models import OPEN_STATES, ProvisioningJob
from provisioning.passes import provisioning_pass

from .conftest import set_status

pytestmark = pytest.mark.django_db

DESIRED = {"Active": "enabled", "Suspended": "suspended", "Cancelled": "absent"}
PLAN = ["Active", "Active", "Suspended", "Suspended", "Cancelled", "Active"]


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/engage/provision"


def converge(fake_switch, accounts, *, rounds=12, between=None):
    """Provisioning passes, ten minutes apart (longer than any back-off so far), until nothing is open."""
    now = timezone.now()
    for n in range(1, rounds + 1):
        provisioning_pass(now=now)
        if between:
            between(n)
        if not ProvisioningJob.objects.filter(state__in=OPEN_STATES).exists():
            return n
        now += timedelta(minutes=10)
    raise AssertionError("did not converge")


def assert_converged_once(fake_switch, accounts):
    for account, status in zip(accounts, PLAN, strict=True):
        assert fake_switch.state(account.pk) == DESIRED[status], (account.pk, status)
    applied = Counter(fake_switch.actions)
    expected = Counter()
    for account, status in zip(accounts, PLAN, strict=True):
        if status != "Cancelled":  # a cancelled new account is never created: its job says absent
            expected[(account.pk, "create")] += 1
        if status == "Suspended":
            expected[(account.pk, "suspend")] += 1
    assert applied == expected


def setup_accounts(make_account):
    accounts = [make_account("Active") for _ in PLAN]
    for account, status in zip(accounts, PLAN, strict=True):
        if status != "Active":
            set_status(account, status)
    return accounts


def figures(name, fake_switch, rounds, started):
    attempts = sum(ProvisioningJob.objects.values_list("attempts", flat=True))
    print(f"\nSCENARIO {name}: {len(PLAN)} accounts, {ProvisioningJob.objects.count()} jobs, "
          f"{len(fake_switch.requests)} requests, {attempts} attempts, {rounds} passes, "
          f"{time.monotonic() - started:.2f} s")


@pytest.mark.parametrize("fault, count, timeout", [
    ("500", 6, 2.0),       # the first six requests answer 500
    ("hang", 4, 0.3),      # four never answer
    ("trickle", 3, 0.5),   # three answer one byte every 0.2 s
    ("garbage", 3, 2.0),   # three answer an HTML page
])
def test_faulty_answers_converge_without_doubles(fault, count, timeout, make_account, fake_switch, settings,
                                                 no_inline_dispatch):
    settings.ENGAGE_WEBHOOK_TIMEOUT = timeout
    accounts = setup_accounts(make_account)
    fake_switch.answer_next(*[fault] * count)
    started = time.monotonic()
    rounds = converge(fake_switch, accounts)
    fake_switch.delay_event.set()
    figures(fault, fake_switch, rounds, started)
    assert rounds >= 2  # the faults failed jobs, which were retried
    assert_converged_once(fake_switch, accounts)


def test_a_receiver_down_for_three_passes(make_account, fake_switch, settings, no_inline_dispatch):
    accounts = setup_accounts(make_account)
    real = settings.ENGAGE_WEBHOOK_URL
    settings.ENGAGE_WEBHOOK_URL = closed_port_url()

    def back_after_three(n):
        if n == 3:
            settings.ENGAGE_WEBHOOK_URL = real

    started = time.monotonic()
    rounds = converge(fake_switch, accounts, between=back_after_three)
    figures("down for three passes", fake_switch, rounds, started)
    assert rounds == 4
    assert_converged_once(fake_switch, accounts)


def test_tampered_requests_are_refused_until_the_secret_agrees(make_account, fake_switch, settings,
                                                               no_inline_dispatch):
    accounts = setup_accounts(make_account)
    settings.ENGAGE_WEBHOOK_SECRET = "a-secret-the-receiver-does-not-share"

    def fixed(n):
        settings.ENGAGE_WEBHOOK_SECRET = "test-secret-0123456789"

    started = time.monotonic()
    rounds = converge(fake_switch, accounts, between=fixed)
    figures("tampered (wrong secret) then fixed", fake_switch, rounds, started)
    refused = [r for r in fake_switch.requests if not r["signature_ok"]]
    assert len(refused) == len(PLAN) and {r["why"] for r in refused} == {"bad signature"}
    assert_converged_once(fake_switch, accounts)


def test_drift_on_the_switch_is_repaired_by_the_audit(make_account, fake_switch, no_inline_dispatch):
    accounts = setup_accounts(make_account)
    converge(fake_switch, accounts)
    fake_switch.states[accounts[0].pk] = "suspended"  # changed on the switch directly
    fake_switch.states[accounts[4].pk] = "enabled"  # a cancelled account put back
    fake_switch.states.pop(accounts[2].pk)  # a suspended one removed
    started = time.monotonic()
    summary = switch_audit()
    rounds = converge(fake_switch, accounts)
    figures("drift on the switch", fake_switch, rounds, started)
    assert summary.drifted == 3
    for account, status in zip(accounts, PLAN, strict=True):
        assert fake_switch.state(account.pk) == DESIRED[status]
    assert fake_switch.actions[(accounts[0].pk, "resume")] == 1
    assert fake_switch.actions[(accounts[4].pk, "remove")] == 1
    assert fake_switch.actions[(accounts[2].pk, "create")] == 2
    assert fake_switch.actions[(accounts[2].pk, "suspend")] == 2
