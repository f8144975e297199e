"""SPEC §6: "the broker never decides a request" and "No e-mail and no job is ever lost; each is sent once."

A real HTTP server (pytest-django's live_server, a thread of this process) serves the API and the pages
while this process's Celery app points at a broker that refuses connections (a bound port that does not
listen) or at one that hangs (a listener thread that accepts and never answers). Every request that causes
background work (an account created → a provisioning job; a status change now → a job and a status
e-mail, an outbox row) is timed: each answers in < 2 s with its status. engage.broker pauses hand-overs
for 15 s after a failure; to time the worst case, the pause is forgotten (`broker.reset()`) before every
request that writes, so each of them pays a failed hand-over.

Then the broker comes back: the app points at the real Redis, a real worker subprocess consumes (its
e-mails go to the file backend in a tmp dir, so they can be counted), the outbox relay and a provisioning
pass run, and every e-mail is sent exactly once, every job is done and every switch entry is in its
account's desired state. Relaying again and delivering a done message again (in-process and through the
broker) send nothing more.
"""

import socket
import statistics
import threading
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.engine.notifications import EMAIL
from accounts.models import Account
from engage import broker
from engage.celery import app
from engage.models import OutboxMessage
from engage.outbox import HANDOVER_GRACE, deliver, hand_over, relay
from engage.tokens import make_token
from provisioning.models import OPEN_STATES, JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import provisioning_pass
from statuses.rules import ChangeOption, switch_state
from tests.accounts.factories import reason, status_type

from .conftest import WORKER_TEST, wait_for

pytestmark = WORKER_TEST

LIMIT = 2.0  # seconds: every request answers within this, whatever the broker does
ROUNDS = 4  # per broker mode: each round is 5 requests (create, suspend, enable, overview, API GET)


class HungBroker:
    """Accepts TCP connections and never answers (nor reads): a hung Redis."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="hung-broker", daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.server.close()
        for conn in self.accepted:
            conn.close()


class RefusingPort:
    """A port bound by nothing that listens: every connection is refused (RST) at once."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def point_celery_at(url: str, monkeypatch) -> None:
    """This process's hand-overs go to `url` (Celery reads CELERY_BROKER_URL from the environment first)."""
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    assert app.connection_for_write().as_uri().endswith(url.rsplit("@", 1)[-1].split("//", 1)[1])
    broker.reset()


class Site:
    """Requests to the live server with a token (API) and a session (pages), each one timed."""

    def __init__(self, base: str, token: str, session_cookie: str):
        self.base = base
        self.token = token
        self.cookie = session_cookie
        self.timings: list[tuple[str, float, int]] = []
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, method: str, path: str, body: dict | None = None, *, api=True, expect: int) -> dict | str:
        import json

        headers = {"Authorization": f"Token {self.token}"} if api else {"Cookie": self.cookie}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        started = time.perf_counter()
        try:
            with self.opener.open(req, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        took = time.perf_counter() - started
        self.timings.append((f"{method} {path}", took, status))
        assert status == expect, f"{method} {path}: {status} (expected {expect}): {payload[:500]!r}"
        assert took < LIMIT, f"{method} {path} took {took:.3f}s"
        if api and payload and status < 300:
            return json.loads(payload)
        return payload.decode(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def use_the_site(site: Site, *, label: str) -> list[int]:
    """ROUNDS × (create an account, suspend it now, enable it now, its overview page, its API GET); each
    write request first forgets any broker failure, so it tries (and fails) to hand its work over."""
    suspended, active = status_type("Suspended"), status_type("Active")
    ids = []
    for i in range(ROUNDS):
        broker.reset()
        account = site.request("POST", "/api/v1/accounts/", {
            "name": f"{label} {i}", "email": f"{label.lower()}{i}@example.com", "bill_day": 1 + i,
        }, expect=201)
        ids.append(account["id"])
        path = f"/api/v1/accounts/{account['id']}/status-changes/"
        broker.reset()
        change = site.request("POST", path, {
            "status_type": suspended.pk, "option": ChangeOption.NO_TRANSACTION,
            "reason": reason("Non-payment").pk,
        }, expect=201)
        assert change["state"] == "applied", change
        broker.reset()
        change = site.request("POST", path, {"status_type": active.pk, "option": ChangeOption.NO_TRANSACTION},
                              expect=201)
        assert change["state"] == "applied", change
        page = site.request("GET", f"/accounts/{account['id']}/", api=False, expect=200)
        assert f"{label} {i}" in page
        assert site.request("GET", f"/api/v1/accounts/{account['id']}/", expect=200)["id"] == account["id"]
    return ids


def summary(site: Site, label: str) -> str:
    times = [t for _, t, _ in site.timings]
    slowest = max(site.timings, key=lambda row: row[1])
    return (f"{label}: {len(times)} requests, max {max(times) * 1000:.0f} ms ({slowest[0]}), "
            f"median {statistics.median(times) * 1000:.0f} ms")


def emails_in(directory: Path) -> list[str]:
    """The recipients of the e-mails the file backend wrote (one 'To:' header per message)."""
    if not directory.exists():
        return []
    recipients = []
    for file in directory.iterdir():
        for line in file.read_text(errors="replace").splitlines():
            if line.startswith("To: "):
                recipients.append(line[4:].strip())
    return recipients


def test_requests_stay_fast_with_the_broker_refused_or_hung_and_nothing_is_lost_when_it_is_back(
    live_server, admin_user, workers, tmp_path, monkeypatch,
):
    real_broker = settings.CELERY_BROKER_URL
    default_queue = app.conf.task_default_queue
    client = Client()
    client.force_login(admin_user)
    cookie = SimpleCookie()
    cookie[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    session = cookie.output(attrs=[], header="").strip()
    token = make_token(admin_user, name="test")[1]
    assert not app.conf.task_always_eager  # the workers fixture: tasks go to the broker

    refused, hung = RefusingPort(), HungBroker()
    lines = []
    started = time.perf_counter()
    try:
        account_ids = []
        for label, port in (("Refused", refused.port), ("Hung", hung.port)):
            point_celery_at(f"redis://127.0.0.1:{port}/0", monkeypatch)
            site = Site(live_server.url, token, session)
            account_ids += use_the_site(site, label=label)
            lines.append(summary(site, f"broker {label.lower()}"))
        assert hung.accepted, "the hung broker was never even connected to"

        # Nothing was handed over, everything is a row.
        messages = list(OutboxMessage.objects.filter(kind=EMAIL))
        assert len(messages) == 2 * len(account_ids)  # a suspend and an enable per account
        assert all(m.handed_at is None and m.done_at is None for m in messages)
        jobs = ProvisioningJob.objects.filter(account_id__in=account_ids)
        assert jobs.count() == 3 * len(account_ids)  # created, suspended, enabled
        assert not jobs.exclude(state=JobState.PENDING).exists()

        # The broker is back: the real Redis, a worker consuming this test's queue, e-mails to files.
        mail_dir = tmp_path / "var" / "mail"
        monkeypatch.setenv("ENGAGE_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.delenv("EMAIL_URL", raising=False)
        point_celery_at(real_broker, monkeypatch)
        app.conf.task_default_queue = workers.queue
        worker = workers.start()
        # A minute later, by the relay's clock: the messages are older than the hand-over grace.
        later = timezone.now() + HANDOVER_GRACE + timedelta(seconds=1)
        assert relay(now=later) == len(messages)
        summary_pass = provisioning_pass()
        wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), timeout=60,
                 worker=worker, what="every outbox message done by the worker")
        expected = sorted(Account.objects.filter(pk__in=account_ids).values_list("email", flat=True)) * 2
        wait_for(lambda: len(emails_in(mail_dir)) >= len(expected), timeout=20, worker=worker,
                 what="the e-mails written")

        # Duplicates: relay twice more, deliver every message again in-process and through the broker.
        assert relay(now=later) == 0
        assert relay(now=later + timedelta(minutes=10)) == 0
        assert [deliver(m.pk) for m in messages] == [False] * len(messages)
        assert hand_over([m.pk for m in messages]) == len(messages)
        import redis

        queue = redis.Redis.from_url(real_broker, socket_timeout=5)
        wait_for(lambda: queue.llen(workers.queue) == 0, timeout=20, worker=worker, what="the duplicates taken")
        time.sleep(1.0)  # the last one taken is done (or would have sent a second e-mail) by now

        sent = sorted(emails_in(mail_dir))
        assert sent == sorted(expected), "e-mails lost or doubled"
        assert OutboxMessage.objects.filter(done_at__isnull=False).count() == len(messages)
        # Each account's newest job is done; the older ones were superseded by it (only the latest target
        # matters): none is left open.
        states = {}
        for job in ProvisioningJob.objects.filter(account_id__in=account_ids).order_by("account_id", "id"):
            states.setdefault(job.account_id, []).append(job.state)
        assert all(s[-1] == JobState.DONE for s in states.values()), states
        assert not jobs.filter(state__in=OPEN_STATES).exists(), states
        job_states = Counter(jobs.values_list("state", flat=True))
        for account in Account.objects.filter(pk__in=account_ids).select_related("status_type"):
            entry = SwitchEntry.objects.get(account=account)
            assert entry.state == switch_state(account.status_type.backend_status), (account, entry)
        lines.append(
            f"back: {len(account_ids)} accounts, {jobs.count()} jobs closed {dict(job_states)} ({summary_pass}), "
            f"{len(messages)} outbox messages done once, {len(sent)} e-mails sent, "
            f"{len(messages)} duplicate deliveries sent nothing; {time.perf_counter() - started:.1f}s"
        )
        print("\n" + "\n".join(lines))
    finally:
        refused.close()
        hung.close()
        app.conf.task_default_queue = default_queue
        monkeypatch.setenv("CELERY_BROKER_URL", real_broker)
        settings.CELERY_BROKER_URL = real_broker
        app.conf.broker_url = real_broker
        broker.reset()
