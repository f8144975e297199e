"""The default backend: the switch is a table in Engage's own database (SwitchEntry), so a fresh
install provisions with nothing else running and the Overview shows exactly what the switch holds."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from statuses.rules import SwitchState

from ..models import SwitchEntry
from .base import STATE_AFTER, AccountRef, BackendError, ProvisioningBackend, Verb


class Backend(ProvisioningBackend):
    name = "ledger"

    def lease(self) -> timedelta:
        return timedelta(seconds=2)  # three statements in Engage's own database

    def read_state(self, account: AccountRef, *, idempotency_key: str) -> str:
        state = SwitchEntry.objects.filter(account_id=account.id).values_list("state", flat=True).first()
        return state or SwitchState.ABSENT

    def read_states(self, accounts: list[AccountRef]) -> dict[int, str]:
        """One query for the batch: the same read as read_state."""
        held = dict(
            SwitchEntry.objects.filter(account_id__in=[a.id for a in accounts]).values_list("account_id", "state")
        )
        return {a.id: held.get(a.id, SwitchState.ABSENT) for a in accounts}

    batches = True
    in_database = True

    def apply_targets(self, targets: dict[int, str]) -> dict[int, str]:
        """The whole chunk in two statements: absent accounts deleted, the others upserted. What the verbs
        would leave (create, then suspend, resume or remove) is exactly the target state."""
        absent = [pk for pk, state in targets.items() if state == SwitchState.ABSENT]
        held = sorted((pk, state) for pk, state in targets.items() if state != SwitchState.ABSENT)
        if absent:
            SwitchEntry.objects.filter(account_id__any=sorted(absent)).delete()
        if held and connection.vendor == "postgresql":
            # One upsert of two arrays (no model instance per account).
            table = connection.ops.quote_name(SwitchEntry._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (account_id, state, updated_at) "
                    "SELECT v.account_id, v.state, %s FROM unnest(%s::bigint[], %s::text[]) AS v(account_id, state) "
                    "ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    [timezone.now(), [pk for pk, _ in held], [state for _, state in held]],
                )
        elif held:
            SwitchEntry.objects.bulk_create(
                [SwitchEntry(account_id=pk, state=state) for pk, state in held], update_conflicts=True,
                unique_fields=["account"], update_fields=["state", "updated_at"],
            )
        return dict.fromkeys(targets, "")

    def create(self, account: AccountRef, *, idempotency_key: str) -> None:
        SwitchEntry.objects.update_or_create(account_id=account.id, defaults={"state": STATE_AFTER[Verb.CREATE]})

    def suspend(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._set(account, Verb.SUSPEND)

    def resume(self, account: AccountRef, *, idempotency_key: str) -> None:
        self._set(account, Verb.RESUME)

    def remove(self, account: AccountRef, *, idempotency_key: str) -> None:
        SwitchEntry.objects.filter(account_id=account.id).delete()

    def _set(self, account: AccountRef, verb: Verb) -> None:
        state = STATE_AFTER[verb]
        entry = SwitchEntry.objects.filter(account_id=account.id).first()
        if entry is None:
            raise BackendError(f"Cannot {verb} account {account.number}: it is not on the switch.")
        if entry.state != state:
            entry.state = state
            entry.save(update_fields=["state", "updated_at"])
