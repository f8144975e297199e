"""Provisioning you can trust (issue 17): ordered by version, a deadline a trickling receiver cannot
stretch, replay-proof signatures, no credentials in errors."""

import socket
import threading
import time
import urllib.request

import pytest

from provisioning.backends import AccountRef, BackendError
from provisioning.backends.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    signed_message,
    verify,
)
from provisioning.backends.webhook import Backend as WebhookBackend
from provisioning.models import JobState, ProvisioningJob
from provisioning.runner import run_account_jobs

from .conftest import WEBHOOK_SECRET, set_status

pytestmark = pytest.mark.django_db


# --- order: a late request never undoes a newer one ----------------------------------------------------


def test_a_suspend_that_lands_after_a_newer_enable_is_ignored_by_version(make_account, fake_switch, settings):
    settings.ENGAGE_WEBHOOK_TIMEOUT = 0.3
    account = make_account("Active")
    run_account_jobs(account.pk)
    assert fake_switch.state(account.pk) == "enabled"

    suspend = set_status(account, "Suspended")
    fake_switch.answer_next("ok", "late")  # the read answers; the suspend is applied only much later
    run_account_jobs(account.pk)
    assert ProvisioningJob.objects.get(pk=suspend.pk).state == JobState.FAILED  # Engage gave up on it

    enable = set_status(account, "Active")
    run_account_jobs(account.pk)  # reads "enabled" (the suspend has not landed): nothing to send
    assert ProvisioningJob.objects.get(pk=enable.pk).state == JobState.DONE
    assert enable.pk > suspend.pk

    fake_switch.delay_event.set()  # now the old suspend arrives at the switch
    status, answer = fake_switch.wait_for_answer(account.pk, "suspend")
    assert status == 409 and b"older than" in answer  # refused: version older than the enable's read
    assert fake_switch.state(account.pk) == "enabled"
    assert fake_switch.actions[(account.pk, "suspend")] == 0


def test_every_request_of_a_job_carries_its_version_under_the_signature(make_account, fake_switch):
    account = make_account("Active")
    job = ProvisioningJob.objects.get(account=account)
    run_account_jobs(account.pk)
    assert {r["body"]["version"] for r in fake_switch.requests} == {job.pk}
    assert all(r["signature_ok"] for r in fake_switch.requests)


# --- a deadline for the whole call ---------------------------------------------------------------------


@pytest.fixture
def trickling_receiver():
    """Answers with headers, then one byte of body every 0.2 s, forever (until the client hangs up)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(0.2)
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    server.close()


def test_a_trickling_receiver_cannot_stretch_the_deadline(trickling_receiver):
    backend = WebhookBackend(url=trickling_receiver, secret="s", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"^Webhook did not answer read within 0.5 s"):
        backend.read_state(AccountRef(1, "100001", 7), idempotency_key="k")
    assert time.monotonic() - started < 1.0  # each byte came within the socket timeout: 0.5 s in all


# --- replay-proof signatures -----------------------------------------------------------------------------


def _captured(make_account, fake_switch):
    """A real request as it crossed the network: its headers and body, resent later by an attacker."""
    captured = {}
    original = fake_switch.handle

    def capture(headers, raw):
        if not captured and b'"action":"create"' in raw:
            captured.update(headers=dict(headers), raw=raw)
        return original(headers, raw)

    fake_switch.handle = capture
    account = make_account("Active")
    run_account_jobs(account.pk)
    fake_switch.handle = original
    return account, captured["headers"], captured["raw"]


def _resend(url, headers, raw):
    request = urllib.request.Request(url, data=raw, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_replayed_request_with_a_new_key_or_old_timestamp_is_refused(make_account, fake_switch):
    account, headers, raw = _captured(make_account, fake_switch)
    assert verify(WEBHOOK_SECRET, headers, raw) == ""
    # A new Idempotency-Key on the captured body: the signature no longer matches.
    assert _resend(fake_switch.url, {**headers, IDEMPOTENCY_HEADER: "new-key:create"}, raw) == 401
    assert fake_switch.requests[-1]["why"] == "bad signature"
    # A fresh timestamp without the secret: the same.
    later = str(int(headers[TIMESTAMP_HEADER]) + 30)
    assert _resend(fake_switch.url, {**headers, TIMESTAMP_HEADER: later}, raw) == 401
    # The captured request as it was, six minutes later: stale.
    assert verify(WEBHOOK_SECRET, headers, raw, now=time.time() + 360) == "stale timestamp"
    # Sent again at once, as captured: the receiver has seen the key and does nothing twice.
    assert fake_switch.actions[(account.pk, "create")] == 1
    assert _resend(fake_switch.url, headers, raw) == 200
    assert fake_switch.actions[(account.pk, "create")] == 1


def test_verify_refuses_a_tampered_body():
    body = b'{"action":"create","account":{"id":1,"number":"100001"},"version":3}'
    stamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: stamp, IDEMPOTENCY_HEADER: "k:create",
               SIGNATURE_HEADER: sign("secret", signed_message(stamp, "k:create", body))}
    assert verify("secret", headers, body) == ""
    assert verify("secret", headers, body.replace(b'"id":1', b'"id":2')) == "bad signature"


# --- credentials in the URL ------------------------------------------------------------------------------


def test_url_credentials_are_sent_as_basic_auth_and_never_shown_in_errors(caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = WebhookBackend(url=f"http://engage:s3cret@127.0.0.1:{port}/x", secret="s", timeout=1)
    with pytest.raises(BackendError) as failed:
        backend.read_state(AccountRef(1, "100001"), idempotency_key="k")
    assert str(failed.value).startswith(f"Webhook at http://127.0.0.1:{port}/x could not be reached for read")
    assert "s3cret" not in str(failed.value) and "s3cret" not in caplog.text


# --- no lock while calling; many slow receivers in parallel ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_pass_calls_many_slow_receivers_at_once(make_account, fake_switch, settings, no_inline_dispatch):
    settings.ENGAGE_WEBHOOK_TIMEOUT = 1.0
    settings.ENGAGE_PROVISIONING_CONCURRENCY = 8
    hanging = [make_account("Active") for _ in range(5)]
    fine = make_account("Active")
    fake_switch.hang_accounts = {a.pk for a in hanging}
    from provisioning.passes import provisioning_pass

    started = time.monotonic()
    summary = provisioning_pass()
    took = time.monotonic() - started
    fake_switch.delay_event.set()
    assert (summary.done, summary.failed) == (1, 5)
    assert took < 2.0, took  # about one deadline (1 s), not five
    assert fake_switch.state(fine.pk) == "enabled"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_hanging_call_holds_no_lock_on_any_account(make_account, fake_switch, settings, no_inline_dispatch):
    """While the pass waits on a hanging receiver, status changes (another account, and the same one)
    go through at once, on PostgreSQL and on the SQLite default."""
    from accounts.engine import account_change_status
    from provisioning.passes import provisioning_pass

    from ..accounts.factories import reason, status_type

    settings.ENGAGE_WEBHOOK_TIMEOUT = 1.5
    hanging = make_account("Active")
    other = make_account("Active")
    ProvisioningJob.objects.filter(account=other).update(state=JobState.DONE)
    fake_switch.hang_accounts = {hanging.pk}

    def run_pass():
        from django.db import connection

        try:
            provisioning_pass()
        finally:
            connection.close()

    thread = threading.Thread(target=run_pass)
    thread.start()
    deadline = time.monotonic() + 5
    while not fake_switch.requests and time.monotonic() < deadline:
        time.sleep(0.01)  # the call is in flight now
    timings = []
    for account in (other, hanging):
        started = time.monotonic()
        account_change_status(account_id=account.pk, to_type=status_type("Suspended"),
                              option="immediately_with_no_transaction", reason=reason("Non-payment"))
        timings.append(time.monotonic() - started)
    thread.join(15)
    fake_switch.delay_event.set()
    assert max(timings) < 0.5, timings
    # The change's newer job was taken up by the same worker after the hanging call failed (and hung too).
    assert ProvisioningJob.objects.get(account=hanging, target="enabled").state == JobState.SUPERSEDED
    assert ProvisioningJob.objects.get(account=hanging, target="suspended").state == JobState.FAILED


def test_a_newer_job_runs_at_once_even_when_the_one_before_it_failed(make_account, fake_switch):
    """A status change while its account's job is failing: the worker that holds the account runs the new
    job in its next round, instead of leaving it to the next pass."""
    from django.db import connection

    account = make_account("Active")
    run_account_jobs(account.pk)
    older = set_status(account, "Cancelled")
    ProvisioningJob.objects.filter(pk=older.pk).update(state=JobState.PENDING)
    fake_switch.answer_next("500")  # the receiver fails the read
    newer = {}

    def a_change_comes_as_the_failure_is_recorded(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "provisioning_provisioningjob"') and '"last_error"' in sql and not newer:
            newer["job"] = set_status(account, "Suspended")
        return result

    with connection.execute_wrapper(a_change_comes_as_the_failure_is_recorded):
        result = run_account_jobs(account.pk)
    assert ProvisioningJob.objects.get(pk=older.pk).state == JobState.SUPERSEDED  # failed, then superseded
    assert ProvisioningJob.objects.get(pk=newer["job"].pk).state == JobState.DONE
    assert result.outcome == "done" and fake_switch.state(account.pk) == "suspended"
