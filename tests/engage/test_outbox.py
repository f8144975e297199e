"""The outbox and the quick hand-over (SPEC §6): the broker never decides a request, no e-mail is lost,
each is sent once."""

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.engine import account_change_status
from engage import broker, outbox
from engage.celery import app
from engage.models import OutboxMessage

from ..accounts.factories import make_account, reason, status_type

pytestmark = pytest.mark.django_db


def suspend(account):
    return account_change_status(
        account_id=account.pk, to_type=status_type("Suspended"), option="immediately_with_no_transaction",
        reason=reason("Non-payment"),
    )


def later(**delta):
    return timezone.now() + timedelta(**delta)


def test_the_email_is_a_row_written_with_the_change_and_sent_after_commit(django_capture_on_commit_callbacks):
    account = make_account(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        change = suspend(account).change
    message = OutboxMessage.objects.get()
    assert (message.kind, message.payload) == ("accounts.status_email", {"change_id": change.pk})
    assert message.done_at is not None and message.handovers == 1
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_a_rolled_back_change_leaves_no_message():
    account = make_account()
    with pytest.raises(RuntimeError), transaction.atomic():
        suspend(account)
        assert OutboxMessage.objects.count() == 1
        raise RuntimeError
    assert not OutboxMessage.objects.exists()


def test_broker_down_the_change_stands_and_the_relay_sends_the_email_once(
    django_capture_on_commit_callbacks, broker_down, monkeypatch
):
    accounts = [make_account(email=f"c{i}@example.com") for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for account in accounts:
            suspend(account)  # no exception
    assert mail.outbox == []
    assert OutboxMessage.objects.filter(done_at=None, handed_at=None).count() == 5
    assert outbox.relay() == 0  # too fresh: the after-commit hand-over may still be on its way
    assert outbox.relay(now=later(minutes=1)) == 0  # the broker is still down
    monkeypatch.undo()  # the broker is back
    assert outbox.relay(now=later(minutes=1)) == 5
    assert sorted(m.to[0] for m in mail.outbox) == [f"c{i}@example.com" for i in range(5)]
    # Handed over again (a relay, a redelivery): done already, nothing is sent twice.
    assert outbox.relay(now=later(hours=1)) == 0
    assert [outbox.deliver(m.pk) for m in OutboxMessage.objects.all()] == [False] * 5
    assert len(mail.outbox) == 5


def test_a_failing_send_stays_open_with_its_error_and_is_retried(django_capture_on_commit_callbacks, monkeypatch):
    from accounts.engine import notifications

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError(111, "SMTP refused")

    monkeypatch.setattr(notifications, "send_mail", smtp_down)
    account = make_account(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        suspend(account)
    message = OutboxMessage.objects.get()
    assert message.done_at is None and message.failures == 1 and "SMTP refused" in message.last_error
    assert outbox.relay(now=later(minutes=1)) == 0  # handed over just now: wait RETRY_AFTER
    monkeypatch.undo()
    assert outbox.relay(now=later(minutes=6)) == 1
    message.refresh_from_db()
    assert message.done_at is not None and message.handovers == 2
    assert len(mail.outbox) == 1


@pytest.fixture
def real_broker_at(settings, monkeypatch):
    """Point the app at a Redis URL for real (not eager) hand-overs."""
    saved = app.conf.broker_url

    def point(url):
        app.conf.task_always_eager = False
        app.conf.broker_url = url
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads it before its own setting

    yield point
    app.conf.broker_url = saved
    app.conf.task_always_eager = True


@pytest.fixture
def hung_port():
    """A listener that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def refused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_a_hand_over_gives_up_within_a_second_then_pauses(kind, real_broker_at, request):
    port = refused_port() if kind == "refused" else request.getfixturevalue("hung_port")
    real_broker_at(f"redis://127.0.0.1:{port}/0")
    started = time.perf_counter()
    assert broker.send(outbox.deliver_task, 1) is False
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert broker.send(outbox.deliver_task, 2) is False  # paused: not even tried
    second = time.perf_counter() - started
    assert first < 1.0, first
    assert second < 0.01, second


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_requests_answer_quickly_and_save_everything_while_the_broker_is_down(
    kind, real_broker_at, request, api_support, django_capture_on_commit_callbacks
):
    port = refused_port() if kind == "refused" else request.getfixturevalue("hung_port")
    real_broker_at(f"redis://127.0.0.1:{port}/0")
    timings = []
    for i in range(4):
        started = time.perf_counter()
        with django_capture_on_commit_callbacks(execute=True):  # the after-commit hand-overs run, and fail
            created = api_support.post(
                "/api/v1/accounts/", {"name": f"C{i}", "email": f"c{i}@example.com", "bill_day": 3}
            )
        with django_capture_on_commit_callbacks(execute=True):
            changed = api_support.post(
                f"/api/v1/accounts/{created.json()['id']}/status-changes/",
                {"status_type": status_type("Suspended").pk, "option": "immediately_with_no_transaction",
                 "reason": reason("Non-payment").pk},
                format="json",
            )
        timings.append(time.perf_counter() - started)
        assert (created.status_code, changed.status_code) == (201, 201)
    assert max(timings) < 2.0, timings
    assert OutboxMessage.objects.filter(done_at=None, handed_at=None).count() == 4  # kept for the relay
    from provisioning.models import ProvisioningJob

    assert ProvisioningJob.objects.filter(state="pending").count() == 8  # created, then suspended: for the pass
