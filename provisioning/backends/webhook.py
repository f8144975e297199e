"""Webhook backend: each step is a signed JSON POST to ENGAGE_WEBHOOK_URL (the receiver contract is in
docs/provisioning.md; `verify` below is the reference check a receiver makes).

Request body (UTF-8 JSON): {"action": "read"|"create"|"suspend"|"resume"|"remove",
"account": {"id": 12, "number": "100012"}, "job": "<job uuid>", "version": <int>, "sent_at": "<ISO 8601>"}.
`version` grows with every job of an account: a receiver ignores a request older than one it has seen.
Headers: X-Engage-Timestamp: <unix seconds>; Idempotency-Key: <job uuid>:<action> (the same on every
retry of that step of that job); X-Engage-Signature: sha256=<hex HMAC-SHA256, key ENGAGE_WEBHOOK_SECRET,
of "<timestamp>.<idempotency key>.<body>">. The signature covers all three, so neither a new key nor a
new timestamp can be put on a captured body; a receiver refuses a timestamp outside REPLAY_WINDOW.
The receiver answers 2xx with a JSON object (an action may answer an empty body); for "read" it must
hold "state" (absent, enabled or suspended); for the other actions "state", when present, must be the
state the action leads to.
Anything else (non-2xx, a redirect, no answer within the deadline, a body that is not such JSON) fails
the job, which is retried with back-off. ENGAGE_WEBHOOK_TIMEOUT is a deadline for the whole call
(connect, send, answer): a receiver that trickles its answer cannot stretch it.
"""

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from statuses.rules import SwitchState

from .base import STATE_AFTER, AccountRef, BackendError, ProvisioningBackend, Verb

SIGNATURE_HEADER = "X-Engage-Signature"
TIMESTAMP_HEADER = "X-Engage-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ANSWER_BYTES = 64 * 1024
REPLAY_WINDOW = 300  # seconds: receivers refuse a request whose timestamp is further from their clock


def signed_message(timestamp: str, idempotency_key: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + idempotency_key.encode() + b"." + body


def sign(secret: str, message: bytes) -> str:
    """The signature header's value for a message (see signed_message): what a receiver recomputes."""
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, headers, body: bytes, *, now: float | None = None, window: int = REPLAY_WINDOW) -> str:
    """The receiver's check, for reference and for tests: "" when the request is authentic and fresh, else
    why not. (A receiver also answers a key it has seen with its first answer, without acting again.)"""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    key = headers.get(IDEMPOTENCY_HEADER) or ""
    expected = sign(secret, signed_message(timestamp, key, body))
    if not hmac.compare_digest(headers.get(SIGNATURE_HEADER) or "", expected):
        return "bad signature"
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > window:
        return "stale timestamp"
    return ""


def safe_url(url: str) -> str:
    """The URL as errors and logs may show it: without user name and password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return "an empty body"
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


class Backend(ProvisioningBackend):
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float, concurrency: int = 8):
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.concurrency = concurrency

    def lease(self) -> timedelta:
        return timedelta(seconds=3 * self.timeout + 10)  # a read and two verbs, each under its deadline

    @classmethod
    def from_settings(cls, settings) -> "Backend":
        return cls(
            url=settings.ENGAGE_WEBHOOK_URL,
            secret=settings.ENGAGE_WEBHOOK_SECRET,
            timeout=float(settings.ENGAGE_WEBHOOK_TIMEOUT),
            concurrency=settings.ENGAGE_PROVISIONING_CONCURRENCY,
        )

    def read_state(self, account: AccountRef, *, idempotency_key: str) -> str:
        answer = self._post("read", account, idempotency_key)
        state = answer.get("state")
        if state not in SwitchState.values:
            raise BackendError(
                f"Webhook answer to read has no valid \"state\" (expected one of {', '.join(SwitchState.values)}; "
                f"got {json.dumps(answer)[:200]})."
            )
        return state

    def read_states(self, accounts: list[AccountRef]) -> dict[int, "str | BackendError"]:
        """The batch's reads go out ENGAGE_PROVISIONING_CONCURRENCY at a time, each under its deadline."""
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return dict(pool.map(self.audit_read, accounts))

    def create(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._act(Verb.CREATE, account, idempotency_key)

    def suspend(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._act(Verb.SUSPEND, account, idempotency_key)

    def resume(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._act(Verb.RESUME, account, idempotency_key)

    def remove(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._act(Verb.REMOVE, account, idempotency_key)

    def _act(self, action: Verb, account: AccountRef, idempotency_key: str) -> None:
        """A verb; the receiver's "state", when it sends one, must be what the verb leaves (STATE_AFTER)."""
        answer = self._post(action, account, idempotency_key)
        state = answer.get("state")
        if state is not None and state != STATE_AFTER[action]:
            raise BackendError(
                f"Webhook answered state {state!r} to {action}; expected {STATE_AFTER[action].value!r}."
            )

    def _post(self, action: str, account: AccountRef, idempotency_key: str) -> dict:
        if not self.url:
            raise BackendError("ENGAGE_WEBHOOK_URL is not set, so the webhook backend cannot send anything.")
        body = json.dumps(
            {
                "action": action,
                "account": {"id": account.id, "number": account.number},
                "job": idempotency_key,
                "version": account.version,
                "sent_at": datetime.now(UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(time.time()))
        key = f"{idempotency_key}:{action}"
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "Engage-provisioning/2",
            TIMESTAMP_HEADER: timestamp,
            IDEMPOTENCY_HEADER: key,
            SIGNATURE_HEADER: sign(self.secret, signed_message(timestamp, key, body)),
        }
        status, reason, raw = self._send(action, body, headers)
        if not 200 <= status < 300:
            # A redirected POST would silently become a GET without body: a 3xx is an error too.
            raise BackendError(f"Webhook answered HTTP {status} {reason} to {action}, with {_snippet(raw)}.")
        if not raw.strip() and action != "read":
            return {}  # an action may answer 204 / an empty 200: accepted
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BackendError(
                f"Webhook answered HTTP {status} to {action} with a body that is not JSON: {_snippet(raw)}."
            ) from None
        if not isinstance(answer, dict):
            raise BackendError(
                f"Webhook answered HTTP {status} to {action} with JSON that is not an object: {_snippet(raw)}."
            )
        return answer

    def _send(self, action: str, body: bytes, headers: dict) -> tuple[int, str, bytes]:
        """One POST under one deadline for connect, send and answer: a watchdog shuts the socket when the
        time is up, however slowly the receiver trickles. Returns (status, reason, at most 64 KiB)."""
        parts = urlsplit(self.url)
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers = {**headers, "Authorization": "Basic " + base64.b64encode(credentials).decode()}
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        expired = threading.Event()
        connected: list[socket.socket] = []  # kept: http.client drops conn.sock once the answer says "close"

        def cut():
            expired.set()
            for sock in connected:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.timeout, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.connect()  # bounded by the socket timeout; the watchdog covers everything after it
            connected.append(conn.sock)
            if expired.is_set():
                cut()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_ANSWER_BYTES)
            result = response.status, response.reason, raw
        except TimeoutError:
            raise BackendError(self._timeout_message(action)) from None
        except (http.client.HTTPException, OSError) as exc:
            if expired.is_set():
                raise BackendError(self._timeout_message(action)) from None
            if isinstance(exc, ConnectionRefusedError | socket.gaierror):
                raise BackendError(
                    f"Webhook at {safe_url(self.url)} could not be reached for {action}: {exc}."
                ) from None
            raise BackendError(
                f"Webhook connection failed during {action}: {type(exc).__name__}: {exc or 'no answer'}."
            ) from None
        finally:
            watchdog.cancel()
            conn.close()
        if expired.is_set():  # the answer was cut short by the deadline
            raise BackendError(self._timeout_message(action))
        return result

    def _timeout_message(self, action: str) -> str:
        return f"Webhook did not answer {action} within {self.timeout:g} s (ENGAGE_WEBHOOK_TIMEOUT)."
