"""Helpers for the provisioning tests: accounts in a given back-end status, and a fake switch behind a
real HTTP server on 127.0.0.1 that follows the documented receiver contract: it checks every request's
signature and freshness, ignores a request older than the newest it has seen for the account, and answers
a key it has seen with its first answer, without acting again."""

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


@pytest.fixture
def no_inline_dispatch(broker_down):
    """Jobs wait for the pass: tasks run eagerly in tests, so a change's own hand-over would call the backend
    inline (in production it only queues). The broker refuses the hand-over instead, a real fault the product
    handles: the job stays pending and the provisioning pass runs it."""


def set_status(account, name):
    """A status change through the engine; returns the provisioning job it wrote."""
    from provisioning.models import ProvisioningJob

    from ..accounts.factories import change_status

    change_status(account, name)
    return ProvisioningJob.objects.filter(account_id=account.pk).latest("id")


class FakeSwitch:
    """The receiver's side: keeps a state per account, logs every request, and can be told to answer
    the next requests badly ("500", "hang", "garbage", any (status, body) pair), or "late" (apply the
    request only when delay_event is set, long after Engage gave up on it)."""

    def __init__(self, secret):
        self.secret = secret
        self.states: dict[int, str] = {}
        self.requests: list[dict] = []
        self.actions = Counter()  # (account id, action) -> count, reads excluded
        self.script = deque()
        self.delay_event = threading.Event()  # set() to release hanging handlers
        self.lock = threading.Lock()
        self.url = ""
        self.versions: dict[int, int] = {}  # account id -> newest version seen
        self.answered: dict[str, tuple[int, bytes]] = {}  # idempotency key -> first answer (actions only)
        self.hang_accounts: set[int] = set()  # every request for these hangs until delay_event is set
        self.answers: list[tuple[int, str, int, bytes]] = []  # (account id, action, status, body) once answered
        self.answered_event = threading.Condition(self.lock)

    def answer_next(self, *behaviours):
        self.script.extend(behaviours)

    def handle(self, headers, raw):
        status, answer = self._handle(headers, raw)
        try:
            body = json.loads(raw)
            account_id, action = body["account"]["id"], body["action"]
        except (ValueError, KeyError, TypeError):
            account_id, action = None, None
        with self.answered_event:
            self.answers.append((account_id, action, status, answer))
            self.answered_event.notify_all()
        return status, answer

    def wait_for_answer(self, account_id, action, *, timeout: float = 5.0) -> tuple[int, bytes]:
        """The (status, body) the switch answered to this account's action; fails the test when no answer
        comes within `timeout` (a wait that passes when nothing happens proves nothing)."""
        def found():
            return next(((s, b) for a, act, s, b in self.answers if a == account_id and act == action), None)

        with self.answered_event:
            self.answered_event.wait_for(lambda: found() is not None, timeout)
            answer = found()
        assert answer is not None, f"the switch never answered {action} for account {account_id}"
        return answer

    def _handle(self, headers, raw):
        from provisioning.backends.webhook import verify

        why = verify(self.secret, headers, raw)
        body = json.loads(raw)
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append({"body": body, "signature_ok": why == "", "why": why, "key": key})
            behaviour = self.script.popleft() if self.script else "ok"
        if why:
            return 401, json.dumps({"detail": why}).encode()
        if body["account"]["id"] in self.hang_accounts:
            behaviour = "hang"
        if behaviour == "500":
            return 500, b"internal error"
        if behaviour == "hang":
            self.delay_event.wait(10)
            return 200, b"{}"
        if behaviour == "garbage":
            return 200, b"<html>Service Unavailable</html>"
        if behaviour == "trickle":  # a correct answer, one byte every 0.2 s
            return "trickle", json.dumps({"state": self.states.get(body["account"]["id"], "absent")}).encode()
        if isinstance(behaviour, tuple):
            return behaviour
        if behaviour == "late":  # applied, but only once released: a request overtaken by newer ones
            self.delay_event.wait(10)
        account_id, action, version = body["account"]["id"], body["action"], body["version"]
        with self.lock:
            if action != "read" and key in self.answered:
                return self.answered[key]  # a retry or a replay of a step already done: not done twice
            newest = self.versions.get(account_id, 0)
            if version < newest:
                return 409, json.dumps({"detail": f"version {version} is older than {newest}"}).encode()
            self.versions[account_id] = version
            if action == "read":
                return 200, json.dumps({"state": self.states.get(account_id, "absent")}).encode()
            self.actions[(account_id, action)] += 1
            new = {"create": "enabled", "suspend": "suspended", "resume": "enabled", "remove": "absent"}[action]
            if new == "absent":
                self.states.pop(account_id, None)
            else:
                self.states[account_id] = new
            self.answered[key] = 200, json.dumps({"state": new}).encode()
            return self.answered[key]

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
            trickle = status == "trickle"
            status = 200 if trickle else status
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if trickle:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        switch.delay_event.wait(0.2)
                else:
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
