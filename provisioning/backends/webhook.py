"""Webhook backend: each step is a signed JSON POST to ENGAGE_WEBHOOK_URL.

Request body (UTF-8 JSON): {"action": "read"|"create"|"suspend"|"resume"|"remove",
"account": {"id": 12, "number": "100012"}, "job": "<job uuid>", "sent_at": "<ISO 8601>"}.
Headers: X-Engage-Signature: sha256=<hex HMAC-SHA256 of the exact body, key ENGAGE_WEBHOOK_SECRET>;
Idempotency-Key: <job uuid>:<action> (the same on every retry of that step of that job).
The receiver answers 2xx with a JSON object (an action may answer an empty body); for "read" it must
hold "state" (absent, enabled or suspended); for the other actions "state", when present, must be the
state the action leads to.
Anything else (non-2xx, a redirect, a timeout, a body that is not such JSON) fails the job, which is
retried with back-off.
"""

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from statuses.rules import SwitchState

from .base import STATE_AFTER, AccountRef, BackendError, ProvisioningBackend, Verb

SIGNATURE_HEADER = "X-Engage-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ANSWER_BYTES = 64 * 1024


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`: what a receiver recomputes and compares."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would silently become a GET without body: treat a 3xx as an error instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _snippet(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return "an empty body"
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


class Backend(ProvisioningBackend):
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float):
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    @classmethod
    def from_settings(cls, settings) -> "Backend":
        return cls(
            url=settings.ENGAGE_WEBHOOK_URL,
            secret=settings.ENGAGE_WEBHOOK_SECRET,
            timeout=float(settings.ENGAGE_WEBHOOK_TIMEOUT),
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
                "sent_at": datetime.now(UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "Engage-provisioning/1",
                SIGNATURE_HEADER: sign(self.secret, body),
                IDEMPOTENCY_HEADER: f"{idempotency_key}:{action}",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_ANSWER_BYTES)
                status = response.status
        except urllib.error.HTTPError as exc:
            try:
                detail = _snippet(exc.read(MAX_ANSWER_BYTES))
            except Exception:  # the error body itself may be cut off; the status is what matters
                detail = "an unreadable body"
            finally:
                exc.close()
            raise BackendError(f"Webhook answered HTTP {exc.code} {exc.reason} to {action}, with {detail}.") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise BackendError(self._timeout_message(action)) from None
            raise BackendError(f"Webhook at {self.url} could not be reached for {action}: {exc.reason}.") from None
        except TimeoutError:
            raise BackendError(self._timeout_message(action)) from None
        except (http.client.HTTPException, OSError) as exc:
            raise BackendError(
                f"Webhook connection failed during {action}: {type(exc).__name__}: {exc or 'no answer'}."
            ) from None
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

    def _timeout_message(self, action: str) -> str:
        return f"Webhook did not answer {action} within {self.timeout:g} s (ENGAGE_WEBHOOK_TIMEOUT)."
