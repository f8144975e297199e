"""The interface every provisioning backend implements: five verbs, nothing else.

The runner reads the actual state, then calls the verbs that bring it to the target
(absent → create; enabled ⇄ suspended via suspend/resume; anything → remove). Each verb must be
idempotent for the same idempotency key: a job that failed halfway is run again with the same key.
"""

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from statuses.rules import SwitchState


class Verb(StrEnum):
    """The four verbs that change the switch (read_state only reads)."""

    CREATE = "create"
    SUSPEND = "suspend"
    RESUME = "resume"
    REMOVE = "remove"


# What each verb leaves on the switch: the runner records it, the webhook checks the receiver's answer.
STATE_AFTER: dict[Verb, SwitchState] = {
    Verb.CREATE: SwitchState.ENABLED,
    Verb.SUSPEND: SwitchState.SUSPENDED,
    Verb.RESUME: SwitchState.ENABLED,
    Verb.REMOVE: SwitchState.ABSENT,
}


class BackendError(Exception):
    """The backend refused, failed or answered something unusable. The message is shown to operators
    as the job's last error, so it says what happened in plain words."""


@dataclass(frozen=True)
class AccountRef:
    """What a backend is told about an account: its id, its account number, and the version of the job
    that asks (it grows with every job of the account: a receiver ignores a request older than one it
    has seen, so a late request can never undo a newer one)."""

    id: int
    number: str
    version: int = 0


DEFAULT_LEASE = timedelta(seconds=30)


def audit_key() -> str:
    """A read outside any job (the switch audit) has a key of its own."""
    return f"audit-{uuid.uuid4()}"


class ProvisioningBackend(ABC):
    name: str = ""

    def lease(self) -> timedelta:
        """How long a worker may take over one job's calls (a read and at most two verbs) before another
        worker may take the job over: longer than the calls can last."""
        return DEFAULT_LEASE

    @classmethod
    def from_settings(cls, settings) -> "ProvisioningBackend":
        return cls()

    @abstractmethod
    def read_state(self, account: AccountRef, *, idempotency_key: str) -> str:
        """The account's state on the switch: a SwitchState value (absent, enabled, suspended)."""

    def read_states(self, accounts: list[AccountRef]) -> dict[int, "str | BackendError"]:
        """What the switch holds for each account (the switch audit): a state, or the error that kept it
        from being read. One read each by default; a backend may do better."""
        return dict(map(self.audit_read, accounts))

    def audit_read(self, account: AccountRef) -> tuple[int, "str | BackendError"]:
        """One audit read: (account id, its state or the error)."""
        try:
            return account.id, self.read_state(account, idempotency_key=audit_key())
        except BackendError as exc:
            return account.id, exc

    # A backend that can bring many accounts to their targets at once sets this and implements apply_targets;
    # the provisioning pass then runs a chunk of jobs in a few statements instead of account by account.
    batches = False
    # A batching backend whose writes are statements in Engage's own database (no network call) sets this: the
    # pass then applies a chunk inside the transaction that claims its jobs, without leasing them.
    in_database = False

    def apply_targets(self, targets: dict[int, str]) -> dict[int, str]:
        """Bring each account (id) to its target state; {account id: "" or the error}. Only when `batches`."""
        raise NotImplementedError

    @abstractmethod
    def create(self, account: AccountRef, *, idempotency_key: str) -> None:
        """Provision the account on the switch, enabled."""

    @abstractmethod
    def suspend(self, account: AccountRef, *, idempotency_key: str) -> None:
        """Mark a provisioned account suspended; its configuration stays on the switch."""

    @abstractmethod
    def resume(self, account: AccountRef, *, idempotency_key: str) -> None:
        """Enable a suspended account again."""

    @abstractmethod
    def remove(self, account: AccountRef, *, idempotency_key: str) -> None:
        """Remove the account and its configuration from the switch."""
