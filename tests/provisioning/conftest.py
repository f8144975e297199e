"""Helpers for the provisioning tests: accounts in a given back-end status, and a fake switch behind a
real HTTP server on 127.0.0.1 that checks every request's signature, as a webhook receiver would."""

import hashlib
import hmac
import itertools
import json
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WEBHOOK_SECRET = "test-secret-0123456789"


def status_type(name):
    from statuses.models import AccountStatusType

    return AccountStatusType.objects.get(name=name)


@pytest.fixture
def make_account():
    """The accounts factory (tests/accounts/factories.py, through the real services: the creation job and
    any status change's job are written as the product writes them), with a fresh name per account."""
    from ..accounts.factories import make_account as make_one

    counter = itertools.count(1)

    def make(status="Active", **kwargs):
        n = next(counter)
        kwargs.setdefault("name", f"Customer {n}")
        kwargs.setdefault("email", f"c{n}@example.com")
        kwargs.setdefault("bill_day", 1)
        return make_one(type_name=status, **kwargs)

    return make


def set_status(account, name):
    """A status change through the engine; returns the provisioning job it wrote."""
    from provisioning.models import ProvisioningJob

    from ..accounts.factories import change_status

    change_status(account, name)
    return ProvisioningJob.objects.filter(account_id=account.pk).latest("id")


class FakeSwitch:
    """The receiver's side: keeps a state per account, logs every request, and can be told to answer
    the next requests badly ("500", "hang", "garbage", or any (status, body) pair)."""

    def __init__(self, secret):
        self.secret = secret
        self.states: dict[int, str] = {}
        self.requests: list[dict] = []
        self.actions = Counter()  # (account id, action) -> count, reads excluded
        self.script = deque()
        self.delay_event = threading.Event()  # set() to release hanging handlers
        self.lock = threading.Lock()
        self.url = ""

    def answer_next(self, *behaviours):
        self.script.extend(behaviours)

    def handle(self, headers, raw):
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(headers.get("X-Engage-Signature", ""), expected)
        body = json.loads(raw)
        with self.lock:
            self.requests.append(
                {"body": body, "signature_ok": signature_ok, "key": headers.get("Idempotency-Key")}
            )
            behaviour = self.script.popleft() if self.script else "ok"
        if not signature_ok:
            return 401, b'{"detail": "bad signature"}'
        if behaviour == "500":
            return 500, b"internal error"
        if behaviour == "hang":
            self.delay_event.wait(10)
            return 200, b"{}"
        if behaviour == "garbage":
            return 200, b"<html>Service Unavailable</html>"
        if isinstance(behaviour, tuple):
            return behaviour
        account_id, action = body["account"]["id"], body["action"]
        with self.lock:
            if action == "read":
                return 200, json.dumps({"state": self.states.get(account_id, "absent")}).encode()
            self.actions[(account_id, action)] += 1
            new = {"create": "enabled", "suspend": "suspended", "resume": "enabled", "remove": "absent"}[action]
            if new == "absent":
                self.states.pop(account_id, None)
            else:
                self.states[account_id] = new
        return 200, json.dumps({"state": new}).encode()

    def state(self, account_id):
        return self.states.get(account_id, "absent")

    def sent(self, account_id=None):
        """The actions received, in order, as (account id, action)."""
        return [
            (r["body"]["account"]["id"], r["body"]["action"])
            for r in self.requests
            if account_id is None or r["body"]["account"]["id"] == account_id
        ]


def _handler(switch):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = switch.handle(self.headers, raw)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def fake_switch(settings):
    """A FakeSwitch served on 127.0.0.1 (port chosen by the OS), configured as the webhook backend."""
    switch = FakeSwitch(WEBHOOK_SECRET)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(switch))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    switch.url = f"http://127.0.0.1:{server.server_port}/engage/provision"
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = switch.url
    settings.ENGAGE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.ENGAGE_WEBHOOK_TIMEOUT = 2.0
    yield switch
    switch.delay_event.set()
    server.shutdown()
    server.server_close()
